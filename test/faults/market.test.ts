import { expect } from "chai";
import { latestRound } from "../../harness/faults/chain.ts";
import { collateralShock } from "../../harness/faults/collateral_shock.ts";
import { oracleDeviation } from "../../harness/faults/oracle_deviation.ts";
import { oracleStale } from "../../harness/faults/oracle_stale.ts";
import { until } from "../../harness/testing/until.ts";
import { expectNear } from "../near.ts";
import {
  expectProof,
  expectSteady,
  type FaultLab,
  faultContext,
  healLeftovers,
  healTwice,
  startFaultLab,
  track,
} from "./support.ts";

describe("market and oracle faults", function () {
  this.timeout(30_000);
  let lab: FaultLab;

  before(async () => {
    lab = await startFaultLab();
  });
  after(async () => {
    await lab?.down();
  });
  afterEach(async () => {
    await healLeftovers();
    await expectSteady(lab.info);
  });

  const price = async (source: string, pair = "ETH-USD") =>
    (await (await fetch(`${lab.info.oracles.sources[source as "pyth"]}/price/${pair}`)).json()) as {
      price: number;
      updatedAt: string;
    };

  it("collateral_shock jumps USDC to its target at every source, and the heal resets the market", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await collateralShock.inject(ctx, {
        ...collateralShock.params.parse({ asset: "USDC", to: 0.8774 }),
        at: 0,
      }),
    );
    expectProof(injected.proof);
    expectNear(injected.proof.evidence["market"], 0.8774, 1e-9);
    expectNear((await price("redstone", "USDC-USD")).price, 0.8774, 0.002);
    const healed = await healTwice(injected);
    expectNear(healed.evidence["market"] as number, 1, 0.01);
    expectNear((await price("redstone", "USDC-USD")).price, 1, 0.01);
  });

  it("collateral_shock moves ETH down over a duration, with seeded noise, until healed", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await collateralShock.inject(ctx, {
        ...collateralShock.params.parse({ asset: "ETH", change: -0.43, over: "4s", volatility: 0.01 }),
        at: 0,
        for: 4_000,
      }),
    );
    expectProof(injected.proof);
    const from = injected.proof.evidence["from"] as number;
    expectNear(injected.proof.evidence["to"], from * 0.57, 1e-6);
    expect(injected.proof.evidence["market"] as number).to.be.below(from);
    await healTwice(injected);
  });

  it("oracle_deviation: one source reports 2% low against the market, then tracks it again", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await oracleDeviation.inject(ctx, {
        ...oracleDeviation.params.parse({ source: "pyth", pair: "ETH/USD", deviation: -0.02 }),
        at: 0,
      }),
    );
    expectProof(injected.proof);
    expectNear(injected.proof.evidence["deviation"] as number, -0.02, 0.002);
    const others = (await price("chainlink")).price;
    expectNear((await price("pyth")).price / others - 1, -0.02, 0.003);
    const healed = await healTwice(injected);
    expect(Math.abs(healed.evidence["deviation"] as number)).to.be.below(0.0015);
  });

  it("oracle_stale (source): the source's price and updatedAt stop moving, then move again", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await oracleStale.inject(ctx, { ...oracleStale.params.parse({ source: "redstone" }), at: 0 }),
    );
    expectProof(injected.proof);
    const second = injected.proof.evidence["second"] as { updatedAt: string };
    expect((await price("redstone")).updatedAt).to.equal(second.updatedAt);
    expect((await price("chainlink")).updatedAt > second.updatedAt).to.equal(true);
    await healTwice(injected);
    expect((await price("redstone")).updatedAt > second.updatedAt).to.equal(true);
  });

  it("oracle_stale (chain): the polygon ETH/USD feed misses a 3% move that other chains' feeds follow", async () => {
    const ctx = faultContext(lab.info);
    const feed = (chain: "polygon" | "ethereum") => lab.info.chains[chain]!.contracts!.ethUsdFeed;
    const injected = track(
      await oracleStale.inject(ctx, {
        ...oracleStale.params.parse({ chain: "polygon", pair: "ETH/USD" }),
        at: 0,
      }),
    );
    expectProof(injected.proof);
    const keeper = injected.proof.evidence["keeper"] as { chain: string; pair: string; paused: boolean }[];
    expect(keeper).to.have.length(1);
    expect(keeper[0]).to.include({ chain: "polygon", pair: "ETH/USD", paused: true });
    const frozen = await latestRound(ctx, "polygon", feed("polygon"));
    const ethereum = await latestRound(ctx, "ethereum", feed("ethereum"));
    // A 3% move makes the keeper push at once, past its 0.5% deviation threshold.
    const shock = track(
      await collateralShock.inject(ctx, {
        ...collateralShock.params.parse({ asset: "ETH", change: 0.03 }),
        at: 0,
      }),
    );
    expectProof(shock.proof);
    await until("the ethereum feed follows the move", async () => {
      return (await latestRound(ctx, "ethereum", feed("ethereum"))).roundId > ethereum.roundId;
    });
    const still = await latestRound(ctx, "polygon", feed("polygon"));
    expect(still.roundId).to.equal(frozen.roundId);
    expect(still.updatedAt).to.equal(frozen.updatedAt);
    // Healed while the market is still off: the keeper catches up on polygon.
    await healTwice(injected);
    await until("the polygon feed gets a new round", async () => {
      return (await latestRound(ctx, "polygon", feed("polygon"))).roundId > frozen.roundId;
    });
    await healTwice(shock);
  });
});
