/** One RPC provider of a chain fails while the chain itself goes on. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText, rpcProvider } from "./common.ts";

export const params = z.strictObject({
  chain,
  provider: rpcProvider,
  /** `refuse`: connections are refused; `timeout`: they hang. @default "refuse" */
  mode: z.enum(["refuse", "timeout"]).default("refuse"),
});

export const rpcOutage = {
  type: "rpc_outage",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} down (${p.mode === "refuse" ? "connections refused" : "requests time out"})${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
