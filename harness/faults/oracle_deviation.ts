/** One price source reports a price off the market by a fixed share, while the others stay right. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { type FaultDefinition, forText, oracleSource, pair } from "./common.ts";

export const params = z.strictObject({
  source: oracleSource,
  pair,
  /** Signed share of the market price: -0.02 reports 2% low. Between -0.9 and 10, not 0. */
  deviation: z
    .number()
    .min(-0.9)
    .max(10)
    .refine((d) => d !== 0, { message: "must not be 0: a deviation of nothing is no fault" }),
});

export const oracleDeviation = {
  type: "oracle_deviation",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => `oracle:${p.source}:${p.pair}`,
  describe: (p) =>
    `price source ${p.source} reports ${p.pair} ${(Math.abs(p.deviation) * 100).toFixed(2)}% ${p.deviation < 0 ? "low" : "high"}${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
