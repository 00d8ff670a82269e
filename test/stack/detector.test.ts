import { expect } from "chai";
import { DEFAULT_THRESHOLDS } from "../../harness/stack/config.ts";
import { type ChainSnapshot, evaluate, MIN_TX_SAMPLE, type Snapshot } from "../../harness/stack/detector.ts";

const T = DEFAULT_THRESHOLDS;

function chain(over: Partial<ChainSnapshot> = {}): ChainSnapshot {
  return { collateralRatio: 1.5, baseFeeGwei: 10, txSent: 0, txFailed: 0, halted: false, ...over };
}

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    chains: { ethereum: chain() },
    oracles: [],
    redemptionBacklog: 0,
    crossChainSyncLagSeconds: 0,
    ...over,
  };
}

const events = (s: Snapshot) => evaluate(s, T).map((c) => c.event);

describe("stack incident detector thresholds", () => {
  it("is quiet in steady state", () => {
    expect(events(snapshot())).to.deep.equal([]);
  });

  it("collateral ratio: alerts below 1.02, not at or above it", () => {
    expect(events(snapshot({ chains: { ethereum: chain({ collateralRatio: 1.0199 }) } }))).to.deep.equal([
      "CRITICAL_COLLATERAL_LOW",
    ]);
    expect(events(snapshot({ chains: { ethereum: chain({ collateralRatio: 1.02 }) } }))).to.deep.equal([]);
    expect(events(snapshot({ chains: { ethereum: chain({ collateralRatio: 1.0201 }) } }))).to.deep.equal([]);
    const [c] = evaluate(snapshot({ chains: { ethereum: chain({ collateralRatio: 0.9 }) } }), T);
    expect(c!.severity).to.equal("critical");
    expect(c!.system).to.equal("collateral_management");
    expect(c!.chain).to.equal("ethereum");
  });

  it("oracle deviation: alerts above 0.5%, not at it", () => {
    const at = (deviation: number) =>
      events(snapshot({ oracles: [{ source: "pyth", pair: "ETH/USD", deviation }] }));
    expect(at(0.0051)).to.deep.equal(["ORACLE_DEVIATION"]);
    expect(at(0.005)).to.deep.equal([]);
    expect(at(0.0049)).to.deep.equal([]);
  });

  it("an on-chain feed gets its own deviation threshold on top", () => {
    const feed = (deviation: number) =>
      events(
        snapshot({
          oracles: [
            { source: "feed:ethereum", pair: "ETH/USD", deviation, tolerance: 0.005, chain: "ethereum" },
          ],
        }),
      );
    expect(feed(0.009)).to.deep.equal([]);
    expect(feed(0.0101)).to.deep.equal(["ORACLE_DEVIATION"]);
  });

  it("a stale source is one ORACLE_STALE per source, whatever the pairs", () => {
    const s = snapshot({
      oracles: [
        { source: "chainlink", pair: "ETH/USD", stale: "connection refused" },
        { source: "chainlink", pair: "USDC/USD", stale: "connection refused" },
      ],
    });
    const found = evaluate(s, T);
    expect(found.map((c) => c.event)).to.deep.equal(["ORACLE_STALE"]);
    expect(found[0]!.details["pairs"]).to.deep.equal(["ETH/USD", "USDC/USD"]);
  });

  it("gas: alerts above 200 gwei, not at it", () => {
    expect(events(snapshot({ chains: { ethereum: chain({ baseFeeGwei: 200.01 }) } }))).to.deep.equal([
      "GAS_SPIKE",
    ]);
    expect(events(snapshot({ chains: { ethereum: chain({ baseFeeGwei: 200 }) } }))).to.deep.equal([]);
  });

  it("transaction failure rate: alerts above 5% once the sample is large enough", () => {
    const rate = (txSent: number, txFailed: number) =>
      events(snapshot({ chains: { ethereum: chain({ txSent, txFailed }) } }));
    expect(rate(100, 6)).to.deep.equal(["TX_FAILURE_RATE"]);
    expect(rate(100, 5)).to.deep.equal([]);
    expect(rate(MIN_TX_SAMPLE - 1, MIN_TX_SAMPLE - 1)).to.deep.equal([]);
  });

  it("redemption backlog: alerts above 1000 pending, not at 1000", () => {
    expect(events(snapshot({ redemptionBacklog: 1001 }))).to.deep.equal(["REDEMPTION_BACKLOG"]);
    expect(events(snapshot({ redemptionBacklog: 1000 }))).to.deep.equal([]);
  });

  it("cross-chain sync lag: alerts above 30 s, not at 30 s", () => {
    expect(events(snapshot({ crossChainSyncLagSeconds: 30.5 }))).to.deep.equal(["CROSS_CHAIN_SYNC_LAG"]);
    expect(events(snapshot({ crossChainSyncLagSeconds: 30 }))).to.deep.equal([]);
  });

  it("a halted chain and an unavailable sequencer", () => {
    expect(events(snapshot({ chains: { ethereum: chain({ halted: true }) } }))).to.deep.equal([
      "CHAIN_HALTED",
    ]);
    expect(events(snapshot({ chains: { arbitrum: chain({ sequencerUnavailable: true }) } }))).to.deep.equal([
      "SEQUENCER_DOWN",
    ]);
  });

  it("follows the thresholds it is given", () => {
    const strict = { ...T, collateralRatio: 1.6 };
    expect(evaluate(snapshot(), strict).map((c) => c.event)).to.deep.equal(["CRITICAL_COLLATERAL_LOW"]);
  });
});
