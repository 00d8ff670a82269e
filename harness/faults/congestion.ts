/** A congested chain: slower blocks, a smaller block gas limit, and a flooded mempool. */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../duration.ts";
import { labChain } from "../lab/index.ts";
import { chain } from "../names.ts";
import { sleep } from "../process.ts";
import {
  block,
  fillerAccount,
  head,
  intervalMining,
  miningState,
  nextBlock,
  poolSize,
  proveMining,
  restoreMining,
  toHex,
} from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";

/** Most filler transactions one congestion sends, whatever its rate and duration. */
export const MAX_FLOOD_TXS = 5_000;
/** Longest a flood runs when the fault has no `for`, ms. */
export const MAX_FLOOD_MS = 60_000;
/** The flood sends in small batches this often, ms. */
const FLOOD_TICK_MS = 100;

export const params = z
  .strictObject({
    chain: chain.describe("The congested chain."),
    block_time: positiveDuration
      .optional()
      .describe("Time between blocks; the chain's own block time when absent."),
    gas_limit: z
      .int()
      .min(21_000)
      .max(1_000_000_000)
      .optional()
      .describe("Block gas limit; 21000 fits one plain transfer."),
    flood: z
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe(
        `Filler transactions sent per second to flood the mempool, for at most ${MAX_FLOOD_MS / 1000} s and ${MAX_FLOOD_TXS} transactions.`,
      ),
  })
  .describe(
    "A congested chain: slower blocks, a smaller block gas limit, and a flooded mempool. Needs at least one of `block_time`, `gas_limit` and `flood`; mining goes to intervals only, so that transactions wait for a block.",
  );

export const congestion = {
  type: "congestion",
  params,
  window: "required",
  systems: ["chains"],
  target: (p) => `mining:${p.chain}`,
  check: (p) =>
    p.block_time === undefined && p.gas_limit === undefined && p.flood === undefined
      ? [{ path: [], message: "needs at least one of block_time, gas_limit, flood" }]
      : [],
  describe: (p) => {
    const parts = [
      p.block_time === undefined ? undefined : `blocks every ${formatDuration(p.block_time)}`,
      p.gas_limit === undefined ? undefined : `gas limit ${p.gas_limit}`,
      p.flood === undefined ? undefined : `${p.flood} filler tx/s`,
    ].filter((x) => x !== undefined);
    return `${p.chain} congested (${parts.join(", ")})${forText(p, formatDuration)}`;
  },
  async inject(ctx, p) {
    const c = p.chain;
    const before = await block(ctx, c, "latest");
    // Transactions must wait for a block for the mempool to back up, so mining goes to
    // interval only: at block_time (anvil counts whole seconds) or the chain's own, rounded up.
    const intervalMs = await intervalMining(ctx, c, p.block_time ?? labChain(ctx.lab, c).blockTimeMs);
    if (p.gas_limit !== undefined) await ctx.rpc(c, "evm_setBlockGasLimit", [toHex(p.gas_limit)]);
    const applied = await head(ctx, c);

    const stop = new AbortController();
    const stopped = AbortSignal.any([stop.signal, ctx.signal]);
    const filler = fillerAccount(ctx);
    const flood = { sent: 0, failed: 0, limit: 0 };
    let flooding: Promise<void> = Promise.resolve();
    if (p.flood !== undefined) {
      const rate = p.flood;
      const forMs = Math.min(p.for ?? MAX_FLOOD_MS, MAX_FLOOD_MS);
      flood.limit = Math.min(MAX_FLOOD_TXS, Math.ceil((rate * forMs) / 1000));
      const endsAt = Date.now() + forMs;
      flooding = (async () => {
        const startedMs = Date.now();
        while (!stopped.aborted && flood.sent < flood.limit && Date.now() < endsAt) {
          const due = Math.min(flood.limit, Math.floor(((Date.now() - startedMs) / 1000) * rate) + 1);
          // One after another: the node numbers the nonces of the filler account.
          while (flood.sent < due && !stopped.aborted) {
            try {
              await ctx.rpc(c, "eth_sendTransaction", [
                { from: filler, to: filler, value: "0x0", gas: toHex(21_000) },
              ]);
              flood.sent += 1;
            } catch (error) {
              if (flood.failed++ === 0) ctx.log(`congestion flood on ${c}: ${(error as Error).message}`);
              flood.sent += 1; // a refused filler still counts against the bound
            }
          }
          await sleep(FLOOD_TICK_MS, stopped);
        }
      })();
    }

    // The node reports the new mining mode; the backlog is sampled until the next block (a
    // block drains what fits); the gas limit is read from that block or, when blocks are slow,
    // from the pending one. A 12 s block time is not waited out.
    const sampling = new AbortController();
    const pool = { pending: 0, queued: 0 };
    const sampler = (async () => {
      while (!sampling.signal.aborted) {
        const now = await poolSize(ctx, c).catch(() => pool);
        pool.pending = Math.max(pool.pending, now.pending);
        pool.queued = Math.max(pool.queued, now.queued);
        await sleep(50, sampling.signal);
      }
    })();
    const appliedMs = Date.now();
    const first = await nextBlock(ctx, c, applied, Math.min(intervalMs + 1_500, 4_000));
    const firstAfterMs = first ? Date.now() - appliedMs : undefined;
    sampling.abort();
    await sampler;
    const mining = await miningState(ctx, c);
    const gasLimit = (first ?? (await block(ctx, c, "pending"))).gasLimit;
    const checks = {
      interval: mining.mode === "interval" && mining.blockTimeMs === intervalMs,
      gasLimit: p.gas_limit === undefined || gasLimit === p.gas_limit,
      flood: p.flood === undefined || (flood.sent > 0 && pool.pending > 0),
    };
    const tookEffect = checks.interval && checks.gasLimit && checks.flood;
    return {
      proof: proof(
        tookEffect,
        `${c}: ${mining.mode} mining every ${mining.blockTimeMs ?? "?"} ms (next block ${first ? `${first.number} after ${firstAfterMs} ms` : "not yet"}), gas limit ${gasLimit} (${before.gasLimit} before), up to ${pool.pending} pending txs, ${flood.sent} filler txs sent`,
        {
          chain: c,
          intervalMs,
          miningState: mining,
          nextBlock: first?.number,
          nextBlockAfterMs: firstAfterMs,
          gasLimit,
          gasLimitBefore: before.gasLimit,
          pool,
          flood: { ...flood },
          checks,
        },
      ),
      heal: healOnce(async () => {
        stop.abort();
        await flooding;
        // Fillers still waiting leave the pool; what was mined stays, as on a real chain.
        await ctx.rpc(c, "anvil_removePoolTransactions", [filler]);
        if (p.gas_limit !== undefined) await ctx.rpc(c, "evm_setBlockGasLimit", [toHex(before.gasLimit)]);
        const restored = await restoreMining(ctx, c);
        const moving = await proveMining(ctx, c, restored.blockTimeMs * 3 + 2_000);
        const next = await block(ctx, c, moving.to);
        const gasBack = next.gasLimit === before.gasLimit;
        return proof(
          gasBack && moving.ok,
          `${c}: gas limit ${next.gasLimit} again, blocks ${moving.from} -> ${moving.to}, probe tx mined in ${moving.probeMinedIn ?? "none"}; ${restored.mode} mining every ${restored.blockTimeMs} ms (${flood.sent} filler txs were sent)`,
          {
            chain: c,
            gasLimit: next.gasLimit,
            gasLimitBefore: before.gasLimit,
            miningState: restored,
            mining: moving,
            flood: { ...flood },
          },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
