import { expect } from "chai";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { startTestLab, type TestLab, until } from "./fixture.ts";

describe("stack collateral monitor: provider failover", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
    await until(() => stack.status().chains["ethereum"]?.collateralRatio !== undefined, 10_000, "first read");
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
      () => (stack.status().chains["ethereum"]!.head ?? 0) > head,
      5000,
      "head advancing on emergency",
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
    await until(() => stack.status().chains["ethereum"]!.provider === "primary", 10_000, "on primary");
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
    await until(() => stack.status().chains["ethereum"]!.provider === "primary", 10_000, "back on primary");
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      lab.receiver.alerts.filter((a) => a.receivedAtMs >= since && a.event === "RPC_FAILOVER"),
    ).to.deep.equal([]);
  });
});
