/** The regulator's endpoint, where compliance reports are filed, fails or slows down. */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../runner/duration.ts";
import { type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  /** `refuse`, `timeout`, or `slow` (then `latency` is required). @default "refuse" */
  mode: z.enum(["refuse", "timeout", "slow"]).default("refuse"),
  /** Added to every response when `mode` is `slow`, ms after parsing. */
  latency: positiveDuration.optional(),
});

/** The rule shared with regulatory_pressure: `latency` goes with `slow` and only with it. */
export function latencyProblems(mode: string, latency: number | undefined, modeKey: string) {
  if (mode === "slow" && latency === undefined) {
    return [{ path: ["latency"], message: `is required when ${modeKey} is slow` }];
  }
  if (mode !== "slow" && latency !== undefined) {
    return [{ path: ["latency"], message: `only applies when ${modeKey} is slow, not ${mode}` }];
  }
  return [];
}

export const regulatorOutage = {
  type: "regulator_outage",
  params,
  window: "required",
  systems: ["regulator_endpoint"],
  target: () => "regulator",
  check: (p) => latencyProblems(p.mode, p.latency, "mode"),
  describe: (p) =>
    `regulator endpoint ${p.mode === "slow" ? `slowed by ${formatDuration(p.latency ?? 0)}` : p.mode === "refuse" ? "refusing connections" : "timing out"}${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
