/** The chain drops its last `depth` blocks and replaces them (anvil_reorg): instantaneous. */
import { z } from "zod";
import { MAX_REORG_DEPTH } from "../lab/anvil.ts";
import { labChain } from "../lab/index.ts";
import { type ChainName, chain } from "../names.ts";
import { sleep } from "../process.ts";
import { type BlockInfo, block, head, proveMining, type TxInfo, toHex, withBlocksHeld } from "./chain.ts";
import { type FaultDefinition, healOnce } from "./common.ts";
import { type FaultContext, proof } from "./context.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain that reorgs."),
    depth: z.int().min(1).max(MAX_REORG_DEPTH).describe("Number of blocks replaced."),
  })
  .describe(
    "The chain drops its last `depth` blocks and replaces them, their transactions re-included (anvil_reorg). Instantaneous.",
  );

/** Reads the last `depth` blocks and reorgs them, re-including their transactions. */
async function reorgOnce(ctx: FaultContext, c: ChainName, depth: number) {
  const signers = new Set((await ctx.rpc<string[]>(c, "eth_accounts")).map((a) => a.toLowerCase()));
  const impersonated = new Set<string>();
  let top = await head(ctx, c);
  let heights: number[] = [];
  let old: BlockInfo[] = [];
  let reincluded = true;
  let reincludeError: string | undefined;
  // The last `depth` blocks up to `top`, their senders the node holds no key for
  // impersonated so that their transactions replay.
  const readBlocks = async () => {
    heights = Array.from({ length: depth }, (_, i) => top - depth + 1 + i).filter((n) => n > 0);
    old = await Promise.all(heights.map((n) => block(ctx, c, n, true)));
    for (const b of old)
      for (const tx of b.transactions as TxInfo[]) {
        const from = tx.from.toLowerCase();
        if (signers.has(from) || impersonated.has(from)) continue;
        await ctx.rpc(c, "anvil_impersonateAccount", [from]);
        impersonated.add(from);
      }
  };
  try {
    // The chain keeps mining meanwhile: read the blocks (and impersonate their senders) again
    // until the head held still, right before the reorg, so that it replaces exactly the
    // blocks read. Where the lab owns the chain's mining, its blocks are held for the last
    // look and the reorg itself (a few milliseconds): on a busy machine a block could
    // otherwise come between the two.
    for (let attempt = 0; attempt < 8; attempt++) {
      await readBlocks();
      const now = await head(ctx, c);
      if (now === top) break;
      top = now;
    }
    await withBlocksHeld(ctx, c, async () => {
      const now = await head(ctx, c);
      if (now !== top) {
        // A block came after the last look: the blocks to replace are read again, held.
        top = now;
        await readBlocks();
      }
      // The orphaned blocks' transactions go back into the new blocks at the same offsets, as
      // a real reorg returns them to the mempool: the hashes change, no transaction is lost.
      const pairs = old.flatMap((b, offset) =>
        (b.transactions as TxInfo[]).map((tx) => [
          { from: tx.from, ...(tx.to ? { to: tx.to } : {}), data: tx.input, value: tx.value, gas: tx.gas },
          offset,
        ]),
      );
      try {
        await ctx.rpc(c, "anvil_reorg", [depth, pairs]);
      } catch (error) {
        const message = (error as Error).message;
        if (/Required data unavailable|must not exceed/i.test(message)) throw error;
        // A transaction the node cannot replay must not stop the reorg itself.
        reincluded = false;
        reincludeError = message;
        await ctx.rpc(c, "anvil_reorg", [depth, []]);
      }
    });
  } finally {
    for (const account of impersonated) await ctx.rpc(c, "anvil_stopImpersonatingAccount", [account]);
  }
  return { top, heights, old, reincluded, reincludeError };
}

export const reorg = {
  type: "reorg",
  params,
  window: "none",
  systems: ["chains"],
  target: (p) => `reorg:${p.chain}`,
  describe: (p) => `${p.depth}-block reorg on ${p.chain}`,
  async inject(ctx, p) {
    const c = p.chain;
    let minedFirst = 0;
    let done: Awaited<ReturnType<typeof reorgOnce>>;
    try {
      done = await reorgOnce(ctx, c, p.depth);
    } catch (error) {
      // anvil keeps no state for blocks before a loaded deployment (nor before genesis, nor
      // before the block a fork was taken at): on a young chain, mine past them first, then reorg.
      if (!/Required data unavailable|must not exceed|Resource not found/i.test((error as Error).message))
        throw error;
      minedFirst = p.depth + 1;
      await ctx.rpc(c, "anvil_mine", [toHex(minedFirst)]);
      // A reorg is only seen by who saw the blocks it replaces: let monitors read the new head.
      await sleep(Math.max(1_000, 2 * labChain(ctx.lab, c).blockTimeMs), ctx.signal);
      done = await reorgOnce(ctx, c, p.depth);
    }
    const { top, heights, old, reincluded, reincludeError } = done;
    const fresh = await Promise.all(heights.map((n) => block(ctx, c, n, true)));
    const replaced = heights.filter((_, i) => fresh[i]!.hash !== old[i]!.hash);
    const txsBefore = old.reduce((n, b) => n + b.transactions.length, 0);
    const txsAfter = fresh.reduce((n, b) => n + b.transactions.length, 0);
    return {
      proof: proof(
        replaced.length === p.depth,
        `${replaced.length} of ${p.depth} blocks replaced on ${c} (block ${top}: ${old.at(-1)!.hash.slice(0, 10)} -> ${fresh.at(-1)!.hash.slice(0, 10)}); ${txsAfter} of ${txsBefore} transactions re-included`,
        {
          chain: c,
          heights,
          before: old.map((b) => b.hash),
          after: fresh.map((b) => b.hash),
          transactionsBefore: txsBefore,
          transactionsAfter: txsAfter,
          reincluded,
          ...(reincludeError ? { reincludeError } : {}),
          ...(minedFirst ? { minedFirst } : {}),
        },
      ),
      // Nothing to undo: the heal proves the chain goes on from the new blocks.
      heal: healOnce(async () => {
        const moving = await proveMining(ctx, c, labChain(ctx.lab, c).blockTimeMs * 3 + 3_000);
        return proof(
          moving.ok,
          `${c} goes on after the reorg: head ${moving.from} -> ${moving.to}, probe tx mined in block ${moving.probeMinedIn ?? "none"}`,
          { chain: c, mining: moving },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
