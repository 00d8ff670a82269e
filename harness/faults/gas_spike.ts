/** The chain's base fee jumps to `gwei`, re-applied every block since the base fee decays on its own. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { labChain } from "../lab/index.ts";
import { chain } from "../names.ts";
import { sleep } from "../process.ts";
import { type BlockInfo, block, gwei, head, nextBlock, toHex } from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";

/**
 * How often the holding loop looks for a new block: a tenth of the chain's block time, so
 * that the fee is set again early in the block after each one, and at most 50 ms, for a block
 * mined early by a transaction.
 */
const pollMs = (blockTimeMs: number) => Math.max(10, Math.min(50, blockTimeMs / 10));

/** How many times the heal sets the original fee before it gives up on a block carrying it. */
const HEAL_ATTEMPTS = 3;

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose base fee spikes."),
    gwei: z.number().gt(0).max(100_000).describe("Base fee to hold, in gwei."),
  })
  .describe(
    "The chain's base fee jumps to `gwei`, re-applied every block since the base fee decays on its own.",
  );

export const gasSpike = {
  type: "gas_spike",
  params,
  window: "required",
  systems: ["chains"],
  target: (p) => `gas:${p.chain}`,
  describe: (p) => `base fee on ${p.chain} held at ${p.gwei} gwei${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const c = p.chain;
    const target = BigInt(Math.round(p.gwei * 1e9));
    const start = await block(ctx, c, "latest");
    const blockTimeMs = labChain(ctx.lab, c).blockTimeMs;
    // The base fee decays by up to 12.5% a block, so it is set again for every next block,
    // until the heal or the run's interruption stops the loop.
    const stop = new AbortController();
    const stopped = AbortSignal.any([stop.signal, ctx.signal]);
    let applied = 0;
    let errors = 0;
    await ctx.rpc(c, "anvil_setNextBlockBaseFeePerGas", [toHex(target)]);
    const loop = (async () => {
      let seen = start.number;
      while (!stopped.aborted) {
        try {
          const n = await head(ctx, c);
          if (n !== seen && !stopped.aborted) {
            await ctx.rpc(c, "anvil_setNextBlockBaseFeePerGas", [toHex(target)]);
            seen = n;
            applied += 1;
          }
        } catch (error) {
          if (errors++ === 0) ctx.log(`gas_spike on ${c}: ${(error as Error).message}`);
        }
        await sleep(pollMs(blockTimeMs), stopped);
      }
    })();
    // The next block (or, after a race with the loop, one of the two after it) carries the fee.
    let held: BlockInfo | undefined;
    let last = start.number;
    for (let i = 0; i < 3 && !held; i++) {
      const next = await nextBlock(ctx, c, last, blockTimeMs * 3 + 2_000);
      if (!next) break;
      last = next.number;
      if (next.baseFeePerGas === target) held = next;
    }
    return {
      proof: proof(
        held !== undefined,
        held
          ? `block ${held.number} on ${c} has base fee ${gwei(held.baseFeePerGas)} (${gwei(start.baseFeePerGas)} before)`
          : `no block on ${c} carried ${gwei(target)} (last seen ${last})`,
        {
          chain: c,
          targetWei: target.toString(),
          beforeWei: start.baseFeePerGas?.toString(),
          block: held?.number,
          baseFeeWei: held?.baseFeePerGas?.toString(),
        },
      ),
      heal: healOnce(async () => {
        stop.abort();
        await loop;
        const original = start.baseFeePerGas ?? 0n;
        // Equal to the original, or one block's decay below it.
        const isHealed = (fee: bigint | undefined) =>
          fee !== undefined && fee <= original && fee * 8n >= original * 7n - 8n;
        // A fee set while the node mines a block can be overwritten by the fee that block
        // computes for its successor: set it again until a block carries it.
        let next: BlockInfo | undefined;
        let attempts = 0;
        while (attempts < HEAL_ATTEMPTS && !isHealed(next?.baseFeePerGas)) {
          attempts += 1;
          await ctx.rpc(c, "anvil_setNextBlockBaseFeePerGas", [toHex(original)]);
          next = await nextBlock(ctx, c, await head(ctx, c), blockTimeMs * 3 + 2_000);
        }
        const fee = next?.baseFeePerGas;
        return proof(
          isHealed(fee),
          `block ${next?.number ?? "?"} on ${c} has base fee ${gwei(fee)} again (${gwei(original)} before the spike; held for ${applied} blocks${attempts > 1 ? `; set ${attempts} times` : ""})`,
          {
            chain: c,
            block: next?.number,
            baseFeeWei: fee?.toString(),
            originalWei: original.toString(),
            blocksHeld: applied,
            attempts,
          },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
