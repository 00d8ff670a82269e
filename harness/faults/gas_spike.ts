/** The chain's base fee jumps to `gwei`, re-applied every block since the base fee decays on its own. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  chain,
  /** Base fee to hold, in gwei. */
  gwei: z.number().gt(0).max(100_000),
});

export const gasSpike = {
  type: "gas_spike",
  params,
  window: "required",
  systems: ["chains"],
  target: (p) => `gas:${p.chain}`,
  describe: (p) => `base fee on ${p.chain} held at ${p.gwei} gwei${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
