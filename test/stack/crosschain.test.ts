import { expect } from "chai";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { alertsSince, startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack cross-chain backup manager", function () {
  this.timeout(90_000);
  let lab: TestLab;
  let stack: RunningStack;
  let base: string;
  let headers: Record<string, string>;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum", "polygon"], blockTimeMs: 500 });
    // One mint transaction in flight per chain, and no waiting for a place: a second mint
    // at the same time finds ethereum busy (the mints here are otherwise one at a time).
    stack = await startStack(lab.env, {
      dataDir: `${lab.dir}/stack`,
      maxMintsInFlight: 1,
      admissionTimeoutMs: 0,
    });
    base = `http://127.0.0.1:${stack.port}`;
    headers = {
      authorization: `Bearer ${lab.env["FIREDRILL_GATEWAY_TOKEN"]}`,
      "content-type": "application/json",
    };
    await until("minting on ethereum", () => stack.status().mintChain === "ethereum", 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  const mint = async () => {
    const res = await fetch(`${base}/mint`, {
      method: "POST",
      headers,
      body: JSON.stringify({ amount: "1000.00", recipient: lab.accounts.users[0]!.address }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("sends mints to polygon while ethereum stops mining, and back when it mines again", async () => {
    const since = Date.now();
    await lab.rpc("ethereum", "evm_setAutomine", [false]);
    await lab.rpc("ethereum", "evm_setIntervalMining", [0]);
    try {
      const halted = await lab.receiver.waitFor(
        (a) => a.event === "CHAIN_HALTED" && a.chain === "ethereum",
        10_000,
      );
      expect(halted.severity).to.equal("critical");
      const failover = await lab.receiver.waitFor((a) => a.event === "CROSS_CHAIN_FAILOVER", 5000);
      expect(failover.details).to.include({ from: "ethereum", to: "polygon" });
      const result = await mint();
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body["chain"]).to.equal("polygon");
    } finally {
      // In this order: evm_setAutomine(true) after interval mining would switch interval mining off.
      await lab.rpc("ethereum", "evm_setAutomine", [true]);
      await lab.rpc("ethereum", "evm_setIntervalMining", [1]);
    }
    await until(
      "cross-chain failover recovered",
      () =>
        alertsSince(lab, since).some(
          (a) => a.event === "RECOVERED" && a.details["condition"] === "CROSS_CHAIN_FAILOVER",
        ),
      10_000,
    );
    const back = await mint();
    expect(back.status).to.equal(200);
    expect(back.body["chain"]).to.equal("ethereum");
  });

  it("batches and routes mints away from ethereum under a gas spike", async () => {
    await until("minting on ethereum", () => stack.status().mintChain === "ethereum", 10_000);
    const since = Date.now();
    await lab.rpc("ethereum", "anvil_setNextBlockBaseFeePerGas", [`0x${(500n * 10n ** 9n).toString(16)}`]);
    const spike = await lab.receiver.waitFor(
      (a) => a.event === "GAS_SPIKE" && a.chain === "ethereum" && a.receivedAtMs >= since,
      5000,
    );
    expect(spike.details["baseFeeGwei"] as number).to.be.greaterThan(200);
    await lab.receiver.waitFor((a) => a.event === "TX_BATCHING_ENABLED" && a.chain === "ethereum", 3000);
    await until(
      "cross-chain failover on gas",
      () =>
        alertsSince(lab, since).some(
          (a) => a.event === "CROSS_CHAIN_FAILOVER" && a.details["to"] === "polygon",
        ),
      3000,
    );
    // Base fee decays block after block: the spike clears by itself.
    await until(
      "gas spike over",
      () =>
        alertsSince(lab, since).some(
          (a) => a.event === "RECOVERED" && a.details["condition"] === "GAS_SPIKE",
        ),
      20_000,
    );
  });

  it("sends a mint that finds ethereum's places taken to polygon, and says why", async () => {
    await until("minting on ethereum", () => stack.status().mintChain === "ethereum", 10_000);
    const [a, b] = await Promise.all([mint(), mint()]);
    expect(a.status, JSON.stringify(a.body)).to.equal(200);
    expect(b.status, JSON.stringify(b.body)).to.equal(200);
    const chains = [a.body["chain"], b.body["chain"]].sort();
    expect(chains).to.deep.equal(["ethereum", "polygon"]);
    const spilled = a.body["chain"] === "polygon" ? a.body : b.body;
    expect(spilled["failover"]).to.deep.equal([
      { chain: "ethereum", reason: "busy: 1 mints in flight and 0 waiting" },
    ]);
    // Both places are free again: the next mint goes to ethereum.
    const next = await mint();
    expect(next.body["chain"]).to.equal("ethereum");
    // The gauges follow the stack's periodic snapshot, not each request.
    await until(
      "firedrill_mints_in_flight in /metrics",
      async () =>
        /firedrill_mints_in_flight\{chain="ethereum",state="sending"\} 0/.test(
          await (await fetch(`${base}/metrics`)).text(),
        ),
      10_000,
    );
  });
});
