/** The chain drops its last `depth` blocks and replaces them (anvil_reorg): instantaneous. */
import { z } from "zod";
import { chain, type FaultDefinition } from "./common.ts";

export const params = z.strictObject({
  chain,
  /** Blocks replaced. */
  depth: z.int().min(1).max(256),
});

export const reorg = {
  type: "reorg",
  params,
  window: "none",
  systems: ["chains"],
  target: (p) => `reorg:${p.chain}`,
  describe: (p) => `${p.depth}-block reorg on ${p.chain}`,
} as const satisfies FaultDefinition<typeof params>;
