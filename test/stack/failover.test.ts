import { expect } from "chai";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { FailoverRpc } from "../../harness/stack/rpc.ts";
import {
  type FreezableProvider,
  startFreezableProvider,
  startTestLab,
  type TestLab,
} from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack collateral monitor: provider failover", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
    await until("first read", () => stack.status().chains["ethereum"]?.collateralRatio !== undefined, 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  afterEach(() => {
    for (const p of lab.chains[0]!.providers) p.setMode("up");
  });

  it("fails over primary -> secondary -> emergency and back to the primary when it is healthy", async () => {
    const [primary, secondary] = lab.chains[0]!.providers;
    const since = Date.now();
    primary!.setMode("down");
    const first = await lab.receiver.waitFor(
      (a) => a.event === "RPC_FAILOVER" && a.receivedAtMs >= since,
      5000,
    );
    expect(first.details).to.include({ from: "primary", to: "secondary" });
    expect(first.chain).to.equal("ethereum");
    expect(stack.status().chains["ethereum"]!.provider).to.equal("secondary");

    secondary!.setMode("down");
    const second = await lab.receiver.waitFor(
      (a) => a.event === "RPC_FAILOVER" && a.details["from"] === "secondary",
      5000,
    );
    expect(second.details).to.include({ to: "emergency" });
    // Reads go on through the emergency provider.
    const head = stack.status().chains["ethereum"]!.head!;
    await until(
      "head advancing on emergency",
      () => (stack.status().chains["ethereum"]!.head ?? 0) > head,
      5000,
    );

    primary!.setMode("up");
    secondary!.setMode("up");
    const back = await lab.receiver.waitFor((a) => a.event === "RPC_FAILBACK", 10_000);
    expect(back.details).to.include({ from: "emergency", to: "primary" });
    await lab.receiver.waitFor(
      (a) => a.event === "RECOVERED" && a.details["condition"] === "RPC_FAILOVER",
      5000,
    );
    expect(stack.status().chains["ethereum"]!.provider).to.equal("primary");
  });

  it("fails over when the primary stops answering (timeout), within a block interval and a bit", async () => {
    await until("on primary", () => stack.status().chains["ethereum"]!.provider === "primary", 10_000);
    const since = Date.now();
    lab.chains[0]!.providers[0]!.setMode("hang");
    const alert = await lab.receiver.waitFor(
      (a) => a.event === "RPC_FAILOVER" && a.receivedAtMs >= since,
      5000,
    );
    expect(alert.details["reason"]).to.match(/timeout/);
    expect(alert.receivedAtMs - since).to.be.lessThan(500 + 250 + 500);
  });

  it("does not fail over while the primary answers", async () => {
    lab.chains[0]!.providers[0]!.setMode("up");
    await until("back on primary", () => stack.status().chains["ethereum"]!.provider === "primary", 10_000);
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      lab.receiver.alerts.filter((a) => a.receivedAtMs >= since && a.event === "RPC_FAILOVER"),
    ).to.deep.equal([]);
  });

  it("sends no empty JSON-RPC batch (a node answers it as an invalid request)", async () => {
    const primary = lab.chains[0]!.providers[0]!;
    // The node refuses `[]` with one error object, which would read as a failed provider.
    const raw = await fetch(primary.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[]",
    });
    expect(Array.isArray(await raw.json())).to.equal(false);
    const rpc = new FailoverRpc(
      lab.chains[0]!.providers.map((p, i) => ({
        name: (["primary", "secondary", "emergency"] as const)[i]!,
        url: p.url,
      })),
      1000,
    );
    expect(await rpc.batch([])).to.deep.equal([]);
    expect(rpc.active).to.equal(0);
  });

  it("detects a reorg of the chain it watches", async () => {
    const since = Date.now();
    await lab.rpc("ethereum", "anvil_reorg", [3, []]);
    const alert = await lab.receiver.waitFor(
      (a) => a.event === "REORG_DETECTED" && a.receivedAtMs >= since,
      5000,
    );
    expect(alert.chain).to.equal("ethereum");
    expect(alert.details["replacedBlocks"] as number).to.be.greaterThan(0);
  });
});

describe("stack collateral monitor: a provider stuck on an old head", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;
  let stuck: FreezableProvider;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    stuck = await startFreezableProvider(lab.chains[0]!.chain.url);
    stack = await startStack(
      { ...lab.env, FIREDRILL_RPC_ETHEREUM_PRIMARY: stuck.url },
      { dataDir: `${lab.dir}/stack` },
    );
    await until("first read", () => stack.status().chains["ethereum"]?.collateralRatio !== undefined, 10_000);
  });

  after(async () => {
    await stack?.close();
    await stuck?.close();
    await lab?.close();
  });

  it("fails over when the primary's head stops while another provider's advances", async () => {
    const since = Date.now();
    stuck.freeze(true);
    const alert = await lab.receiver.waitFor(
      (a) => a.event === "RPC_FAILOVER" && a.receivedAtMs >= since,
      5000,
    );
    expect(alert.details["reason"]).to.match(/head stuck/);
    expect(alert.details).to.include({ from: "primary", to: "secondary" });
    // Halted is for a chain that stopped, not for one provider that did.
    expect(lab.receiver.alerts.some((a) => a.event === "CHAIN_HALTED")).to.equal(false);
    stuck.freeze(false);
    await lab.receiver.waitFor((a) => a.event === "RPC_FAILBACK" && a.receivedAtMs >= since, 10_000);
  });
});
