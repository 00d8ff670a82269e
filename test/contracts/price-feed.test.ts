import { expect } from "chai";
import type { PriceFeedContract } from "../../harness/lab/contracts.ts";
import { as, blockTimeOf, deploy, type Ethers, type Signer, snapshotFixture, usd } from "./fixture.ts";

interface FeedFixture {
  ethers: Ethers;
  admin: Signer;
  keeper: Signer;
  stranger: Signer;
  feed: PriceFeedContract;
  transmitter: string;
}

const fixture = snapshotFixture(async (ethers): Promise<FeedFixture> => {
  const [admin, keeper, stranger] = await ethers.getSigners();
  if (!admin || !keeper || !stranger) throw new Error("needs 3 accounts");
  const feed = await deploy(ethers, "PriceFeed", [8, "ETH / USD", admin.address]);
  const transmitter = ethers.id("TRANSMITTER_ROLE");
  await feed.grantRole(transmitter, keeper.address);
  return { ethers, admin, keeper, stranger, feed, transmitter };
});

describe("PriceFeed", () => {
  it("describes itself like a Chainlink aggregator", async () => {
    const { feed } = await fixture();
    expect(await feed.decimals()).to.equal(8n);
    expect(await feed.description()).to.equal("ETH / USD");
    expect(await feed.version()).to.equal(1n);
  });

  it("reverts latestRoundData with NoDataPresent before the first transmission", async () => {
    const { feed } = await fixture();
    await expect(feed.latestRoundData()).to.be.revertedWithCustomError(feed, "NoDataPresent");
  });

  it("records each transmission as a complete round at the block time", async () => {
    const { ethers, feed, keeper } = await fixture();
    const tx = await as(feed, keeper).transmit(usd(3000.5));
    const at = await blockTimeOf(ethers, tx);
    const [roundId, answer, startedAt, updatedAt, answeredInRound] = await feed.latestRoundData();
    expect(roundId).to.equal(1n);
    expect(answer).to.equal(300_050_000_000n);
    expect(startedAt).to.equal(at);
    expect(updatedAt).to.equal(at);
    expect(answeredInRound).to.equal(roundId);
  });

  it("keeps every earlier round readable through getRoundData", async () => {
    const { feed, keeper } = await fixture();
    await as(feed, keeper).transmit(usd(3000));
    await as(feed, keeper).transmit(usd(2900));
    await as(feed, keeper).transmit(usd(3100));
    const [roundId, answer, , , answeredInRound] = await feed.getRoundData(2n);
    expect(roundId).to.equal(2n);
    expect(answer).to.equal(usd(2900));
    expect(answeredInRound).to.equal(2n);
    const [latestId, latestAnswer] = await feed.latestRoundData();
    expect(latestId).to.equal(3n);
    expect(latestAnswer).to.equal(usd(3100));
  });

  it("reverts getRoundData with RoundNotFound for round 0 and rounds not yet transmitted", async () => {
    const { feed, keeper } = await fixture();
    await as(feed, keeper).transmit(usd(3000));
    await expect(feed.getRoundData(0n)).to.be.revertedWithCustomError(feed, "RoundNotFound").withArgs(0n);
    await expect(feed.getRoundData(2n)).to.be.revertedWithCustomError(feed, "RoundNotFound").withArgs(2n);
  });

  it("emits AnswerUpdated and NewRound on transmit", async () => {
    const { ethers, feed, keeper } = await fixture();
    const tx = as(feed, keeper).transmit(usd(2999));
    await expect(tx).to.emit(feed, "AnswerUpdated");
    const at = await blockTimeOf(ethers, await tx);
    await expect(tx).to.emit(feed, "AnswerUpdated").withArgs(usd(2999), 1n, at);
    await expect(tx).to.emit(feed, "NewRound").withArgs(1n, keeper.address, at);
  });

  it("lets only the transmitter transmit", async () => {
    const { feed, admin, stranger, transmitter } = await fixture();
    for (const who of [admin, stranger]) {
      await expect(as(feed, who).transmit(usd(1)))
        .to.be.revertedWithCustomError(feed, "AccessControlUnauthorizedAccount")
        .withArgs(who.address, transmitter);
    }
  });

  it("lets only the admin grant the transmitter role", async () => {
    const { feed, stranger, transmitter, ethers } = await fixture();
    await expect(as(feed, stranger).grantRole(transmitter, stranger.address))
      .to.be.revertedWithCustomError(feed, "AccessControlUnauthorizedAccount")
      .withArgs(stranger.address, ethers.ZeroHash);
  });
});
