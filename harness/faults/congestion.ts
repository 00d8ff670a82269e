/** A congested chain: slower blocks, a smaller block gas limit, and a flooded mempool. */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  chain,
  /** Interval mining at this block time, ms after parsing. */
  block_time: positiveDuration.optional(),
  /** Block gas limit; 21000 fits one plain transfer. */
  gas_limit: z.int().min(21_000).max(1_000_000_000).optional(),
  /** Filler transactions sent per second to flood the mempool. */
  flood: z.int().min(1).max(10_000).optional(),
});

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
} as const satisfies FaultDefinition<typeof params>;
