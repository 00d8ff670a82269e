/**
 * A post-mortem draft in Markdown, from a journal alone: what happened (the automated
 * events and the people's steps on one timeline), which targets were missed and by how
 * much, what the responders sent, and empty sections for the team to fill in. The same
 * journal always gives the same text (no current time in it).
 */
import { formatDuration } from "../duration.ts";
import { redact } from "../redact.ts";
import type { Journal, JournalDraft, TimelineEvent, Verdict } from "../runner/journal.ts";
import { redactJournal } from "../runner/journal.ts";
import {
  fmtValue,
  isPeopleEvent,
  mdText,
  missedBy,
  outcome,
  peopleStep,
  peopleText,
  ROLE_LABELS,
  tPlus,
  tPlusAt,
  verdictUnit,
} from "./format.ts";

/** The automated events a post-mortem's timeline keeps; probes, proofs and load are in the report. */
const AUTOMATED = new Set<TimelineEvent["kind"]>([
  "fault.injected",
  "fault.healed",
  "alert.received",
  "phase.reached",
]);

type Sent = NonNullable<NonNullable<JournalDraft["gameday"]>["incident_alert"]>;

/**
 * The post-mortem draft of a drill (Markdown): title, summary, the merged timeline, the
 * targets missed, the incident alert, updates and resolution as sent, then the sections the
 * team writes (root cause, what went well and wrong, action items). Works for a journal
 * without people too: the people's parts then say so. A sealed journal or a draft.
 */
export function postmortemMarkdown(original: Journal | JournalDraft): string {
  const j = redactJournal(original);
  const lines = [
    `# Post-mortem: ${mdText(j.scenario.name)} (${j.started_at.slice(0, 10)})`,
    "",
    `_Draft written by firedrill from the journal \`${j.id}\` alone. Check it, then fill in the sections from "Root cause" on._`,
    "",
    ...summary(j),
    ...timeline(j),
    ...targetsMissed(j.verdicts),
    "## Incident alert as sent",
    "",
    ...sentBlock(j, j.gameday?.incident_alert ?? null, "Not sent."),
    "## Status updates",
    "",
    ...updates(j),
    "## Resolution",
    "",
    ...sentBlock(j, j.gameday?.resolution ?? null, "Nobody marked the incident resolved."),
    ...toFillIn(),
  ];
  return redact(lines.join("\n"));
}

function statusLine(j: JournalDraft): string {
  const o = outcome(j);
  return `${o.label}: ${o.sentence}; the run ended ${j.status}${j.deviated ? " and the steady state deviated" : ""}`;
}

function mttrLine(j: JournalDraft): string {
  const rtoMs = j.systems.rto_seconds * 1000;
  const rto = `the RTO of ${formatDuration(rtoMs)} for ${mdText(j.systems.rto_system)}`;
  if (j.mttr_ms === null) return `not recovered; ${rto}`;
  const mttr = formatDuration(j.mttr_ms);
  return j.mttr_ms <= rtoMs
    ? `${mttr}: within ${rto} (${((100 * j.mttr_ms) / rtoMs).toFixed(1)} % of it)`
    : `${mttr}: over ${rto} by ${formatDuration(j.mttr_ms - rtoMs)}`;
}

/** Status, MTTR against the RTO, and who was on the team. */
function summary(j: JournalDraft): string[] {
  const g = j.gameday;
  const rows: Array<[string, string]> = [
    ["Scenario", `${mdText(j.scenario.name)}: ${mdText(j.scenario.description)}`],
    ["When", `${j.started_at} to ${j.ended_at} (UTC)`],
    ["Status", statusLine(j)],
    ["MTTR", mttrLine(j)],
  ];
  if (g !== undefined) {
    rows.push(
      [
        "Blind",
        g.blind
          ? "yes: the responders did not know the scenario until the end"
          : "no: the responders knew the scenario",
      ],
      [
        "Paged at",
        g.paged_at === null ? "nobody was paged" : `${g.paged_at} (${tPlusAt(j, g.paged_at) ?? "—"})`,
      ],
      ["Incident room", g.room === null ? "none" : `\`${g.room.replace(/`/g, "")}\``],
    );
  }
  rows.push(["Seed", `\`${j.seed}\``]);
  const team =
    g === undefined
      ? ["Not a GameDay: no team took part."]
      : g.team.length === 0
        ? ["Nobody was on the team."]
        : [
            "| name | role |",
            "| --- | --- |",
            ...g.team.map((m) => `| ${mdText(m.name)} | ${ROLE_LABELS[m.role]} |`),
          ];
  return [
    "## Summary",
    "",
    "| | |",
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\n/g, " ")} |`),
    "",
    "### Team",
    "",
    ...team,
    "",
  ];
}

/** Faults, alerts, phases, pages and the responders' steps, in time order. */
function timeline(j: JournalDraft): string[] {
  const events = j.timeline
    .filter((e) => AUTOMATED.has(e.kind) || isPeopleEvent(e))
    .sort((a, b) => a.t_ms - b.t_ms);
  const since =
    j.first_injection_at === null
      ? "Nothing was injected: times are from the start of the run."
      : `Times are since the first injection, ${j.first_injection_at}.`;
  if (events.length === 0) return ["## Timeline", "", since, "", "No events recorded.", ""];
  return [
    "## Timeline",
    "",
    since,
    "",
    "| t+ | kind | who | summary |",
    "| --- | --- | --- | --- |",
    ...events.map((e) => {
      const people = isPeopleEvent(e);
      const kind = people ? peopleStep(e) : e.kind;
      const text = people ? peopleText(e) : e.summary;
      return `| ${tPlus(e.t_ms)} | ${mdText(kind)} | ${e.who === undefined ? "—" : mdText(e.who)} | ${mdText(text)} |`;
    }),
    "",
  ];
}

/** A verdict's number for the post-mortem: durations as `2m30s`. */
function value(v: Verdict, n: number | string | null): string {
  const unit = verdictUnit(v);
  if (typeof n === "number" && unit === "ms") return formatDuration(n);
  return fmtValue(n, unit);
}

/** Every failed verdict with its limit, its measurement and how far it missed. */
function targetsMissed(verdicts: readonly Verdict[]): string[] {
  const failed = verdicts.filter((v) => !v.passed);
  if (failed.length === 0) return ["## Targets missed", "", "None: every verdict passed.", ""];
  return [
    "## Targets missed",
    "",
    "| target | kind | limit | measured | missed by | why |",
    "| --- | --- | --- | --- | --- | --- |",
    ...failed.map((v) => {
      const by = missedBy(v);
      const missed = by !== null ? value(v, by) : v.measured === null ? "not reached" : "—";
      return `| ${mdText(v.name)} | ${v.kind} | ${mdText(value(v, v.limit))} | ${mdText(value(v, v.measured))} | ${mdText(missed)} | ${mdText(v.reason)} |`;
    }),
    "",
  ];
}

/** A fence longer than any run of backticks in `text`, so that the text shows as it was sent. */
function fenced(text: string): string[] {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return [`${fence}markdown`, ...text.replace(/\r\n/g, "\n").split("\n"), fence];
}

function sentBy(j: JournalDraft, sent: Sent): string {
  const member = j.gameday?.team.find((m) => m.name === sent.by);
  const role = member === undefined ? "" : ` (${ROLE_LABELS[member.role]})`;
  const t = tPlusAt(j, sent.at);
  return `Sent by ${mdText(sent.by)}${role} at ${sent.at}${t === null ? "" : ` (${t})`}:`;
}

function sentBlock(j: JournalDraft, sent: Sent | null, none: string): string[] {
  return sent === null ? [none, ""] : [sentBy(j, sent), "", ...fenced(sent.text), ""];
}

function updates(j: JournalDraft): string[] {
  const list = j.gameday?.updates ?? [];
  if (list.length === 0) return ["None.", ""];
  return list.flatMap((u, i) => [`### Update ${i + 1}`, "", sentBy(j, u), "", ...fenced(u.text), ""]);
}

/** The sections the team writes. */
function toFillIn(): string[] {
  return [
    "## Root cause",
    "",
    "_To be written by the team._",
    "",
    "## What went well",
    "",
    "- ",
    "",
    "## What went wrong",
    "",
    "- ",
    "",
    "## Action items",
    "",
    "| Action | Owner | Due | Status |",
    "| --- | --- | --- | --- |",
    "|  |  |  |  |",
    "|  |  |  |  |",
    "",
  ];
}
