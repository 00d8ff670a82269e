/** A short Markdown summary of a drill, for a pull-request comment or a CI job summary. */

import { redact } from "../redact.ts";
import { type Journal, journalPassed, redactJournal } from "../runner/journal.ts";
import {
  fmtMaybeMs,
  fmtMs,
  mdText,
  outcome,
  peopleStep,
  peopleText,
  peopleTimeline,
  phaseSources,
  ROLE_LABELS,
  tPlus,
  tPlusAt,
  verdictValue,
} from "./format.ts";

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
    ...humanTimeline(j),
    `| | verdict | limit | measured | reason |`,
    `| --- | --- | --- | --- | --- |`,
    ...j.verdicts.map((v) => {
      // A human verdict's reason names responders: their own input, kept from acting as HTML.
      const c = v.kind === "human" ? mdText : cell;
      return `| ${v.passed ? "✅" : "❌"} | ${c(v.name)} | ${c(verdictValue(v, "limit"))} | ${c(verdictValue(v, "measured"))} | ${c(v.reason)} |`;
    }),
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

/**
 * A GameDay's people: the team, the pages and the responders' steps in time order, and the
 * human verdicts. Nothing for a drill without people.
 */
function humanTimeline(j: Journal): string[] {
  const g = j.gameday;
  if (g === undefined) return [];
  const team =
    g.team.length === 0
      ? "nobody"
      : g.team.map((m) => `${mdText(m.name)} (${ROLE_LABELS[m.role]})`).join(", ");
  const paged = g.paged_at === null ? "nobody was paged" : `paged at ${tPlusAt(j, g.paged_at) ?? g.paged_at}`;
  const events = peopleTimeline(j);
  const human = j.verdicts.filter((v) => v.kind === "human");
  return [
    "#### Human timeline",
    "",
    `Team: ${team} · ${paged}${g.blind ? " · blind: the scenario was kept from the responders until the end" : ""}`,
    "",
    ...(events.length === 0
      ? ["No page went out and no responder recorded a step.", ""]
      : [
          "| t+ | step | who | summary |",
          "| --- | --- | --- | --- |",
          ...events.map(
            (e) =>
              `| ${tPlus(e.t_ms)} | ${mdText(peopleStep(e))} | ${e.who === undefined ? "—" : mdText(e.who)} | ${mdText(peopleText(e))} |`,
          ),
          "",
        ]),
    ...(human.length === 0
      ? []
      : [
          "| | human target | limit | measured | reason |",
          "| --- | --- | --- | --- | --- |",
          ...human.map(
            (v) =>
              `| ${v.passed ? "✅" : "❌"} | ${mdText(v.name)} | ${mdText(verdictValue(v, "limit"))} | ${mdText(verdictValue(v, "measured"))} | ${mdText(v.reason)} |`,
          ),
          "",
        ]),
  ];
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
