/** A price source stops answering: its proxy refuses connections, or holds them until they time out. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { type FaultDefinition, forText, oracleSource } from "./common.ts";

export const params = z.strictObject({
  source: oracleSource,
  /** `refuse`: connections are refused; `timeout`: they hang and no answer comes. @default "refuse" */
  mode: z.enum(["refuse", "timeout"]).default("refuse"),
});

export const oracleOutage = {
  type: "oracle_outage",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => `oracle:${p.source}`,
  describe: (p) =>
    `price source ${p.source} unreachable (${p.mode === "refuse" ? "connections refused" : "requests time out"})${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
