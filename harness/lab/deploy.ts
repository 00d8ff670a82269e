/**
 * Deploys the contract set (MockUSDC, fdUSD, the price feeds, the collateral vault and, on
 * an L2, the sequencer uptime feed) to a running chain over plain JSON-RPC, from the
 * compiled artifacts: no Hardhat runtime at lab time.
 *
 * Speed: every transaction is signed locally up front, with an explicit nonce and gas limit
 * (no estimation round trips), and sent in one JSON-RPC batch per phase; a phase's receipts
 * are then polled in one batch. Phases exist only where one sender depends on another's
 * effect (a role grant before the keeper transmits, collateral and prices before the
 * operator mints), so the whole deploy costs a handful of round trips.
 */
import {
  getCreateAddress,
  HDNodeWallet,
  id,
  keccak256,
  MaxUint256,
  Mnemonic,
  parseUnits,
  Wallet,
} from "ethers";
import { FiredrillError, labError } from "../errors.ts";
import { sleep } from "../process.ts";
import { type Artifact, loadArtifact } from "./contracts.ts";

/** An externally owned account of the lab. */
export interface LabAccount {
  address: string;
  privateKey: string;
}

/** The lab's accounts, by the part each plays. */
export interface LabAccounts {
  /** Admin of every contract and owner of MockUSDC. */
  deployer: LabAccount;
  /** Holds OPERATOR_ROLE on the vault (the ops gateway). */
  operator: LabAccount;
  /** Holds GUARDIAN_ROLE on the vault. */
  guardian: LabAccount;
  /** Holds TRANSMITTER_ROLE on the feeds. */
  keeper: LabAccount;
  /** Provides the vault's USDC collateral. */
  treasury: LabAccount;
  /** fdUSD holders; each has approved the vault for redemptions. */
  users: LabAccount[];
}

/** Addresses of the deployed contracts of one chain. */
export interface ChainContracts {
  stablecoin: string;
  vault: string;
  usdc: string;
  ethUsdFeed: string;
  usdcUsdFeed: string;
  /** Only when deployed with `withSequencerFeed` (a chain lab.yml gives `sequencer_feed: true`; arbitrum in the embedded lab). */
  sequencerUptimeFeed?: string;
}

export interface DeployOptions {
  /** Initial ETH/USD answer, in USD. */
  ethUsd: number;
  /** Initial USDC/USD answer, in USD. */
  usdcUsd: number;
  /** Minimum collateral ratio as a plain number, e.g. 1.5 for 150%. */
  minCollateralRatio: number;
  /** A mint reverts when a feed answer is older than this. */
  maxPriceAgeSeconds: number;
  /** Deploy the L2 sequencer uptime feed too. */
  withSequencerFeed: boolean;
  /** USDC (6 decimals) the treasury deposits into the vault. */
  initialCollateralUsdc: bigint;
  /** ETH (wei) the treasury deposits into the vault, so that an ETH crash moves the ratio. @default 0n */
  initialCollateralEth?: bigint;
  /** fdUSD (18 decimals) minted through the operator, split evenly across the users. */
  initialSupply: bigint;
}

/** anvil's default mnemonic: its accounts are funded with 10,000 ETH each. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/** USDC the treasury keeps besides the deposit, for rebalancing (6 decimals): 10M USDC. */
export const TREASURY_RESERVE_USDC = 10_000_000n * 10n ** 6n;
/** USDC given to each user (6 decimals): 1M USDC. */
export const USER_USDC = 1_000_000n * 10n ** 6n;
/** Decimals of the lab's USD price feeds, as Chainlink's. */
export const FEED_DECIMALS = 8;

const DEPLOY_GAS = 5_000_000n;
const CALL_GAS = 300_000n;
const RECEIPT_TIMEOUT_MS = 30_000;
const RPC_TIMEOUT_MS = 15_000;

let cachedAccounts: LabAccounts | undefined;

/**
 * The lab's accounts from anvil's default mnemonic: index 0 deployer, 1 operator,
 * 2 guardian, 3 keeper, 4 treasury, 5-9 users.
 */
export function labAccounts(): LabAccounts {
  if (!cachedAccounts) {
    const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), "m/44'/60'/0'/0");
    const at = (index: number): LabAccount => {
      const wallet = root.deriveChild(index);
      return { address: wallet.address, privateKey: wallet.privateKey };
    };
    cachedAccounts = {
      deployer: at(0),
      operator: at(1),
      guardian: at(2),
      keeper: at(3),
      treasury: at(4),
      users: [5, 6, 7, 8, 9].map(at),
    };
  }
  return structuredClone(cachedAccounts);
}

/** A plain number as a fixed-point bigint with `decimals` places (no binary float noise). */
export function toUnits(value: number, decimals: number): bigint {
  if (!Number.isFinite(value)) throw labError("deploy", `not a finite number: ${value}`);
  let text = String(value);
  if (/e/i.test(text)) text = value.toFixed(Math.min(decimals, 100));
  const [whole = "0", fraction = ""] = text.split(".");
  return parseUnits(fraction ? `${whole}.${fraction.slice(0, decimals)}` : whole, decimals);
}

interface JsonRpcResponse {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** A minimal JSON-RPC client: one HTTP request per call or per batch. */
class Rpc {
  readonly url: string;
  private nextId = 1;
  constructor(url: string) {
    this.url = url;
  }

  /** Sends `calls` as one batch; throws on the first failed call. */
  async batch<T>(calls: Array<{ method: string; params: unknown[] }>): Promise<T[]> {
    const settled = await this.batchSettled<T>(calls);
    return settled.map((outcome, i) => {
      if ("error" in outcome) throw labError("deploy", `${calls[i]?.method} failed: ${outcome.error}`);
      return outcome.result;
    });
  }

  /** Sends `calls` as one batch; every call's result or error message, in order. */
  async batchSettled<T>(
    calls: Array<{ method: string; params: unknown[] }>,
  ): Promise<Array<{ result: T } | { error: string }>> {
    if (calls.length === 0) return [];
    const body = calls.map((c) => ({
      jsonrpc: "2.0",
      id: this.nextId++,
      method: c.method,
      params: c.params,
    }));
    let responses: JsonRpcResponse[];
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
      });
      if (!res.ok) throw new FiredrillError("FD300", `HTTP ${res.status}`);
      const json = (await res.json()) as JsonRpcResponse[] | JsonRpcResponse;
      responses = Array.isArray(json) ? json : [json];
    } catch (error) {
      throw labError(
        "deploy",
        `JSON-RPC ${calls[0]?.method} to ${this.url} failed: ${(error as Error).message}`,
      );
    }
    const byId = new Map(responses.map((r) => [r.id, r]));
    return body.map((request) => {
      const response = byId.get(request.id);
      if (!response) return { error: "no answer" };
      if (response.error) return { error: response.error.message };
      return { result: response.result as T };
    });
  }
}

interface FeeFields {
  chainId: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** One sender with a local nonce counter. */
class Sender {
  readonly wallet: Wallet;
  nonce: number;
  constructor(account: LabAccount, nonce: number) {
    this.wallet = new Wallet(account.privateKey);
    this.nonce = nonce;
  }
}

interface Step {
  what: string;
  raw: string;
  hash: string;
}

async function sign(
  sender: Sender,
  fees: FeeFields,
  what: string,
  tx: { to?: string; data: string; gasLimit: bigint; value?: bigint },
): Promise<Step> {
  const raw = await sender.wallet.signTransaction({
    type: 2,
    chainId: fees.chainId,
    nonce: sender.nonce++,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    gasLimit: tx.gasLimit,
    to: tx.to ?? null,
    data: tx.data,
    value: tx.value ?? 0n,
  });
  // The hash of a signed transaction is keccak256 of its raw bytes.
  return { what, raw, hash: keccak256(raw) };
}

interface Receipt {
  status: string;
  transactionHash: string;
  contractAddress: string | null;
}

/** Sends one phase in a single batch and waits until every transaction of it is mined and succeeded. */
async function runPhase(rpc: Rpc, steps: Step[]): Promise<void> {
  if (steps.length === 0) return;
  const sent = await rpc.batchSettled<string>(
    steps.map((s) => ({ method: "eth_sendRawTransaction", params: [s.raw] })),
  );
  for (const [i, outcome] of sent.entries()) {
    const step = steps[i]!;
    if ("error" in outcome) throw labError("deploy", `${step.what} was not accepted: ${outcome.error}`);
    step.hash = outcome.result;
  }
  const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
  let pending = steps;
  let delayMs = 1;
  for (;;) {
    const receipts = await rpc.batch<Receipt | null>(
      pending.map((s) => ({ method: "eth_getTransactionReceipt", params: [s.hash] })),
    );
    const next: Step[] = [];
    for (const [i, receipt] of receipts.entries()) {
      const step = pending[i]!;
      if (!receipt) next.push(step);
      else if (receipt.status !== "0x1") throw labError("deploy", `${step.what} reverted (tx ${step.hash})`);
    }
    if (next.length === 0) return;
    if (Date.now() > deadline) {
      throw labError(
        "deploy",
        `${next.length} transaction(s) not mined within ${RECEIPT_TIMEOUT_MS} ms, first: ${next[0]!.what}; is the chain mining?`,
      );
    }
    pending = next;
    await sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 50);
  }
}

/**
 * Deploys the whole contract set to the chain at `rpcUrl`, grants the roles, funds the
 * treasury and users with USDC, deposits the initial collateral, publishes the initial
 * prices and mints the initial fdUSD supply to the users through the operator. Each user
 * has approved the vault for unlimited fdUSD afterwards. Returns the contract addresses.
 */
export async function deployStack(
  rpcUrl: string,
  accounts: LabAccounts,
  options: DeployOptions,
): Promise<ChainContracts> {
  const units = checkDeployOptions(accounts, options);
  const rpc = new Rpc(rpcUrl);
  const senders = await openSenders(rpc, accounts);
  const art = {
    usdc: loadArtifact("MockUSDC"),
    stablecoin: loadArtifact("Stablecoin"),
    feed: loadArtifact("PriceFeed"),
    sequencer: loadArtifact("SequencerUptimeFeed"),
    vault: loadArtifact("CollateralVault"),
  };
  const { steps: phase1, deployed } = await deployerPhase(senders, art, accounts, options, units);
  const phase2 = await fundingPhase(senders, art, deployed, options, units);
  const phase3 = await supplyPhase(senders, art, deployed, accounts.users, options);

  await runPhase(rpc, phase1);
  await runPhase(rpc, phase2);
  await runPhase(rpc, phase3);

  const contracts: ChainContracts = {
    stablecoin: deployed.stablecoin,
    vault: deployed.vault,
    usdc: deployed.usdc,
    ethUsdFeed: deployed.ethUsdFeed,
    usdcUsdFeed: deployed.usdcUsdFeed,
  };
  if (deployed.sequencerUptimeFeed) contracts.sequencerUptimeFeed = deployed.sequencerUptimeFeed;
  return contracts;
}

/** The options in the contracts' units: the minimum ratio (18 decimals) and the prices (feed decimals). */
interface DeployUnits {
  minRatio: bigint;
  usdcPrice: bigint;
  ethPrice: bigint;
}

/** Refuses options the contracts would refuse, or that leave the supply under-collateralised. */
function checkDeployOptions(accounts: LabAccounts, options: DeployOptions): DeployUnits {
  if (accounts.users.length === 0) throw labError("deploy", "at least one user account is needed");
  if (options.initialCollateralUsdc < 0n || options.initialSupply < 0n) {
    throw labError("deploy", "initial collateral and supply must not be negative");
  }
  if (!(options.ethUsd > 0) || !(options.usdcUsd > 0)) {
    throw labError(
      "deploy",
      `initial prices must be positive (ETH/USD ${options.ethUsd}, USDC/USD ${options.usdcUsd})`,
    );
  }
  if (!(options.minCollateralRatio >= 1)) {
    throw labError(
      "deploy",
      `the minimum collateral ratio must be at least 1, got ${options.minCollateralRatio}`,
    );
  }
  if (!Number.isSafeInteger(options.maxPriceAgeSeconds) || options.maxPriceAgeSeconds <= 0) {
    throw labError(
      "deploy",
      `maxPriceAgeSeconds must be a positive integer, got ${options.maxPriceAgeSeconds}`,
    );
  }
  const minRatio = toUnits(options.minCollateralRatio, 18);
  const usdcPrice = toUnits(options.usdcUsd, FEED_DECIMALS);
  const ethPrice = toUnits(options.ethUsd, FEED_DECIMALS);
  if (options.initialSupply > 0n) {
    const eth = options.initialCollateralEth ?? 0n;
    const valueWad =
      (options.initialCollateralUsdc * 10n ** 12n * usdcPrice + eth * ethPrice) /
      10n ** BigInt(FEED_DECIMALS);
    const ratio = (valueWad * 10n ** 18n) / options.initialSupply;
    if (ratio < minRatio) {
      throw labError(
        "deploy",
        `initial collateral backs the initial supply at ratio ${Number(ratio) / 1e18}, below the minimum ${options.minCollateralRatio}`,
      );
    }
  }
  return { minRatio, usdcPrice, ethPrice };
}

/** Every sender of the deploy, each with its pending nonce, and the fee fields they sign with. */
interface Senders {
  fees: FeeFields;
  deployer: Sender;
  operator: Sender;
  keeper: Sender;
  treasury: Sender;
  users: Sender[];
}

/** Reads the chain id, the base fee and every sender's nonce in one batch. */
async function openSenders(rpc: Rpc, accounts: LabAccounts): Promise<Senders> {
  const { users } = accounts;
  const all = [accounts.deployer, accounts.operator, accounts.keeper, accounts.treasury, ...users];
  const [chainIdHex, block, ...nonces] = await rpc.batch<unknown>([
    { method: "eth_chainId", params: [] },
    { method: "eth_getBlockByNumber", params: ["latest", false] },
    ...all.map((a) => ({ method: "eth_getTransactionCount", params: [a.address, "pending"] })),
  ]);
  const baseFee = BigInt((block as { baseFeePerGas?: string } | null)?.baseFeePerGas ?? "0x3b9aca00");
  const tip = 1_000_000_000n;
  const fees: FeeFields = {
    chainId: BigInt(chainIdHex as string),
    maxPriorityFeePerGas: tip,
    maxFeePerGas: baseFee * 3n + tip,
  };
  const nonceOf = (i: number) => Number(BigInt(nonces[i] as string));
  return {
    fees,
    deployer: new Sender(accounts.deployer, nonceOf(0)),
    operator: new Sender(accounts.operator, nonceOf(1)),
    keeper: new Sender(accounts.keeper, nonceOf(2)),
    treasury: new Sender(accounts.treasury, nonceOf(3)),
    users: users.map((u, i) => new Sender(u, nonceOf(4 + i))),
  };
}

type Artifacts = Record<"usdc" | "stablecoin" | "feed" | "sequencer" | "vault", Artifact>;

/** A signed call of `fn` on the contract at `to`. */
function call(
  sender: Sender,
  fees: FeeFields,
  what: string,
  artifact: Artifact,
  to: string,
  fn: string,
  args: unknown[],
): Promise<Step> {
  return sign(sender, fees, what, {
    to,
    data: artifact.iface.encodeFunctionData(fn, args),
    gasLimit: CALL_GAS,
  });
}

/** Phase 1, the deployer alone: contracts, roles, USDC. */
async function deployerPhase(
  senders: Senders,
  art: Artifacts,
  accounts: LabAccounts,
  options: DeployOptions,
  units: DeployUnits,
): Promise<{ steps: Step[]; deployed: ChainContracts }> {
  const { deployer, fees } = senders;
  const deploy = async (what: string, artifact: Artifact, args: unknown[]) => {
    const address = getCreateAddress({ from: accounts.deployer.address, nonce: deployer.nonce });
    const data = artifact.bytecode + artifact.iface.encodeDeploy(args).slice(2);
    const step = await sign(deployer, fees, `deploy ${what}`, { data, gasLimit: DEPLOY_GAS });
    return { address, step };
  };
  const grant = (what: string, artifact: Artifact, to: string, args: unknown[]) =>
    call(deployer, fees, what, artifact, to, "grantRole", args);
  const admin = accounts.deployer.address;
  const usdc = await deploy("MockUSDC", art.usdc, [admin]);
  const stablecoin = await deploy("Stablecoin", art.stablecoin, [admin]);
  const usdcFeed = await deploy("USDC/USD feed", art.feed, [FEED_DECIMALS, "USDC / USD", admin]);
  const ethFeed = await deploy("ETH/USD feed", art.feed, [FEED_DECIMALS, "ETH / USD", admin]);
  const sequencer = options.withSequencerFeed
    ? await deploy("sequencer uptime feed", art.sequencer, [admin])
    : undefined;
  const vault = await deploy("CollateralVault", art.vault, [
    admin,
    stablecoin.address,
    usdc.address,
    usdcFeed.address,
    ethFeed.address,
    units.minRatio,
    BigInt(options.maxPriceAgeSeconds),
  ]);
  const role = (name: string) => id(name);
  const steps: Step[] = [usdc.step, stablecoin.step, usdcFeed.step, ethFeed.step];
  if (sequencer) steps.push(sequencer.step);
  steps.push(
    vault.step,
    await grant("grant VAULT_ROLE", art.stablecoin, stablecoin.address, [role("VAULT_ROLE"), vault.address]),
    await grant("grant OPERATOR_ROLE", art.vault, vault.address, [
      role("OPERATOR_ROLE"),
      accounts.operator.address,
    ]),
    await grant("grant GUARDIAN_ROLE", art.vault, vault.address, [
      role("GUARDIAN_ROLE"),
      accounts.guardian.address,
    ]),
  );
  for (const feed of [usdcFeed, ethFeed, ...(sequencer ? [sequencer] : [])]) {
    steps.push(
      await grant("grant TRANSMITTER_ROLE", art.feed, feed.address, [
        role("TRANSMITTER_ROLE"),
        accounts.keeper.address,
      ]),
    );
  }
  steps.push(
    await call(deployer, fees, "mint USDC to the treasury", art.usdc, usdc.address, "mint", [
      accounts.treasury.address,
      options.initialCollateralUsdc + TREASURY_RESERVE_USDC,
    ]),
  );
  for (const user of accounts.users) {
    steps.push(
      await call(deployer, fees, "mint USDC to a user", art.usdc, usdc.address, "mint", [
        user.address,
        USER_USDC,
      ]),
    );
  }
  const deployed: ChainContracts = {
    stablecoin: stablecoin.address,
    vault: vault.address,
    usdc: usdc.address,
    ethUsdFeed: ethFeed.address,
    usdcUsdFeed: usdcFeed.address,
  };
  if (sequencer) deployed.sequencerUptimeFeed = sequencer.address;
  return { steps, deployed };
}

/** Phase 2, independent senders: prices, collateral, approvals. */
async function fundingPhase(
  senders: Senders,
  art: Artifacts,
  deployed: ChainContracts,
  options: DeployOptions,
  units: DeployUnits,
): Promise<Step[]> {
  const { keeper, treasury, fees } = senders;
  const steps: Step[] = [
    await call(keeper, fees, "transmit USDC/USD", art.feed, deployed.usdcUsdFeed, "transmit", [
      units.usdcPrice,
    ]),
    await call(keeper, fees, "transmit ETH/USD", art.feed, deployed.ethUsdFeed, "transmit", [units.ethPrice]),
  ];
  if (options.initialCollateralUsdc > 0n) {
    steps.push(
      await call(treasury, fees, "approve USDC", art.usdc, deployed.usdc, "approve", [
        deployed.vault,
        MaxUint256,
      ]),
      await call(treasury, fees, "deposit collateral", art.vault, deployed.vault, "depositCollateral", [
        options.initialCollateralUsdc,
      ]),
    );
  }
  if ((options.initialCollateralEth ?? 0n) > 0n) {
    steps.push(
      await sign(treasury, fees, "deposit ETH collateral", {
        to: deployed.vault,
        data: art.vault.iface.encodeFunctionData("depositEth", []),
        gasLimit: CALL_GAS,
        value: options.initialCollateralEth ?? 0n,
      }),
    );
  }
  for (const sender of senders.users) {
    steps.push(
      await call(sender, fees, "approve fdUSD", art.stablecoin, deployed.stablecoin, "approve", [
        deployed.vault,
        MaxUint256,
      ]),
    );
  }
  return steps;
}

/** Phase 3, the operator: the initial supply, split evenly across the users (the first takes the rest). */
async function supplyPhase(
  senders: Senders,
  art: Artifacts,
  deployed: ChainContracts,
  users: LabAccount[],
  options: DeployOptions,
): Promise<Step[]> {
  const steps: Step[] = [];
  if (options.initialSupply > 0n) {
    const share = options.initialSupply / BigInt(users.length);
    const rest = options.initialSupply - share * BigInt(users.length);
    for (const [i, user] of users.entries()) {
      const amount = i === 0 ? share + rest : share;
      if (amount === 0n) continue;
      steps.push(
        await call(
          senders.operator,
          senders.fees,
          "mint the initial fdUSD",
          art.vault,
          deployed.vault,
          "mint",
          [id(`firedrill/initial-mint/${i}`), user.address, amount],
        ),
      );
    }
  }
  return steps;
}
