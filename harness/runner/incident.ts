/**
 * The BCP's incident alert template, filled in from a run, and the remediation plan an
 * auditor expects next to it.
 */
import { formatDuration } from "../duration.ts";
import type { Journal, TimelineEvent, Verdict } from "./journal.ts";
import type { Scenario } from "./scenario.ts";

type Severity = Journal["alert"]["severity"];
type Phases = Record<"detection" | "response" | "mitigation" | "recovery", number | null>;

const RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * The incident alert text (Markdown) with the most severe alert of the run.
 *
 * The checklist and the status count only alerts received at or after the first
 * injection (`firstInjectionMs`, epoch milliseconds; null when nothing was injected, and
 * then no alert counts): an alert the stack posted before the fault is not a reaction to
 * it. Phases count from the first injection already.
 */
export function incidentAlert(
  scenario: Scenario,
  timeline: readonly TimelineEvent[],
  status: Journal["status"],
  phases: Phases,
  firstInjectionMs: number | null,
): Journal["alert"] {
  const alerts = timeline.filter((e) => e.kind === "alert.received");
  const afterInjection =
    firstInjectionMs === null ? [] : alerts.filter((e) => Date.parse(e.at) >= firstInjectionMs);
  const severity = alerts.reduce<Severity>(
    (worst, e) => (e.severity && RANK[e.severity] < RANK[worst] ? e.severity : worst),
    scenario.tier === 1 ? "high" : "medium",
  );
  const first = timeline.find((e) => e.kind === "fault.injected");
  const names = new Set(afterInjection.map((e) => e.name));
  const box = (done: boolean, text: string) => `- [${done ? "x" : " "}] ${text}`;
  const current =
    phases.recovery !== null
      ? "Recovered"
      : phases.mitigation !== null
        ? "Mitigation"
        : phases.detection !== null
          ? "Investigation"
          : status === "interrupted" || status === "aborted"
            ? `Drill ${status}`
            : "Unresolved";
  const text = [
    `## INCIDENT ALERT - ${severity.toUpperCase()}`,
    `**Time**: ${first?.at ?? new Date().toISOString()}`,
    "**System**: Stablecoin Operations",
    `**Impact**: ${scenario.description ?? scenario.name} (systems: ${scenario.targets.join(", ")}; tier ${scenario.tier})`,
    `**Current Status**: ${current}`,
    "**Immediate Actions Taken**:",
    box(phases.detection !== null, "Primary systems status verified"),
    box(
      ["SECONDARY_ORACLE_ACTIVATED", "RPC_FAILOVER", "CROSS_CHAIN_FAILOVER"].some((n) => names.has(n)),
      "Secondary systems activated",
    ),
    box(afterInjection.length > 0, "Team notification sent"),
    box(
      names.has("REPORT_FILED") || names.has("REPORT_FALLBACK"),
      "Regulatory notification prepared (if required)",
    ),
    "**Next Steps**:",
    `1. Confirm root cause of ${scenario.faults.map((f) => f.type).join(", ")} (owner: on-call engineer, within 1 h)`,
    `2. Review detection ${phases.detection === null ? "gap" : `time of ${formatDuration(phases.detection)}`} against the tier ${scenario.tier} RTO (owner: SRE lead, within 1 week)`,
    "**Communication Schedule**: Updates every 30 minutes until resolved",
  ].join("\n");
  return { severity, text };
}

/** One remediation step per failed verdict, and the standing steps of every drill. */
export function remediationPlan(
  scenario: Scenario,
  verdicts: readonly Verdict[],
  seen: ReadonlySet<string>,
): Journal["remediation"] {
  const steps: Journal["remediation"] = [];
  for (const v of verdicts.filter((x) => !x.passed)) {
    const owner =
      v.kind === "invariant" ? "protocol engineering" : v.kind === "budget" ? "platform team" : "SRE on-call";
    steps.push({
      step: `Fix: ${v.name} — ${v.reason}`,
      owner,
      due: v.kind === "invariant" ? "before next release" : "within 1 week",
      done: false,
    });
  }
  if (!seen.has("REPORT_FILED") && !seen.has("REPORT_FALLBACK") && scenario.tier === 1) {
    steps.push({
      step: "Confirm the compliance reporter files an incident report for tier-1 incidents",
      owner: "compliance",
      due: "within 1 week",
      done: false,
    });
  }
  steps.push({
    step: `Re-run ${scenario.name} in next month's fire drill`,
    owner: "SRE on-call",
    due: "next drill",
    done: false,
  });
  return steps;
}
