/**
 * Shared set-up of the contract tests (defines no tests). One Hardhat network per test
 * file; each test starts from the same deployed state through an EVM snapshot.
 */
import type { BaseContract } from "ethers";
import { network } from "hardhat";
import type {
  CollateralVaultContract,
  LabContracts,
  MockUsdcContract,
  PriceFeedContract,
  StablecoinContract,
} from "../../harness/lab/contracts.ts";

type Connection = Awaited<ReturnType<typeof network.create>>;
export type Ethers = Connection["ethers"];
export type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];

export const WAD = 10n ** 18n;
export const USDC = 10n ** 6n;
/** A USD price with the feeds' 8 decimals. */
export const usd = (value: number | string): bigint => BigInt(Math.round(Number(value) * 1e8));
export const MIN_RATIO = 15n * 10n ** 17n; // 1.5
export const MAX_PRICE_AGE = 3600n;
export const ETH_PRICE = usd(3000);
export const USDC_PRICE = usd(1);

export interface Stack {
  ethers: Ethers;
  admin: Signer;
  operator: Signer;
  guardian: Signer;
  keeper: Signer;
  treasury: Signer;
  alice: Signer;
  bob: Signer;
  stranger: Signer;
  usdc: MockUsdcContract;
  stablecoin: StablecoinContract;
  usdcUsdFeed: PriceFeedContract;
  ethUsdFeed: PriceFeedContract;
  vault: CollateralVaultContract;
  role: (name: string) => string;
}

/** Deploys the contract set with roles granted and prices published; no collateral, no supply. */
export async function deployStack(ethers: Ethers): Promise<Stack> {
  const [admin, operator, guardian, keeper, treasury, alice, bob, stranger] = await ethers.getSigners();
  if (!admin || !operator || !guardian || !keeper || !treasury || !alice || !bob || !stranger) {
    throw new Error("the test network needs 8 accounts");
  }
  const role = (name: string) => ethers.id(name);
  const usdc = await deploy(ethers, "MockUSDC", [admin.address]);
  const stablecoin = await deploy(ethers, "Stablecoin", [admin.address]);
  const usdcUsdFeed = await deploy(ethers, "PriceFeed", [8, "USDC / USD", admin.address]);
  const ethUsdFeed = await deploy(ethers, "PriceFeed", [8, "ETH / USD", admin.address]);
  const vault = await deploy(ethers, "CollateralVault", [
    admin.address,
    await stablecoin.getAddress(),
    await usdc.getAddress(),
    await usdcUsdFeed.getAddress(),
    await ethUsdFeed.getAddress(),
    MIN_RATIO,
    MAX_PRICE_AGE,
  ]);
  await stablecoin.grantRole(role("VAULT_ROLE"), await vault.getAddress());
  await vault.grantRole(role("OPERATOR_ROLE"), operator.address);
  await vault.grantRole(role("GUARDIAN_ROLE"), guardian.address);
  for (const feed of [usdcUsdFeed, ethUsdFeed])
    await feed.grantRole(role("TRANSMITTER_ROLE"), keeper.address);
  await as(usdcUsdFeed, keeper).transmit(USDC_PRICE);
  await as(ethUsdFeed, keeper).transmit(ETH_PRICE);
  for (const who of [treasury, alice, bob]) {
    await usdc.mint(who.address, 1_000_000n * USDC);
    await as(usdc, who).approve(await vault.getAddress(), ethers.MaxUint256);
    await as(stablecoin, who).approve(await vault.getAddress(), ethers.MaxUint256);
  }
  return {
    ethers,
    admin,
    operator,
    guardian,
    keeper,
    treasury,
    alice,
    bob,
    stranger,
    usdc,
    stablecoin,
    usdcUsdFeed,
    ethUsdFeed,
    vault,
    role,
  };
}

/** Deploys the contract `name` and returns its typed handle. */
export async function deploy<K extends keyof LabContracts>(
  ethers: Ethers,
  name: K,
  args: unknown[],
): Promise<LabContracts[K]> {
  return (await ethers.deployContract(name, args)) as unknown as LabContracts[K];
}

/** `contract` called as `signer`. */
export function as<T extends BaseContract>(contract: T, signer: Signer): T {
  return contract.connect(signer) as T;
}

/**
 * Returns a function that gives each test the state `setup` produced: the first call runs
 * `setup` on a new network and snapshots; later calls revert to that snapshot.
 */
export function snapshotFixture<T>(setup: (ethers: Ethers) => Promise<T>): () => Promise<T> {
  let state: { value: T; ethers: Ethers; snapshot: string } | undefined;
  return async () => {
    if (!state) {
      const { ethers } = await network.create();
      const value = await setup(ethers);
      state = { value, ethers, snapshot: await ethers.provider.send("evm_snapshot", []) };
      return value;
    }
    const reverted: boolean = await state.ethers.provider.send("evm_revert", [state.snapshot]);
    if (!reverted) throw new Error("evm_revert failed");
    state.snapshot = await state.ethers.provider.send("evm_snapshot", []);
    return state.value;
  };
}

/** Moves the chain's clock forward by `seconds` and mines a block. */
export async function increaseTime(ethers: Ethers, seconds: bigint | number): Promise<void> {
  await ethers.provider.send("evm_increaseTime", [Number(seconds)]);
  await ethers.provider.send("evm_mine", []);
}

/** Timestamp of the block that included `tx`. */
export async function blockTimeOf(ethers: Ethers, tx: { hash: string }): Promise<bigint> {
  const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
  if (!receipt) throw new Error(`no receipt for ${tx.hash}`);
  const block = await ethers.provider.getBlock(receipt.blockNumber);
  if (!block) throw new Error(`no block ${receipt.blockNumber}`);
  return BigInt(block.timestamp);
}
