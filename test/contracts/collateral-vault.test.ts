import { expect } from "chai";
import type { CollateralVaultContract } from "../../harness/lab/contracts.ts";
import {
  as,
  deploy,
  deployStack,
  ETH_PRICE,
  increaseTime,
  MAX_PRICE_AGE,
  MIN_RATIO,
  type Stack,
  snapshotFixture,
  USDC,
  usd,
  WAD,
} from "./fixture.ts";

const fixture = snapshotFixture(deployStack);
const ZERO = "0x0000000000000000000000000000000000000000";
const MAX_UINT = 2n ** 256n - 1n;

const idOf = (s: Stack, name: string) => s.ethers.id(name);

/** Deposits `usdcAmount` USDC from the treasury and `eth` wei of ETH from the admin. */
async function fund(s: Stack, usdcAmount: bigint, eth = 0n): Promise<void> {
  if (usdcAmount > 0n) await as(s.vault, s.treasury).depositCollateral(usdcAmount);
  if (eth > 0n) await s.vault.depositEth({ value: eth });
}

async function mintTo(s: Stack, name: string, to: { address: string }, amount: bigint): Promise<void> {
  await as(s.vault, s.operator).mint(idOf(s, name), to.address, amount);
}

describe("CollateralVault", () => {
  describe("construction", () => {
    it("stores its parameters and grants the admin role", async () => {
      const s = await fixture();
      expect(await s.vault.minCollateralRatio()).to.equal(MIN_RATIO);
      expect(await s.vault.maxPriceAgeSeconds()).to.equal(MAX_PRICE_AGE);
      expect(await s.vault.stablecoin()).to.equal(await s.stablecoin.getAddress());
      expect(await s.vault.usdc()).to.equal(await s.usdc.getAddress());
      expect(await s.vault.usdcUsdFeed()).to.equal(await s.usdcUsdFeed.getAddress());
      expect(await s.vault.ethUsdFeed()).to.equal(await s.ethUsdFeed.getAddress());
      expect(await s.vault.hasRole(s.ethers.ZeroHash, s.admin.address)).to.equal(true);
      expect(await s.vault.nonCriticalPaused()).to.equal(false);
      expect(await s.vault.paused()).to.equal(false);
    });

    it("rejects a zero address, a ratio below 100%, a zero price age and feeds with over 18 decimals", async () => {
      const s = await fixture();
      const args = [
        s.admin.address,
        await s.stablecoin.getAddress(),
        await s.usdc.getAddress(),
        await s.usdcUsdFeed.getAddress(),
        await s.ethUsdFeed.getAddress(),
        MIN_RATIO,
        MAX_PRICE_AGE,
      ];
      const factory = await s.ethers.getContractFactory("CollateralVault");
      const withArg = (i: number, value: unknown) => args.map((a, j) => (j === i ? value : a));
      for (let i = 0; i < 5; i++) {
        await expect(factory.deploy(...withArg(i, ZERO))).to.be.revertedWithCustomError(
          factory,
          "ZeroAddress",
        );
      }
      await expect(factory.deploy(...withArg(5, WAD - 1n)))
        .to.be.revertedWithCustomError(factory, "InvalidCollateralRatio")
        .withArgs(WAD - 1n);
      await expect(factory.deploy(...withArg(6, 0n))).to.be.revertedWithCustomError(
        factory,
        "InvalidMaxPriceAge",
      );
      const wide = await deploy(s.ethers, "PriceFeed", [19, "WIDE / USD", s.admin.address]);
      await expect(factory.deploy(...withArg(4, await wide.getAddress())))
        .to.be.revertedWithCustomError(factory, "UnsupportedFeedDecimals")
        .withArgs(await wide.getAddress(), 19n);
    });
  });

  describe("collateral", () => {
    it("takes USDC with transferFrom and emits CollateralDeposited with the USDC address", async () => {
      const s = await fixture();
      const tx = as(s.vault, s.treasury).depositCollateral(1000n * USDC);
      await expect(tx)
        .to.emit(s.vault, "CollateralDeposited")
        .withArgs(s.treasury.address, await s.usdc.getAddress(), 1000n * USDC);
      expect(await s.usdc.balanceOf(await s.vault.getAddress())).to.equal(1000n * USDC);
      expect(await s.usdc.balanceOf(s.treasury.address)).to.equal(999_000n * USDC);
    });

    it("takes ETH through depositEth and a plain transfer, with address(0) as the asset", async () => {
      const s = await fixture();
      await expect(as(s.vault, s.alice).depositEth({ value: WAD }))
        .to.emit(s.vault, "CollateralDeposited")
        .withArgs(s.alice.address, ZERO, WAD);
      await expect(s.bob.sendTransaction({ to: await s.vault.getAddress(), value: 2n * WAD }))
        .to.emit(s.vault, "CollateralDeposited")
        .withArgs(s.bob.address, ZERO, 2n * WAD);
      expect(await s.ethers.provider.getBalance(await s.vault.getAddress())).to.equal(3n * WAD);
    });

    it("reverts empty deposits with ZeroAmount", async () => {
      const s = await fixture();
      await expect(as(s.vault, s.treasury).depositCollateral(0n)).to.be.revertedWithCustomError(
        s.vault,
        "ZeroAmount",
      );
      await expect(s.vault.depositEth({ value: 0n })).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
    });

    it("values USDC and ETH at the feeds' latest answers", async () => {
      const s = await fixture();
      await fund(s, 1000n * USDC, 2n * WAD);
      await as(s.usdcUsdFeed, s.keeper).transmit(usd(0.99));
      // 1000 USDC at 0.99 + 2 ETH at 3000
      expect(await s.vault.collateralValueUsd()).to.equal(990n * WAD + 6000n * WAD);
    });
  });

  describe("collateral ratio", () => {
    it("is type(uint256).max while there is no supply", async () => {
      const s = await fixture();
      await fund(s, 1000n * USDC);
      expect(await s.vault.collateralRatio()).to.equal(MAX_UINT);
    });

    it("divides the value of both collateral kinds by the fdUSD supply", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC, WAD); // 3000 + 3000 = 6000 USD
      await mintTo(s, "m1", s.alice, 2000n * WAD);
      await mintTo(s, "m2", s.bob, 1000n * WAD);
      expect(await s.stablecoin.totalSupply()).to.equal(3000n * WAD);
      expect(await s.vault.collateralRatio()).to.equal(2n * WAD);
    });

    it("follows the prices without a staleness check, counting a non-positive answer as zero", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC, WAD);
      await mintTo(s, "m1", s.alice, 3000n * WAD);
      await as(s.ethUsdFeed, s.keeper).transmit(usd(1500)); // 3000 + 1500 = 4500 USD
      expect(await s.vault.collateralRatio()).to.equal(15n * 10n ** 17n);
      await increaseTime(s.ethers, MAX_PRICE_AGE * 10n);
      expect(await s.vault.collateralRatio()).to.equal(15n * 10n ** 17n);
      await as(s.ethUsdFeed, s.keeper).transmit(-1n);
      expect(await s.vault.collateralRatio()).to.equal(WAD);
    });
  });

  describe("mint", () => {
    it("mints to the receiver, records the id and emits Minted", async () => {
      const s = await fixture();
      await fund(s, 1500n * USDC);
      const id = idOf(s, "mint-1");
      await expect(as(s.vault, s.operator).mint(id, s.alice.address, 1000n * WAD))
        .to.emit(s.vault, "Minted")
        .withArgs(id, s.alice.address, 1000n * WAD);
      expect(await s.stablecoin.balanceOf(s.alice.address)).to.equal(1000n * WAD);
      expect(await s.stablecoin.totalSupply()).to.equal(1000n * WAD);
      expect(await s.vault.processed(id)).to.equal(true);
      expect(await s.vault.processed(idOf(s, "other"))).to.equal(false);
    });

    it("reverts a repeated id with AlreadyProcessed and mints nothing more", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      const id = idOf(s, "mint-1");
      await as(s.vault, s.operator).mint(id, s.alice.address, 100n * WAD);
      await expect(as(s.vault, s.operator).mint(id, s.alice.address, 100n * WAD))
        .to.be.revertedWithCustomError(s.vault, "AlreadyProcessed")
        .withArgs(id);
      expect(await s.stablecoin.totalSupply()).to.equal(100n * WAD);
    });

    it("mints up to exactly the minimum ratio and reverts beyond with BelowMinimumCollateralRatio", async () => {
      const s = await fixture();
      await fund(s, 1500n * USDC); // 1500 USD backs at most 1000 fdUSD at 150%
      await expect(mintTo(s, "over", s.alice, 1000n * WAD + 1n))
        .to.be.revertedWithCustomError(s.vault, "BelowMinimumCollateralRatio")
        .withArgs((1500n * WAD * WAD) / (1000n * WAD + 1n), MIN_RATIO);
      await mintTo(s, "exact", s.alice, 1000n * WAD);
      expect(await s.vault.collateralRatio()).to.equal(MIN_RATIO);
      await expect(mintTo(s, "one-more", s.alice, 1n)).to.be.revertedWithCustomError(
        s.vault,
        "BelowMinimumCollateralRatio",
      );
    });

    it("counts ETH collateral at the ETH/USD price", async () => {
      const s = await fixture();
      await fund(s, 0n, WAD); // 3000 USD backs 2000 fdUSD at 150%
      await mintTo(s, "eth-backed", s.alice, 2000n * WAD);
      await expect(mintTo(s, "more", s.alice, WAD)).to.be.revertedWithCustomError(
        s.vault,
        "BelowMinimumCollateralRatio",
      );
      await as(s.ethUsdFeed, s.keeper).transmit(ETH_PRICE * 2n);
      await mintTo(s, "more", s.alice, 2000n * WAD);
      expect(await s.vault.collateralRatio()).to.equal(MIN_RATIO);
    });

    it("reverts with StalePrice naming the feed whose answer is too old", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await increaseTime(s.ethers, MAX_PRICE_AGE + 1n);
      await as(s.ethUsdFeed, s.keeper).transmit(ETH_PRICE);
      await expect(mintTo(s, "stale-usdc", s.alice, WAD))
        .to.be.revertedWithCustomError(s.vault, "StalePrice")
        .withArgs(await s.usdcUsdFeed.getAddress());
      await as(s.usdcUsdFeed, s.keeper).transmit(usd(1));
      await increaseTime(s.ethers, MAX_PRICE_AGE - 10n);
      await as(s.usdcUsdFeed, s.keeper).transmit(usd(1));
      await increaseTime(s.ethers, 20n);
      await expect(mintTo(s, "stale-eth", s.alice, WAD))
        .to.be.revertedWithCustomError(s.vault, "StalePrice")
        .withArgs(await s.ethUsdFeed.getAddress());
      await as(s.ethUsdFeed, s.keeper).transmit(ETH_PRICE);
      await mintTo(s, "fresh", s.alice, WAD);
    });

    it("reverts with InvalidPrice on a non-positive answer", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await as(s.usdcUsdFeed, s.keeper).transmit(0n);
      await expect(mintTo(s, "zero-price", s.alice, WAD))
        .to.be.revertedWithCustomError(s.vault, "InvalidPrice")
        .withArgs(await s.usdcUsdFeed.getAddress(), 0n);
    });

    it("reverts a zero amount with ZeroAmount and the zero receiver with ZeroAddress", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await expect(mintTo(s, "zero", s.alice, 0n)).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
      await expect(mintTo(s, "nobody", { address: ZERO }, WAD)).to.be.revertedWithCustomError(
        s.vault,
        "ZeroAddress",
      );
    });

    it("lets only the operator mint", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      for (const who of [s.admin, s.guardian, s.alice]) {
        await expect(as(s.vault, who).mint(idOf(s, "x"), who.address, WAD))
          .to.be.revertedWithCustomError(s.vault, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, s.role("OPERATOR_ROLE"));
      }
    });
  });

  describe("redeem", () => {
    async function withSupply(): Promise<Stack> {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await mintTo(s, "alice", s.alice, 1000n * WAD);
      await mintTo(s, "bob", s.bob, 500n * WAD);
      return s;
    }

    it("burns the holder's fdUSD and pays USDC at par to payTo, emitting Redeemed", async () => {
      const s = await withSupply();
      const id = idOf(s, "r1");
      const before: bigint = await s.usdc.balanceOf(s.stranger.address);
      await expect(as(s.vault, s.operator).redeem(id, s.alice.address, s.stranger.address, 400n * WAD))
        .to.emit(s.vault, "Redeemed")
        .withArgs(id, s.alice.address, s.stranger.address, 400n * WAD, 400n * USDC);
      expect(await s.usdc.balanceOf(s.stranger.address)).to.equal(before + 400n * USDC);
      expect(await s.stablecoin.balanceOf(s.alice.address)).to.equal(600n * WAD);
      expect(await s.stablecoin.balanceOf(await s.vault.getAddress())).to.equal(0n);
      expect(await s.stablecoin.totalSupply()).to.equal(1100n * WAD);
      expect(await s.usdc.balanceOf(await s.vault.getAddress())).to.equal(2600n * USDC);
      expect(await s.vault.processed(id)).to.equal(true);
    });

    it("burns the whole amount and pays amount / 1e12 when the amount has dust below one USDC unit", async () => {
      const s = await withSupply();
      const amount = 10n * WAD + 999_999_999_999n;
      await expect(as(s.vault, s.operator).redeem(idOf(s, "dust"), s.alice.address, s.alice.address, amount))
        .to.emit(s.vault, "Redeemed")
        .withArgs(idOf(s, "dust"), s.alice.address, s.alice.address, amount, 10n * USDC);
      expect(await s.stablecoin.totalSupply()).to.equal(1500n * WAD - amount);
    });

    it("keeps supply equal to the sum of balances and the USDC books balanced across mints and redemptions", async () => {
      const s = await withSupply();
      await as(s.vault, s.operator).redeem(idOf(s, "r1"), s.alice.address, s.alice.address, 250n * WAD);
      await mintTo(s, "again", s.bob, 100n * WAD);
      await as(s.vault, s.operator).redeem(idOf(s, "r2"), s.bob.address, s.treasury.address, 600n * WAD);
      const balances = await Promise.all(
        [s.alice, s.bob, s.treasury, s.stranger].map((w) => s.stablecoin.balanceOf(w.address)),
      );
      const sum = balances.reduce((a: bigint, b: bigint) => a + b, 0n);
      expect(await s.stablecoin.totalSupply()).to.equal(sum);
      expect(sum).to.equal(1000n * WAD + 500n * WAD + 100n * WAD - 850n * WAD);
      expect(await s.usdc.balanceOf(await s.vault.getAddress())).to.equal(3000n * USDC - 850n * USDC);
    });

    it("reverts a repeated id with AlreadyProcessed, including an id already used by a mint", async () => {
      const s = await withSupply();
      const id = idOf(s, "r1");
      await as(s.vault, s.operator).redeem(id, s.alice.address, s.alice.address, WAD);
      await expect(as(s.vault, s.operator).redeem(id, s.alice.address, s.alice.address, WAD))
        .to.be.revertedWithCustomError(s.vault, "AlreadyProcessed")
        .withArgs(id);
      await expect(as(s.vault, s.operator).redeem(idOf(s, "alice"), s.alice.address, s.alice.address, WAD))
        .to.be.revertedWithCustomError(s.vault, "AlreadyProcessed")
        .withArgs(idOf(s, "alice"));
      expect(await s.stablecoin.balanceOf(s.alice.address)).to.equal(999n * WAD);
    });

    it("reverts ZeroAmount, RedemptionTooSmall and ZeroAddress", async () => {
      const s = await withSupply();
      const redeem = (amount: bigint, holder = s.alice.address, payTo = s.alice.address) =>
        as(s.vault, s.operator).redeem(idOf(s, "r"), holder, payTo, amount);
      await expect(redeem(0n)).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
      await expect(redeem(10n ** 12n - 1n))
        .to.be.revertedWithCustomError(s.vault, "RedemptionTooSmall")
        .withArgs(10n ** 12n - 1n);
      await expect(redeem(WAD, ZERO)).to.be.revertedWithCustomError(s.vault, "ZeroAddress");
      await expect(redeem(WAD, s.alice.address, ZERO)).to.be.revertedWithCustomError(s.vault, "ZeroAddress");
    });

    it("reverts with InsufficientLiquidity when the vault holds too little USDC", async () => {
      const s = await fixture();
      await fund(s, 100n * USDC, WAD); // 100 USD in USDC + 3000 USD in ETH
      await mintTo(s, "alice", s.alice, 1000n * WAD);
      await expect(as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, 101n * WAD))
        .to.be.revertedWithCustomError(s.vault, "InsufficientLiquidity")
        .withArgs(100n * USDC, 101n * USDC);
    });

    it("needs the holder's allowance to the vault", async () => {
      const s = await withSupply();
      await as(s.stablecoin, s.alice).approve(await s.vault.getAddress(), 5n * WAD);
      await expect(
        as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, 6n * WAD),
      ).to.be.revertedWithCustomError(s.stablecoin, "ERC20InsufficientAllowance");
      await as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, 5n * WAD);
      expect(await s.stablecoin.allowance(s.alice.address, await s.vault.getAddress())).to.equal(0n);
    });

    it("lets only the operator redeem", async () => {
      const s = await withSupply();
      for (const who of [s.admin, s.guardian, s.alice]) {
        await expect(as(s.vault, who).redeem(idOf(s, "r"), s.alice.address, who.address, WAD))
          .to.be.revertedWithCustomError(s.vault, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, s.role("OPERATOR_ROLE"));
      }
    });
  });

  describe("pauses", () => {
    it("stops minting but not redemption under pauseNonCritical, and resumes minting", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await mintTo(s, "before", s.alice, 100n * WAD);
      await expect(as(s.vault, s.guardian).pauseNonCritical())
        .to.emit(s.vault, "NonCriticalPaused")
        .withArgs(s.guardian.address);
      expect(await s.vault.nonCriticalPaused()).to.equal(true);
      await expect(mintTo(s, "during", s.alice, WAD)).to.be.revertedWithCustomError(
        s.vault,
        "NonCriticalOperationsPaused",
      );
      await expect(as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, 40n * WAD))
        .to.emit(s.vault, "Redeemed")
        .withArgs(idOf(s, "r"), s.alice.address, s.alice.address, 40n * WAD, 40n * USDC);
      await expect(as(s.vault, s.operator).resumeNonCritical())
        .to.emit(s.vault, "NonCriticalResumed")
        .withArgs(s.operator.address);
      await mintTo(s, "during", s.alice, WAD);
      expect(await s.stablecoin.balanceOf(s.alice.address)).to.equal(61n * WAD);
    });

    it("lets the operator and the guardian pause non-critical operations, and nobody else", async () => {
      const s = await fixture();
      await expect(as(s.vault, s.operator).pauseNonCritical())
        .to.emit(s.vault, "NonCriticalPaused")
        .withArgs(s.operator.address);
      await as(s.vault, s.guardian).resumeNonCritical();
      for (const who of [s.admin, s.alice]) {
        await expect(as(s.vault, who).pauseNonCritical())
          .to.be.revertedWithCustomError(s.vault, "UnauthorizedPauser")
          .withArgs(who.address);
        await expect(as(s.vault, who).resumeNonCritical())
          .to.be.revertedWithCustomError(s.vault, "UnauthorizedPauser")
          .withArgs(who.address);
      }
    });

    it("reverts pausing twice and resuming when not paused", async () => {
      const s = await fixture();
      await expect(as(s.vault, s.guardian).resumeNonCritical()).to.be.revertedWithCustomError(
        s.vault,
        "NonCriticalOperationsNotPaused",
      );
      await as(s.vault, s.guardian).pauseNonCritical();
      await expect(as(s.vault, s.operator).pauseNonCritical()).to.be.revertedWithCustomError(
        s.vault,
        "NonCriticalOperationsPaused",
      );
    });

    it("stops mint, redeem and deposits under the guardian's full pause, until unpause", async () => {
      const s = await fixture();
      await fund(s, 3000n * USDC);
      await mintTo(s, "before", s.alice, 100n * WAD);
      await expect(as(s.vault, s.guardian).pause()).to.emit(s.vault, "Paused").withArgs(s.guardian.address);
      expect(await s.vault.paused()).to.equal(true);
      await expect(mintTo(s, "m", s.alice, WAD)).to.be.revertedWithCustomError(s.vault, "EnforcedPause");
      await expect(
        as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, WAD),
      ).to.be.revertedWithCustomError(s.vault, "EnforcedPause");
      await expect(as(s.vault, s.treasury).depositCollateral(USDC)).to.be.revertedWithCustomError(
        s.vault,
        "EnforcedPause",
      );
      await expect(s.vault.depositEth({ value: 1n })).to.be.revertedWithCustomError(s.vault, "EnforcedPause");
      await expect(as(s.vault, s.guardian).pause()).to.be.revertedWithCustomError(s.vault, "EnforcedPause");
      await expect(as(s.vault, s.guardian).unpause())
        .to.emit(s.vault, "Unpaused")
        .withArgs(s.guardian.address);
      await expect(as(s.vault, s.guardian).unpause()).to.be.revertedWithCustomError(s.vault, "ExpectedPause");
      await as(s.vault, s.operator).redeem(idOf(s, "r"), s.alice.address, s.alice.address, WAD);
      await mintTo(s, "m", s.alice, WAD);
    });

    it("lets only the guardian pause and unpause fully", async () => {
      const s = await fixture();
      for (const who of [s.admin, s.operator, s.alice]) {
        await expect(as(s.vault, who).pause())
          .to.be.revertedWithCustomError(s.vault, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, s.role("GUARDIAN_ROLE"));
      }
      await as(s.vault, s.guardian).pause();
      await expect(as(s.vault, s.operator).unpause())
        .to.be.revertedWithCustomError(s.vault, "AccessControlUnauthorizedAccount")
        .withArgs(s.operator.address, s.role("GUARDIAN_ROLE"));
    });
  });

  describe("parameters", () => {
    it("lets the admin change the minimum ratio and the price age, with events", async () => {
      const s = await fixture();
      await expect(s.vault.setMinCollateralRatio(2n * WAD))
        .to.emit(s.vault, "MinCollateralRatioUpdated")
        .withArgs(MIN_RATIO, 2n * WAD);
      await expect(s.vault.setMaxPriceAgeSeconds(60n))
        .to.emit(s.vault, "MaxPriceAgeUpdated")
        .withArgs(MAX_PRICE_AGE, 60n);
      expect(await s.vault.minCollateralRatio()).to.equal(2n * WAD);
      expect(await s.vault.maxPriceAgeSeconds()).to.equal(60n);
      await fund(s, 2000n * USDC);
      await expect(mintTo(s, "m", s.alice, 1000n * WAD + 1n)).to.be.revertedWithCustomError(
        s.vault,
        "BelowMinimumCollateralRatio",
      );
      await increaseTime(s.ethers, 61n);
      await expect(mintTo(s, "m", s.alice, WAD)).to.be.revertedWithCustomError(s.vault, "StalePrice");
    });

    it("rejects invalid values and callers without the admin role", async () => {
      const s = await fixture();
      await expect(s.vault.setMinCollateralRatio(WAD - 1n))
        .to.be.revertedWithCustomError(s.vault, "InvalidCollateralRatio")
        .withArgs(WAD - 1n);
      await expect(s.vault.setMaxPriceAgeSeconds(0n)).to.be.revertedWithCustomError(
        s.vault,
        "InvalidMaxPriceAge",
      );
      for (const call of [
        (v: CollateralVaultContract) => v.setMinCollateralRatio(2n * WAD),
        (v: CollateralVaultContract) => v.setMaxPriceAgeSeconds(10n),
      ]) {
        await expect(call(as(s.vault, s.guardian)))
          .to.be.revertedWithCustomError(s.vault, "AccessControlUnauthorizedAccount")
          .withArgs(s.guardian.address, s.ethers.ZeroHash);
      }
    });
  });
});
