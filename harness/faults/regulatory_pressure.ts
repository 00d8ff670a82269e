/**
 * A regulator demands an emergency report within a deadline while its endpoint degrades:
 * the stack must file it, or fall back to a manual submission, in time.
 */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../runner/duration.ts";
import { type FaultDefinition, forText } from "./common.ts";
import { latencyProblems } from "./regulator_outage.ts";

export const params = z.strictObject({
  /** @default "incident_report" */
  report: z.enum(["reserve_report", "transaction_report", "incident_report"]).default("incident_report"),
  /** Time allowed to file (or fall back), ms after parsing. */
  deadline: positiveDuration,
  /** How the endpoint degrades meanwhile. @default "refuse" */
  degrade: z.enum(["none", "refuse", "timeout", "slow"]).default("refuse"),
  /** Added to every response when `degrade` is `slow`, ms after parsing. */
  latency: positiveDuration.optional(),
});

export const regulatoryPressure = {
  type: "regulatory_pressure",
  params,
  window: "required",
  systems: ["compliance_tools", "regulator_endpoint"],
  target: () => "regulator",
  check: (p) => latencyProblems(p.degrade, p.latency, "degrade"),
  describe: (p) =>
    `${p.report.replace("_", " ")} demanded within ${formatDuration(p.deadline)}, regulator endpoint ${p.degrade === "none" ? "healthy" : p.degrade === "slow" ? `slowed by ${formatDuration(p.latency ?? 0)}` : p.degrade === "refuse" ? "refusing connections" : "timing out"}${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
