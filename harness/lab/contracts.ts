/**
 * Typed handles on the lab's contracts for ethers v6, from the compiled artifacts (no
 * generated bindings): `contractAt("CollateralVault", address, runner)`. The method lists
 * mirror the Solidity sources in contracts/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type BaseContract,
  Contract,
  type ContractRunner,
  type ContractTransactionResponse,
  Interface,
  type InterfaceAbi,
  type Overrides,
} from "ethers";
import { labError } from "../errors.ts";
import { ARTIFACTS_DIR } from "../paths.ts";

type Tx = Promise<ContractTransactionResponse>;
/** roundId, answer, startedAt, updatedAt, answeredInRound */
export type RoundData = [bigint, bigint, bigint, bigint, bigint];

export interface AccessControlled {
  hasRole(role: string, account: string): Promise<boolean>;
  grantRole(role: string, account: string, overrides?: Overrides): Tx;
  revokeRole(role: string, account: string, overrides?: Overrides): Tx;
}

export interface Erc20 {
  name(): Promise<string>;
  symbol(): Promise<string>;
  decimals(): Promise<bigint>;
  totalSupply(): Promise<bigint>;
  balanceOf(account: string): Promise<bigint>;
  allowance(owner: string, spender: string): Promise<bigint>;
  approve(spender: string, amount: bigint, overrides?: Overrides): Tx;
  transfer(to: string, amount: bigint, overrides?: Overrides): Tx;
}

export type MockUsdcContract = BaseContract &
  Erc20 & {
    owner(): Promise<string>;
    mint(to: string, amount: bigint, overrides?: Overrides): Tx;
  };

export type StablecoinContract = BaseContract &
  Erc20 &
  AccessControlled & {
    mint(to: string, amount: bigint, overrides?: Overrides): Tx;
    burn(from: string, amount: bigint, overrides?: Overrides): Tx;
  };

export interface Aggregator {
  decimals(): Promise<bigint>;
  description(): Promise<string>;
  version(): Promise<bigint>;
  getRoundData(roundId: bigint): Promise<RoundData>;
  latestRoundData(): Promise<RoundData>;
}

export type PriceFeedContract = BaseContract &
  Aggregator &
  AccessControlled & {
    transmit(answer: bigint, overrides?: Overrides): Tx;
  };

export type SequencerUptimeFeedContract = BaseContract &
  Aggregator &
  AccessControlled & {
    updateStatus(down: boolean, overrides?: Overrides): Tx;
  };

export type CollateralVaultContract = BaseContract &
  AccessControlled & {
    stablecoin(): Promise<string>;
    usdc(): Promise<string>;
    usdcUsdFeed(): Promise<string>;
    ethUsdFeed(): Promise<string>;
    minCollateralRatio(): Promise<bigint>;
    maxPriceAgeSeconds(): Promise<bigint>;
    nonCriticalPaused(): Promise<boolean>;
    paused(): Promise<boolean>;
    processed(id: string): Promise<boolean>;
    collateralRatio(): Promise<bigint>;
    collateralValueUsd(): Promise<bigint>;
    depositCollateral(usdcAmount: bigint, overrides?: Overrides): Tx;
    depositEth(overrides: Overrides & { value: bigint }): Tx;
    mint(mintId: string, to: string, amount: bigint, overrides?: Overrides): Tx;
    redeem(redemptionId: string, holder: string, payTo: string, amount: bigint, overrides?: Overrides): Tx;
    pauseNonCritical(overrides?: Overrides): Tx;
    resumeNonCritical(overrides?: Overrides): Tx;
    pause(overrides?: Overrides): Tx;
    unpause(overrides?: Overrides): Tx;
    setMinCollateralRatio(ratio: bigint, overrides?: Overrides): Tx;
    setMaxPriceAgeSeconds(seconds: bigint, overrides?: Overrides): Tx;
  };

/** Contract name (as in contracts/<Name>.sol) to its typed handle. */
export interface LabContracts {
  MockUSDC: MockUsdcContract;
  Stablecoin: StablecoinContract;
  PriceFeed: PriceFeedContract;
  SequencerUptimeFeed: SequencerUptimeFeedContract;
  CollateralVault: CollateralVaultContract;
}

export type ContractName = keyof LabContracts;

export interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
  iface: Interface;
}

const artifacts = new Map<string, Artifact>();

/** Reads `artifacts/contracts/<name>.sol/<name>.json` of the compiled contracts (cached). */
export function loadArtifact(name: ContractName): Artifact {
  const cached = artifacts.get(name);
  if (cached) return cached;
  const path = join(ARTIFACTS_DIR, `${name}.sol`, `${name}.json`);
  let parsed: { abi: InterfaceAbi; bytecode: string };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as { abi: InterfaceAbi; bytecode: string };
  } catch (error) {
    throw labError(
      "contracts",
      `the compiled contract ${name} is missing (${(error as Error).message}); run \`npm run setup\` to compile`,
    );
  }
  const artifact = { abi: parsed.abi, bytecode: parsed.bytecode, iface: new Interface(parsed.abi) };
  artifacts.set(name, artifact);
  return artifact;
}

/** A typed handle on the deployed contract `name` at `address`. */
export function contractAt<K extends ContractName>(
  name: K,
  address: string,
  runner: ContractRunner | null = null,
): LabContracts[K] {
  return new Contract(address, loadArtifact(name).abi, runner) as unknown as LabContracts[K];
}

/** `contract` with another runner (signer or provider), keeping its type. */
export function withRunner<T extends BaseContract>(contract: T, runner: ContractRunner): T {
  return contract.connect(runner) as T;
}
