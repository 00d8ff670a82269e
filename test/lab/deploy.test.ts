import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { id, JsonRpcProvider, MaxUint256, Wallet } from "ethers";
import { FiredrillError } from "../../harness/errors.ts";
import { contractAt } from "../../harness/lab/contracts.ts";
import {
  type ChainContracts,
  type DeployOptions,
  deployStack,
  labAccounts,
  toUnits,
} from "../../harness/lab/deploy.ts";
import { type OwnedProcess, startProcess } from "../../harness/process.ts";

const require = createRequire(import.meta.url);
const ANVIL = join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
const WAD = 10n ** 18n;
const USDC = 10n ** 6n;

const OPTIONS: DeployOptions = {
  ethUsd: 3000.12,
  usdcUsd: 1,
  minCollateralRatio: 1.5,
  maxPriceAgeSeconds: 3600,
  withSequencerFeed: false,
  initialCollateralUsdc: 10_000_000n * USDC,
  initialSupply: 5_000_000n * WAD,
};

describe("lab deployStack", () => {
  let anvil: OwnedProcess | undefined;
  let provider: JsonRpcProvider;
  let rpcUrl: string;
  const accounts = labAccounts();
  let deployed: ChainContracts;

  before(async () => {
    anvil = await startProcess({
      name: "anvil-test",
      command: ANVIL,
      args: ["--port", "0", "--host", "127.0.0.1", "--chain-id", "1"],
      ready: /Listening on 127\.0\.0\.1:(\d+)/,
    });
    rpcUrl = `http://127.0.0.1:${anvil.readyMatch?.[1]}`;
    provider = new JsonRpcProvider(rpcUrl, 1, { staticNetwork: true });
    // How fast it deploys is a benchmark (bench/deploy.ts), not a test.
    deployed = await deployStack(rpcUrl, accounts, OPTIONS);
  });

  after(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it("derives the lab accounts from anvil's default mnemonic", () => {
    expect(accounts.deployer.address).to.equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    expect(accounts.operator.address).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(accounts.users).to.have.length(5);
    expect(accounts.users[4]?.address).to.equal("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    for (const account of [accounts.treasury, ...accounts.users]) {
      expect(new Wallet(account.privateKey).address).to.equal(account.address);
    }
  });

  it("leaves a healthy collateral ratio and the whole initial supply with the users", async () => {
    const vault = contractAt("CollateralVault", deployed.vault, provider);
    const stablecoin = contractAt("Stablecoin", deployed.stablecoin, provider);
    expect(await vault.collateralRatio()).to.equal(2n * WAD);
    expect(await stablecoin.totalSupply()).to.equal(OPTIONS.initialSupply);
    const balances: bigint[] = await Promise.all(accounts.users.map((u) => stablecoin.balanceOf(u.address)));
    expect(balances.reduce((a, b) => a + b, 0n)).to.equal(OPTIONS.initialSupply);
    for (const user of accounts.users) {
      expect(await stablecoin.allowance(user.address, deployed.vault)).to.equal(MaxUint256);
    }
    const usdc = contractAt("MockUSDC", deployed.usdc, provider);
    expect(await usdc.balanceOf(deployed.vault)).to.equal(OPTIONS.initialCollateralUsdc);
    expect(await usdc.balanceOf(accounts.treasury.address)).to.be.greaterThan(0n);
    expect(await vault.minCollateralRatio()).to.equal(15n * 10n ** 17n);
    expect(await vault.maxPriceAgeSeconds()).to.equal(3600n);
  });

  it("publishes the initial prices through the keeper", async () => {
    const ethFeed = contractAt("PriceFeed", deployed.ethUsdFeed, provider);
    const [roundId, answer] = await ethFeed.latestRoundData();
    expect(roundId).to.equal(1n);
    expect(answer).to.equal(300_012_000_000n);
    expect(await ethFeed.description()).to.equal("ETH / USD");
    const usdcFeed = contractAt("PriceFeed", deployed.usdcUsdFeed, provider);
    expect((await usdcFeed.latestRoundData())[1]).to.equal(100_000_000n);
  });

  it("grants each role to its account only", async () => {
    const vault = contractAt("CollateralVault", deployed.vault, provider);
    const stablecoin = contractAt("Stablecoin", deployed.stablecoin, provider);
    expect(await vault.hasRole(id("OPERATOR_ROLE"), accounts.operator.address)).to.equal(true);
    expect(await vault.hasRole(id("GUARDIAN_ROLE"), accounts.guardian.address)).to.equal(true);
    expect(await vault.hasRole(id("OPERATOR_ROLE"), accounts.guardian.address)).to.equal(false);
    expect(await vault.hasRole(id("GUARDIAN_ROLE"), accounts.operator.address)).to.equal(false);
    expect(await stablecoin.hasRole(id("VAULT_ROLE"), deployed.vault)).to.equal(true);
    for (const feed of [deployed.ethUsdFeed, deployed.usdcUsdFeed]) {
      expect(
        await contractAt("PriceFeed", feed, provider).hasRole(
          id("TRANSMITTER_ROLE"),
          accounts.keeper.address,
        ),
      ).to.equal(true);
    }
    expect(deployed.sequencerUptimeFeed).to.equal(undefined);
  });

  it("lets the operator redeem a user's fdUSD at par", async () => {
    const user = accounts.users[0]!;
    const operator = new Wallet(accounts.operator.privateKey, provider);
    const vault = contractAt("CollateralVault", deployed.vault, operator);
    const stablecoin = contractAt("Stablecoin", deployed.stablecoin, provider);
    const usdc = contractAt("MockUSDC", deployed.usdc, provider);
    const fdBefore: bigint = await stablecoin.balanceOf(user.address);
    const usdcBefore: bigint = await usdc.balanceOf(user.address);
    const tx = await vault.redeem(id("test/redeem/1"), user.address, user.address, 250n * WAD);
    const receipt = await tx.wait();
    expect(receipt?.status).to.equal(1);
    expect(await stablecoin.balanceOf(user.address)).to.equal(fdBefore - 250n * WAD);
    expect(await usdc.balanceOf(user.address)).to.equal(usdcBefore + 250n * USDC);
    expect(await vault.processed(id("test/redeem/1"))).to.equal(true);
  });

  it("deploys the sequencer uptime feed, writable by the keeper, when asked", async () => {
    const second = await deployStack(rpcUrl, accounts, { ...OPTIONS, withSequencerFeed: true });
    expect(second.vault).not.to.equal(deployed.vault);
    const address = second.sequencerUptimeFeed;
    if (!address) throw new Error("no sequencer uptime feed");
    const feed = contractAt("SequencerUptimeFeed", address, provider);
    const [roundId, answer] = await feed.latestRoundData();
    expect([roundId, answer]).to.deep.equal([1n, 0n]);
    expect(await feed.hasRole(id("TRANSMITTER_ROLE"), accounts.keeper.address)).to.equal(true);
  });

  it("refuses an initial supply the collateral cannot back, before sending anything", async () => {
    const nonceBefore = await provider.getTransactionCount(accounts.deployer.address);
    let caught: unknown;
    try {
      await deployStack(rpcUrl, accounts, { ...OPTIONS, initialSupply: 7_000_000n * WAD });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(FiredrillError);
    expect((caught as FiredrillError).code).to.equal("FD300");
    expect((caught as FiredrillError).message).to.match(/below the minimum 1\.5/);
    expect(await provider.getTransactionCount(accounts.deployer.address)).to.equal(nonceBefore);
  });

  it("rejects non-positive prices, a ratio below 1 and a bad price age with a lab error", async () => {
    for (const bad of [
      { ethUsd: 0 },
      { usdcUsd: -1 },
      { minCollateralRatio: 0.9 },
      { maxPriceAgeSeconds: 0 },
      { maxPriceAgeSeconds: 1.5 },
    ]) {
      let caught: unknown;
      try {
        await deployStack(rpcUrl, accounts, { ...OPTIONS, ...bad });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(bad)).to.be.instanceOf(FiredrillError);
    }
  });

  it("fails with a lab error naming the chain when nothing listens", async () => {
    let caught: unknown;
    try {
      await deployStack("http://127.0.0.1:1", accounts, OPTIONS);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(FiredrillError);
    expect((caught as FiredrillError).message).to.include("http://127.0.0.1:1");
  });
});

describe("lab toUnits", () => {
  it("converts plain numbers to fixed point without binary float noise", () => {
    expect(toUnits(1.1, 18)).to.equal(11n * 10n ** 17n);
    expect(toUnits(3000.12, 8)).to.equal(300_012_000_000n);
    expect(toUnits(1e-7, 8)).to.equal(10n);
    expect(toUnits(2, 6)).to.equal(2_000_000n);
    expect(toUnits(0.123456789, 6)).to.equal(123_456n);
  });
});
