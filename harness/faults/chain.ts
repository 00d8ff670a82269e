/**
 * What the chain faults share: reading heads and blocks over the node's JSON-RPC, a probe
 * transaction, the on-chain feeds, and stopping and restoring a chain's mining.
 *
 * anvil (1.7) cannot re-enter its start-up "mixed" mode (a block per transaction plus a
 * block per interval) over JSON-RPC: `evm_setAutomine(true)` switches to automine alone,
 * `evm_setIntervalMining(s)` to interval mining alone, in whole seconds. When the lab owns
 * its chains' mining (its control API has `POST /mining` and reports `mining` in
 * `/state`), the faults go through it and a heal restores mixed mining exactly. Otherwise
 * they use the node: a heal restores interval mining at the chain's block time rounded up
 * to a whole second, which keeps the head advancing and mines every transaction on the
 * next block.
 */
import { FiredrillError, labError } from "../errors.ts";
import { latestRound as feedRound } from "../lab/chainlink.ts";
import { labChain } from "../lab/index.ts";
import type { ChainName } from "../names.ts";
import { poll } from "../process.ts";
import type { FaultContext } from "./context.ts";
import { labState } from "./network.ts";

export interface BlockInfo {
  number: number;
  hash: string;
  /** wei */
  baseFeePerGas: bigint | undefined;
  gasLimit: number;
  gasUsed: number;
  timestamp: number;
  transactions: TxInfo[] | string[];
}

export interface TxInfo {
  hash: string;
  from: string;
  to: string | null;
  input: string;
  value: string;
  gas: string;
}

interface RawBlock {
  number: string;
  hash: string;
  baseFeePerGas?: string;
  gasLimit: string;
  gasUsed: string;
  timestamp: string;
  transactions: TxInfo[] | string[];
}

const hexNumber = (hex: string) => Number.parseInt(hex, 16);
export const toHex = (value: number | bigint) => `0x${value.toString(16)}`;

/** The chain's head block number. */
export async function head(ctx: FaultContext, chain: ChainName): Promise<number> {
  return hexNumber(await ctx.rpc<string>(chain, "eth_blockNumber"));
}

/** A block by number (or `latest`); `full` includes the transactions. */
export async function block(
  ctx: FaultContext,
  chain: ChainName,
  at: number | "latest" | "pending",
  full = false,
): Promise<BlockInfo> {
  const raw = await ctx.rpc<RawBlock | null>(chain, "eth_getBlockByNumber", [
    typeof at === "string" ? at : toHex(at),
    full,
  ]);
  if (!raw) throw labError(chain, `no block ${at}`);
  return {
    number: hexNumber(raw.number),
    hash: raw.hash,
    baseFeePerGas: raw.baseFeePerGas === undefined ? undefined : BigInt(raw.baseFeePerGas),
    gasLimit: hexNumber(raw.gasLimit),
    gasUsed: hexNumber(raw.gasUsed),
    timestamp: hexNumber(raw.timestamp),
    transactions: raw.transactions,
  };
}

/** Waits for the first block above `after`; undefined when none comes within `timeoutMs`. */
export async function nextBlock(
  ctx: FaultContext,
  chain: ChainName,
  after: number,
  timeoutMs: number,
): Promise<BlockInfo | undefined> {
  const number = await poll(
    async () => {
      const n = await head(ctx, chain);
      return n > after ? after + 1 : undefined;
    },
    timeoutMs,
    10,
  );
  return number === undefined ? undefined : block(ctx, chain, number);
}

/** gwei with one decimal, for summaries. */
export function gwei(wei: bigint | undefined): string {
  if (wei === undefined) return "n/a";
  return `${(Number(wei) / 1e9).toFixed(wei < 10n ** 8n ? 4 : 1)} gwei`;
}

/** The account harness probes and fillers send from: the last lab user (a node dev account). */
export function fillerAccount(ctx: FaultContext): string {
  const users = ctx.lab.accounts.users;
  const last = users[users.length - 1];
  if (!last) throw new FiredrillError("FD320", "the lab has no user accounts");
  return last.address;
}

/** Sends a 0-value self-transfer signed by the node; returns its hash. */
export async function sendProbeTx(ctx: FaultContext, chain: ChainName): Promise<string> {
  const from = fillerAccount(ctx);
  return ctx.rpc<string>(chain, "eth_sendTransaction", [
    { from, to: from, value: "0x0", gas: toHex(21_000) },
  ]);
}

/** The block a transaction was mined in, or undefined while it is pending. */
export async function minedIn(
  ctx: FaultContext,
  chain: ChainName,
  hash: string,
): Promise<number | undefined> {
  const receipt = await ctx.rpc<{ blockNumber: string } | null>(chain, "eth_getTransactionReceipt", [hash]);
  return receipt ? hexNumber(receipt.blockNumber) : undefined;
}

/** Pending and queued transactions in the node's pool. */
export async function poolSize(
  ctx: FaultContext,
  chain: ChainName,
): Promise<{ pending: number; queued: number }> {
  const status = await ctx.rpc<{ pending: string; queued: string }>(chain, "txpool_status");
  return { pending: hexNumber(status.pending), queued: hexNumber(status.queued) };
}

/** Block time of the interval mining a heal restores, in whole seconds (anvil takes no less). */
export function restoredIntervalSeconds(blockTimeMs: number): number {
  return Math.max(1, Math.ceil(blockTimeMs / 1000));
}

/** How a chain mines, as the lab or the node reports it. */
export interface MiningState {
  mode: "mixed" | "interval" | "automine" | "halted";
  /** Interval of the blocks, ms (mixed and interval). */
  blockTimeMs?: number | undefined;
  /** Who mines the interval blocks: the lab's clock, or anvil itself. */
  by: "lab" | "node";
}

/** The lab's mining state for `chain`, when the lab owns its chains' mining. */
async function labMining(ctx: FaultContext, chain: ChainName): Promise<MiningState | undefined> {
  const state = (await labState(ctx)) as {
    mining?: Record<string, { mode: MiningState["mode"]; blockTimeMs?: number }>;
  };
  const mining = state.mining?.[chain];
  return mining ? { mode: mining.mode, blockTimeMs: mining.blockTimeMs, by: "lab" } : undefined;
}

/**
 * Runs `fn` with the chain's blocks held (no interval block, no block per transaction) when
 * the lab owns its mining, and gives the chain its exact mode back after, whatever `fn` did.
 * On a node the lab does not own, `fn` runs as it is.
 */
export async function withBlocksHeld<T>(
  ctx: FaultContext,
  chain: ChainName,
  fn: () => Promise<T>,
): Promise<T> {
  const before = await labMining(ctx, chain);
  if (!before || before.mode === "halted") return fn();
  await ctx.control("/mining", { chain, mode: "halted" });
  try {
    return await fn();
  } finally {
    await ctx.control("/mining", { chain, mode: before.mode, blockTimeMs: before.blockTimeMs });
  }
}

/** How `chain` mines now. */
export async function miningState(ctx: FaultContext, chain: ChainName): Promise<MiningState> {
  const lab = await labMining(ctx, chain);
  if (lab) return lab;
  const seconds = await ctx.rpc<number | null>(chain, "anvil_getIntervalMining");
  const automine = await ctx.rpc<boolean>(chain, "anvil_getAutomine");
  // anvil reports neither automine nor an interval in mixed mode, as when halted: the
  // difference only shows in blocks.
  if (seconds) return { mode: "interval", blockTimeMs: seconds * 1000, by: "node" };
  return { mode: automine ? "automine" : "halted", by: "node" };
}

/** Stops every block: no interval blocks, no block per transaction. */
export async function stopMining(ctx: FaultContext, chain: ChainName): Promise<MiningState> {
  if (await labMining(ctx, chain)) {
    await ctx.control("/mining", { chain, mode: "halted" });
  } else {
    await ctx.rpc(chain, "evm_setAutomine", [false]);
    await ctx.rpc(chain, "evm_setIntervalMining", [0]);
  }
  return miningState(ctx, chain);
}

/**
 * Mines a block every `blockTimeMs` only: transactions wait for the next block. Through
 * the node, the interval is rounded up to whole seconds. Returns the interval set, ms.
 */
export async function intervalMining(
  ctx: FaultContext,
  chain: ChainName,
  blockTimeMs: number,
): Promise<number> {
  if (await labMining(ctx, chain)) {
    const ms = Math.max(100, Math.round(blockTimeMs));
    await ctx.control("/mining", { chain, mode: "interval", blockTimeMs: ms });
    return ms;
  }
  const seconds = restoredIntervalSeconds(blockTimeMs);
  await ctx.rpc(chain, "evm_setIntervalMining", [seconds]);
  return seconds * 1000;
}

/** Restores the chain's mining as closely as the lab allows (see the module comment). */
export async function restoreMining(
  ctx: FaultContext,
  chain: ChainName,
): Promise<MiningState & { blockTimeMs: number }> {
  if (await labMining(ctx, chain)) {
    await ctx.control("/mining", { chain, mode: "mixed" });
  } else {
    await ctx.rpc(chain, "evm_setIntervalMining", [
      restoredIntervalSeconds(labChain(ctx.lab, chain).blockTimeMs),
    ]);
  }
  const state = await miningState(ctx, chain);
  return { ...state, blockTimeMs: state.blockTimeMs ?? labChain(ctx.lab, chain).blockTimeMs };
}

/** Evidence that a chain mines again: the head advances twice and a probe transaction is mined. */
export async function proveMining(
  ctx: FaultContext,
  chain: ChainName,
  timeoutMs: number,
): Promise<{ ok: boolean; from: number; to: number; probeTx: string; probeMinedIn: number | undefined }> {
  const from = await head(ctx, chain);
  const probeTx = await sendProbeTx(ctx, chain);
  const probeMinedIn = await poll(() => minedIn(ctx, chain, probeTx), timeoutMs, 25);
  const to =
    (await poll(
      async () => {
        const n = await head(ctx, chain);
        return n >= from + 2 ? n : undefined;
      },
      timeoutMs,
      25,
    )) ?? (await head(ctx, chain));
  return { ok: probeMinedIn !== undefined && to >= from + 2, from, to, probeTx, probeMinedIn };
}

/** `latestRoundData()` of an AggregatorV3 feed: round, answer, updatedAt (unix s). */
export async function latestRound(
  ctx: FaultContext,
  chain: ChainName,
  feed: string,
): Promise<{ roundId: bigint; answer: bigint; updatedAt: number }> {
  const round = await feedRound((method, params) => ctx.rpc(chain, method, params), feed);
  return { roundId: round.roundId, answer: round.answer, updatedAt: Number(round.updatedAt) };
}
