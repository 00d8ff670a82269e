/** One RPC provider follows a diverged chain: a fork of its own from some blocks back, consistent with itself. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { chain, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText } from "./common.ts";
import { type ForkedProviders, forkProviders } from "./rpc-forks.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider goes its own way."),
    provider: rpcProvider.describe("The RPC provider on the wrong fork."),
    depth: z
      .int()
      .min(1)
      .max(64)
      .default(6)
      .describe("Blocks back from the head where the provider's chain leaves the real one."),
  })
  .describe(
    "One RPC provider follows a diverged chain, as a provider whose nodes ran a client that took the other side of a chain split: from `depth` blocks back, its blocks, hashes, balances, calls and logs are its own fork's, mined at the chain's pace, and none of what happens on the real chain after the fork point. It answers fast and at the right height.",
  );

export const rpcWrongFork = {
  type: "rpc_wrong_fork",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} on a fork ${p.depth} blocks deep${forText(p, formatDuration)}`,
  inject: (ctx, p): ForkedProviders => forkProviders(ctx, p.chain, [p.provider], p.depth, "rpc_wrong_fork"),
} as const satisfies FaultDefinition<typeof params>;
