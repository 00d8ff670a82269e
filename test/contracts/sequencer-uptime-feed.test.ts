import { expect } from "chai";
import type { SequencerUptimeFeedContract } from "../../harness/lab/contracts.ts";
import {
  as,
  blockTimeOf,
  deploy,
  type Ethers,
  increaseTime,
  type Signer,
  snapshotFixture,
} from "./fixture.ts";

interface SequencerFixture {
  ethers: Ethers;
  keeper: Signer;
  stranger: Signer;
  feed: SequencerUptimeFeedContract;
  deployedAt: bigint;
  transmitter: string;
}

const fixture = snapshotFixture(async (ethers): Promise<SequencerFixture> => {
  const [admin, keeper, stranger] = await ethers.getSigners();
  if (!admin || !keeper || !stranger) throw new Error("needs 3 accounts");
  const feed = await deploy(ethers, "SequencerUptimeFeed", [admin.address]);
  const deployment = feed.deploymentTransaction();
  if (!deployment) throw new Error("no deployment transaction");
  const deployedAt = await blockTimeOf(ethers, deployment);
  const transmitter = ethers.id("TRANSMITTER_ROLE");
  await feed.grantRole(transmitter, keeper.address);
  return { ethers, keeper, stranger, feed, deployedAt, transmitter };
});

describe("SequencerUptimeFeed", () => {
  it("starts up (answer 0) in round 1, started at deployment", async () => {
    const { feed, deployedAt } = await fixture();
    const [roundId, answer, startedAt, updatedAt, answeredInRound] = await feed.latestRoundData();
    expect([roundId, answer, startedAt, updatedAt, answeredInRound]).to.deep.equal([
      1n,
      0n,
      deployedAt,
      deployedAt,
      1n,
    ]);
    expect(await feed.decimals()).to.equal(0n);
    expect(await feed.version()).to.equal(1n);
    expect(await feed.description()).to.equal("L2 Sequencer Uptime Status Feed");
  });

  it("starts a new round with startedAt = time of the change when the status changes", async () => {
    const { ethers, feed, keeper } = await fixture();
    await increaseTime(ethers, 100);
    const tx = await as(feed, keeper).updateStatus(true);
    const downAt = await blockTimeOf(ethers, tx);
    await expect(tx).to.emit(feed, "AnswerUpdated").withArgs(1n, 2n, downAt);
    const [roundId, answer, startedAt, updatedAt] = await feed.latestRoundData();
    expect([roundId, answer, startedAt, updatedAt]).to.deep.equal([2n, 1n, downAt, downAt]);
  });

  it("keeps startedAt and the round when the same status is reported again, moving updatedAt", async () => {
    const { ethers, feed, keeper } = await fixture();
    const down = await as(feed, keeper).updateStatus(true);
    const downAt = await blockTimeOf(ethers, down);
    await increaseTime(ethers, 60);
    const again = await as(feed, keeper).updateStatus(true);
    const againAt = await blockTimeOf(ethers, again);
    await expect(again).to.emit(feed, "RoundUpdated").withArgs(1n, againAt);
    await expect(again).not.to.emit(feed, "AnswerUpdated");
    const [roundId, answer, startedAt, updatedAt] = await feed.latestRoundData();
    expect([roundId, answer, startedAt, updatedAt]).to.deep.equal([2n, 1n, downAt, againAt]);
    expect(againAt).to.be.greaterThan(downAt);
  });

  it("records the recovery as a new round and keeps the history", async () => {
    const { ethers, feed, keeper, deployedAt } = await fixture();
    const down = await as(feed, keeper).updateStatus(true);
    const downAt = await blockTimeOf(ethers, down);
    await increaseTime(ethers, 30);
    const up = await as(feed, keeper).updateStatus(false);
    const upAt = await blockTimeOf(ethers, up);
    const [roundId, answer, startedAt] = await feed.latestRoundData();
    expect([roundId, answer, startedAt]).to.deep.equal([3n, 0n, upAt]);
    const first = await feed.getRoundData(1n);
    expect([first[1], first[2]]).to.deep.equal([0n, deployedAt]);
    const second = await feed.getRoundData(2n);
    expect([second[1], second[2]]).to.deep.equal([1n, downAt]);
  });

  it("reverts getRoundData with RoundNotFound outside the recorded rounds", async () => {
    const { feed } = await fixture();
    await expect(feed.getRoundData(0n)).to.be.revertedWithCustomError(feed, "RoundNotFound").withArgs(0n);
    await expect(feed.getRoundData(2n)).to.be.revertedWithCustomError(feed, "RoundNotFound").withArgs(2n);
  });

  it("lets only the transmitter report the status", async () => {
    const { feed, stranger, transmitter } = await fixture();
    await expect(as(feed, stranger).updateStatus(true))
      .to.be.revertedWithCustomError(feed, "AccessControlUnauthorizedAccount")
      .withArgs(stranger.address, transmitter);
  });
});
