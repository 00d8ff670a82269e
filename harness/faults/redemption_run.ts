/** A surge of redemptions through the ops gateway, spread over the fault's duration. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  /** @default "ethereum" */
  chain: chain.default("ethereum"),
  /** Redemption requests sent in all. */
  requests: z.int().min(1).max(100_000),
  /** fdUSD per request. @default 100 */
  amount: z.number().gt(0).max(1_000_000).default(100),
});

export const redemptionRun = {
  type: "redemption_run",
  params,
  window: "required",
  systems: ["redemption_engine"],
  target: (p) => `redemptions:${p.chain}`,
  describe: (p) =>
    `${p.requests} redemptions of ${p.amount} fdUSD on ${p.chain}${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
