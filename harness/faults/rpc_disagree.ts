/** The providers of a chain disagree: each follows a fork of its own, so no two agree on the head's hash. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { chain, PROVIDERS, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText } from "./common.ts";
import { type ForkedProviders, forkProviders } from "./rpc-forks.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose providers disagree."),
    providers: z
      .array(rpcProvider)
      .min(2)
      .default([...PROVIDERS])
      .describe("The providers that each follow a fork of their own (at least two)."),
    depth: z
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe("Blocks back from the head where the forks leave the real chain."),
  })
  .describe(
    "The providers of a chain disagree about the latest block: each named provider follows a fork of its own from `depth` blocks back, so they give different hashes for the same height, and balances and state as of the fork point, without what happened on the chain since. With every provider named there is no majority to trust.",
  );

export const rpcDisagree = {
  type: "rpc_disagree",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}`,
  check: (p) =>
    new Set(p.providers).size !== p.providers.length
      ? [{ path: ["providers"], message: "names a provider twice" }]
      : [],
  describe: (p) =>
    `${p.providers.join(", ")} RPC providers of ${p.chain} disagree, each on a fork of its own ${p.depth} blocks deep${forText(p, formatDuration)}`,
  inject: (ctx, p): ForkedProviders => forkProviders(ctx, p.chain, p.providers, p.depth, "rpc_disagree"),
} as const satisfies FaultDefinition<typeof params>;
