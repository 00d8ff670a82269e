import { expect } from "chai";
import { loadDetectorMeta } from "../../harness/stack/config.ts";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { alertsSince, pushFeed, startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack oracle aggregator", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500, heartbeatMs: 4000 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
    await until("first consensus", () => stack.status().oracles.length > 0, 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  afterEach(() => {
    for (const s of lab.sources) {
      s.mode = "live";
      s.prices = { "ETH/USD": 3000, "USDC/USD": 1 };
    }
  });

  const eth = () => stack.status().oracles.find((c) => c.pair === "ETH/USD")!;

  it("detects a source that stops answering, activates the secondaries, and recovers", async () => {
    const since = Date.now();
    lab.sources[0]!.mode = "down";
    const stale = await lab.receiver.waitFor(
      (a) => a.event === "ORACLE_STALE" && a.details["source"] === "chainlink",
      3000,
    );
    expect(stale.system).to.equal("price_oracles");
    await lab.receiver.waitFor((a) => a.event === "SECONDARY_ORACLE_ACTIVATED", 3000);
    expect(eth().primaryActive).to.equal(false);
    expect(eth().usedSources).to.deep.equal(["pyth", "redstone"]);
    lab.sources[0]!.mode = "live";
    await until(
      "secondary oracles released",
      () =>
        alertsSince(lab, since).some(
          (a) => a.event === "RECOVERED" && a.details["condition"] === "SECONDARY_ORACLE_ACTIVATED",
        ),
      5000,
    );
    expect(eth().primaryActive).to.equal(true);
  });

  it("detects a deviating source and never prices from it", async () => {
    lab.sources[1]!.prices = { "ETH/USD": 3000 * 1.02, "USDC/USD": 1 };
    const alert = await lab.receiver.waitFor(
      (a) => a.event === "ORACLE_DEVIATION" && a.details["source"] === "pyth",
      3000,
    );
    // Severity as scenarios/kpis.yml declares it (the detector's default is critical).
    expect(alert.severity).to.equal(loadDetectorMeta()["ORACLE_DEVIATION"]?.severity ?? "critical");
    expect(alert.details["deviation"] as number).to.be.greaterThan(0.005);
    // The deviating primary is left out too: the price comes from the others.
    lab.sources[0]!.prices = { "ETH/USD": 3000 * 0.97, "USDC/USD": 1 };
    await lab.receiver.waitFor(
      (a) => a.event === "ORACLE_DEVIATION" && a.details["source"] === "chainlink",
      3000,
    );
    await until("primary out of the consensus", () => eth().primaryActive === false, 3000);
    expect(eth().price).to.be.closeTo(3000, 1);
  });

  it("stays quiet for a source inside the threshold", async () => {
    const since = Date.now();
    lab.sources[2]!.prices = { "ETH/USD": 3000 * 1.004, "USDC/USD": 1 };
    await new Promise((r) => setTimeout(r, 800));
    expect(alertsSince(lab, since).filter((a) => a.event === "ORACLE_DEVIATION")).to.deep.equal([]);
  });

  it("detects an on-chain feed older than its heartbeat, and recovers on a new round", async () => {
    // The feeds were last pushed at deployment; the lab's heartbeat is 4 s (+2 s slack).
    const alert = await lab.receiver.waitFor(
      (a) => a.event === "ORACLE_STALE" && a.details["source"] === "feed:ethereum",
      15_000,
    );
    expect(alert.chain).to.equal("ethereum");
    expect(alert.details["reason"]).to.match(/heartbeat/);
    const since = Date.now();
    await pushFeed(lab, "ethereum", "ethUsdFeed", 3000);
    await pushFeed(lab, "ethereum", "usdcUsdFeed", 1);
    await until(
      "feed recovered",
      () =>
        alertsSince(lab, since).some(
          (a) =>
            a.event === "RECOVERED" &&
            a.details["condition"] === "ORACLE_STALE" &&
            String(a.details["key"]).includes("feed:ethereum"),
        ),
      5000,
    );
  });
});
