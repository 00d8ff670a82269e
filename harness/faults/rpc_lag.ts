/** One RPC provider answers from a head that lags the chain: blocks, calls and balances of the past. */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../duration.ts";
import { labError } from "../errors.ts";
import { MAX_REORG_DEPTH } from "../lab/anvil.ts";
import { labChain } from "../lab/index.ts";
import { type ChainName, chain, rpcProvider } from "../names.ts";
import { poll } from "../process.ts";
import { head } from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, proof } from "./context.ts";
import { addRule, nodeBlock, num, providerBlock, providerUrl, removeRule, ruleId } from "./rpc-rules.ts";

/** The furthest back a lag may reach: the lab's nodes keep the state of this many blocks. */
export const MAX_LAG_BLOCKS = MAX_REORG_DEPTH;
const MAX_BEHIND_MS = 10 * 60_000;

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider lags."),
    provider: rpcProvider.describe("The RPC provider that lags."),
    blocks: z
      .int()
      .min(1)
      .max(MAX_LAG_BLOCKS)
      .optional()
      .describe(
        `How many blocks behind the chain's head the provider answers from (at most ${MAX_LAG_BLOCKS}, the state the lab's nodes keep).`,
      ),
    behind: positiveDuration
      .optional()
      .describe(
        "Or: how far behind in the chain's own time; the provider answers from the last block whose timestamp is at least this much older than the head's (at most 10 min).",
      ),
  })
  .describe(
    "One RPC provider answers from a head that lags the chain's: `eth_blockNumber`, the latest block, and calls, balances and logs at `latest` all come from the lagged height; blocks, transactions and receipts above it are not there yet. It keeps answering, fast.",
  );

export const rpcLag = {
  type: "rpc_lag",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  check: (p) => {
    if ((p.blocks === undefined) === (p.behind === undefined))
      return [{ path: ["blocks"], message: "give exactly one of blocks and behind" }];
    if (p.behind !== undefined && p.behind > MAX_BEHIND_MS)
      return [{ path: ["behind"], message: `must be at most ${formatDuration(MAX_BEHIND_MS)}` }];
    return [];
  },
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} answers ${p.blocks !== undefined ? `${p.blocks} blocks` : formatDuration(p.behind ?? 0)} behind the head${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const proxy = `${p.chain}-${p.provider}`;
    const url = providerUrl(ctx, p.chain, p.provider);
    const id = ruleId("rpc_lag");
    if (p.blocks !== undefined) await chainAtLeast(ctx, p.chain, p.blocks);
    await addRule(
      ctx,
      proxy,
      id,
      p.blocks !== undefined
        ? { kind: "lag", blocks: p.blocks }
        : { kind: "lag", seconds: Math.round((p.behind ?? 0) / 1000) },
    );
    const heal = healOnce(async () => {
      await removeRule(ctx, proxy, id);
      // The provider's head is read between two reads of the node's: blocks mined meanwhile
      // (many, on a busy machine) are not the provider lagging.
      const first = await nodeBlock(ctx, p.chain, "latest");
      const seen = await providerBlock(url, "latest");
      const node = await nodeBlock(ctx, p.chain, "latest");
      const gap = seen === undefined ? undefined : num(first.number) - num(seen.number);
      return proof(
        gap !== undefined && gap <= 1,
        `${p.provider} of ${p.chain} at the head again: block ${seen === undefined ? "none" : num(seen.number)}, node ${num(node.number)}`,
        {
          node: num(node.number),
          provider: seen === undefined ? null : num(seen.number),
        },
      );
    });
    try {
      // The provider's head is read between two reads of the node's: it must lag the head
      // the node had then by the blocks asked, however many blocks the node mined meanwhile.
      const first = await nodeBlock(ctx, p.chain, "latest");
      const seen = await providerBlock(url, "latest");
      const node = await nodeBlock(ctx, p.chain, "latest");
      const gap = seen === undefined ? undefined : num(node.number) - num(seen.number);
      const age = seen === undefined ? undefined : num(node.timestamp) - num(seen.timestamp);
      const took =
        gap !== undefined &&
        (p.blocks !== undefined
          ? gap >= p.blocks && num(first.number) - num(seen!.number) <= p.blocks + 1
          : (age ?? 0) * 1000 >= (p.behind ?? 0));
      return {
        proof: proof(
          took,
          `${p.provider} of ${p.chain} says the head is block ${seen === undefined ? "none" : num(seen.number)}; the node is at ${num(node.number)} (${gap} blocks, ${age} s behind)`,
          {
            provider: seen === undefined ? null : num(seen.number),
            node: num(node.number),
            blocksBehind: gap,
            secondsBehind: age,
          },
        ),
        heal,
      };
    } catch (error) {
      await heal().catch(() => undefined);
      throw error;
    }
  },
} as const satisfies FaultDefinition<typeof params>;

/**
 * Waits until `chain` has at least `blocks` blocks to lag behind: a lab brought up on a busy
 * machine can be younger than that when the fault comes. Throws when it does not grow in time.
 */
export async function chainAtLeast(ctx: FaultContext, chain: ChainName, blocks: number): Promise<void> {
  let height = await head(ctx, chain);
  if (height >= blocks) return;
  const { blockTimeMs } = labChain(ctx.lab, chain);
  const grown = await poll(
    async () => {
      height = await head(ctx, chain);
      return height >= blocks ? true : undefined;
    },
    (blocks - height) * blockTimeMs * 3 + 2_000,
    Math.min(100, blockTimeMs / 2),
  );
  if (!grown)
    throw labError(
      `rpc_lag on ${chain}`,
      `a lag of ${blocks} blocks is longer than the chain (head ${height})`,
    );
}
