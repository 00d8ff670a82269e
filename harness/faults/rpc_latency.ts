/** One RPC provider of a chain answers slowly. */
import { z } from "zod";
import { duration, formatDuration, positiveDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText, rpcProvider } from "./common.ts";

export const params = z.strictObject({
  chain,
  provider: rpcProvider,
  /** Added to every response, ms after parsing. */
  latency: positiveDuration,
  /** Random spread around `latency`, ms after parsing. @default 0 */
  jitter: duration.default(0),
});

export const rpcLatency = {
  type: "rpc_latency",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  check: (p) =>
    p.jitter > p.latency
      ? [{ path: ["jitter"], message: `must not exceed latency (${formatDuration(p.latency)})` }]
      : [],
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} slowed by ${formatDuration(p.latency)}${p.jitter > 0 ? ` ± ${formatDuration(p.jitter)}` : ""}${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
