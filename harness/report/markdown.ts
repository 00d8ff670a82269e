/** A short Markdown summary of a drill, for a pull-request comment or a CI job summary. */

import { redact } from "../redact.ts";
import { type Journal, journalPassed, redactJournal } from "../runner/journal.ts";
import { fmtMaybeMs, fmtMs, fmtValue, outcome, phaseSources } from "./format.ts";

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The verdict, the key numbers and the verdict table of one journal, in Markdown (redacted). */
export function markdownSummary(original: Journal): string {
  const j = redactJournal(original);
  const o = outcome(j);
  const icon = o.passed ? "✅" : "❌";
  const rtoMs = j.systems.rto_seconds * 1000;
  const lines = [
    `### ${icon} ${o.label}: ${j.scenario.name} (${o.sentence})`,
    "",
    `${j.scenario.description}`,
    "",
    `| MTTR | RTO applied | detection | response | mitigation | recovery |`,
    `| --- | --- | --- | --- | --- | --- |`,
    `| ${fmtMaybeMs(j.mttr_ms)} | ${fmtMs(rtoMs)} (${cell(j.systems.rto_system)}) | ${fmtMaybeMs(j.phases.detection_ms)} | ${fmtMaybeMs(j.phases.response_ms)} | ${fmtMaybeMs(j.phases.mitigation_ms)} | ${fmtMaybeMs(j.phases.recovery_ms)} |`,
    "",
    ...reachedBy(j),
    `| | verdict | limit | measured | reason |`,
    `| --- | --- | --- | --- | --- |`,
    ...j.verdicts.map(
      (v) =>
        `| ${v.passed ? "✅" : "❌"} | ${cell(v.name)} | ${cell(fmtValue(v.limit, v.unit))} | ${cell(fmtValue(v.measured, v.unit))} | ${cell(v.reason)} |`,
    ),
    "",
  ];
  if (j.load !== null) {
    lines.push(
      `| load (${cell(j.load.engine)}) | p50 | p95 | p99 | success | rps |`,
      `| --- | --- | --- | --- | --- | --- |`,
      ...j.load.scenarios.map(
        (s) =>
          `| ${cell(s.name)} | ${fmtMs(s.p50_ms)} | ${fmtMs(s.p95_ms)} | ${fmtMs(s.p99_ms)} | ${(s.success_rate * 100).toFixed(2)} % | ${s.rps.toFixed(1)} |`,
      ),
      "",
    );
  }
  lines.push(
    `Seed \`${j.seed}\`${j.start_jitter ? ` · start jitter ${fmtMs(j.start_jitter.drawn_ms)} of at most ${fmtMs(j.start_jitter.max_ms)}` : ""} · replay compression ${j.replay_compression}x · status ${j.status}${j.deviated ? " (deviated)" : ""} · journal \`${j.id}\` · sha256 \`${j.integrity.sha256.slice(0, 16)}\``,
    "",
  );
  return redact(lines.join("\n"));
}

/** `Reached by: detection RPC_FAILOVER (delivered in 19.2 s); ...`, when an alert reached a phase. */
function reachedBy(j: Journal): string[] {
  const sources = phaseSources(j);
  const parts = (["detection", "response", "mitigation"] as const).flatMap((phase) => {
    const source = sources[phase];
    if (source === undefined) return [];
    const delivery = source.deliveryMs === null ? "" : ` (delivered in ${fmtMs(source.deliveryMs)})`;
    return [`${phase} \`${source.alert}\`${delivery}`];
  });
  return parts.length === 0 ? [] : [`Reached by: ${parts.join("; ")}.`, ""];
}

/** One table row per journal, newest first, for several drills. */
export function markdownIndex(journals: readonly Journal[]): string {
  const sorted = [...journals].sort((a, b) => b.started_at.localeCompare(a.started_at));
  const ok = journals.filter(journalPassed).length;
  const lines = [
    `### Resilience drills: ${ok}/${journals.length} passed`,
    "",
    "| started (UTC) | scenario | verdict | MTTR | RTO | seed |",
    "| --- | --- | --- | --- | --- | --- |",
    ...sorted.map((j) => {
      const o = outcome(j);
      return `| ${j.started_at.slice(0, 16).replace("T", " ")} | ${cell(j.scenario.name)} | ${o.passed ? "✅" : "❌"} ${o.label} | ${fmtMaybeMs(j.mttr_ms)} | ${fmtMs(j.systems.rto_seconds * 1000)} | ${j.seed} |`;
    }),
    "",
  ];
  return redact(lines.join("\n"));
}
