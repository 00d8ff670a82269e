/** Small formatting helpers shared by the report formats. */
import { redact } from "../redact.ts";
import type { Gameday, Journal, JournalDraft, TimelineEvent, Verdict } from "../runner/journal.ts";

/** Colour-blind-friendly series colours (Okabe–Ito based). */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#56b4e9",
  "#d55e00",
  "#f0e442",
  "#000000",
];

/** A duration in milliseconds for people: `850 ms`, `14.2 s`, `3 min 12 s`, `2 h 05 min`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) {
    const m = Math.floor(abs / 60_000);
    const s = Math.round((abs % 60_000) / 1000);
    return `${ms < 0 ? "-" : ""}${m} min${s ? ` ${s} s` : ""}`;
  }
  const h = Math.floor(abs / 3_600_000);
  const m = Math.round((abs % 3_600_000) / 60_000);
  return `${ms < 0 ? "-" : ""}${h} h${m ? ` ${String(m).padStart(2, "0")} min` : ""}`;
}

/** A nullable duration; `—` when absent. */
export function fmtMaybeMs(ms: number | null): string {
  return ms === null ? "—" : fmtMs(ms);
}

/** A verdict's limit or measurement with its unit. */
export function fmtValue(value: number | string | null, unit?: string): string {
  if (value === null) return "—";
  if (typeof value === "string") return value;
  if (unit === "ms") return fmtMs(value);
  if (unit === "ratio") return `${(value * 100).toFixed(2)} %`;
  return `${Number.isInteger(value) ? value : Number(value.toFixed(4))}${unit ? ` ${unit}` : ""}`;
}

/** Escapes text for HTML element content and attribute values. */
export function esc(text: unknown): string {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export interface Outcome {
  passed: boolean;
  /** `PASSED`, `FAILED`, `ABORTED`, `INTERRUPTED`. */
  label: string;
  failed: Verdict[];
  total: number;
  sentence: string;
}

/** The headline: did the drill pass, and why not. */
export function outcome(journal: Pick<Journal, "status" | "verdicts">): Outcome {
  const failed = journal.verdicts.filter((v) => !v.passed);
  const total = journal.verdicts.length;
  const passed = journal.status === "completed" && failed.length === 0;
  const label =
    journal.status === "aborted"
      ? "ABORTED"
      : journal.status === "interrupted"
        ? "INTERRUPTED"
        : passed
          ? "PASSED"
          : "FAILED";
  const sentence = passed
    ? `all ${total} verdicts passed`
    : failed.length > 0
      ? `${failed.length} of ${total} verdicts failed`
      : `the run ended ${journal.status}`;
  return { passed, label, failed, total, sentence };
}

/**
 * `redact` for markup (HTML, XML): the markers it inserts (`<redacted>`) would be read
 * as tags, so they are escaped after redaction.
 */
export function redactMarkup(markup: string): string {
  return redact(markup).replace(/<(redacted[\w-]*)>/g, "&lt;$1&gt;");
}

/** Short form of a hash for tables. */
export function shortHash(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

/** The alert that reached a phase, and how long its delivery took when the journal says. */
export interface PhaseSource {
  alert: string;
  /** The later phase whose list named the alert, when the phase's own did not. */
  via: string | null;
  /** From when the alert was raised (or fired, at its sender) to its receipt, ms. */
  deliveryMs: number | null;
}

/**
 * What reached detection, response and mitigation, from the journal's timeline. A journal
 * written before phase events carried the delivery delay gives it on the alert's own event.
 */
export function phaseSources(
  journal: Journal,
): Partial<Record<"detection" | "response" | "mitigation", PhaseSource>> {
  const out: Partial<Record<"detection" | "response" | "mitigation", PhaseSource>> = {};
  for (const event of journal.timeline) {
    if (event.kind !== "phase.reached" || event.name === "recovery" || event.name === undefined) continue;
    const phase = event.name as "detection" | "response" | "mitigation";
    const alert = event.details?.["alert"];
    if (out[phase] !== undefined || typeof alert !== "string") continue;
    let delivery = event.details?.["delivery_delay_ms"];
    if (typeof delivery !== "number") {
      const received = journal.timeline.find(
        (e) => e.kind === "alert.received" && e.name === alert && e.t_ms === event.t_ms,
      );
      delivery = received?.details?.["delivery_delay_ms"];
    }
    const via = event.details?.["via"];
    out[phase] = {
      alert,
      via: typeof via === "string" ? via : null,
      deliveryMs: typeof delivery === "number" ? delivery : null,
    };
  }
  return out;
}

/** A GameDay responder's role, for people: `incident lead`, `communications`, `on call`. */
export const ROLE_LABELS: Record<Gameday["team"][number]["role"], string> = {
  incident_lead: "incident lead",
  communications: "communications",
  on_call: "on call",
};

/** True for a GameDay's people on the timeline: a page (`page.*`) or a responder's step (`human.*`). */
export function isPeopleEvent(event: TimelineEvent): boolean {
  return event.kind.startsWith("page.") || event.kind.startsWith("human.");
}

/** The pages and the responders' steps of a journal, in time order (events at the same time as recorded). */
export function peopleTimeline(journal: Pick<JournalDraft, "timeline">): TimelineEvent[] {
  return journal.timeline.filter(isPeopleEvent).sort((a, b) => a.t_ms - b.t_ms);
}

/** Time since the first injection: `t+14.2 s`, or `t-1.8 s` before it. */
export function tPlus(ms: number): string {
  return ms < 0 ? `t-${fmtMs(-ms)}` : `t+${fmtMs(ms)}`;
}

/** Time of `at` since the first injection (`t+…`), or null when nothing was injected. */
export function tPlusAt(journal: Pick<JournalDraft, "first_injection_at">, at: string): string | null {
  if (journal.first_injection_at === null) return null;
  return tPlus(Date.parse(at) - Date.parse(journal.first_injection_at));
}

const detail = (event: TimelineEvent, key: string): string | undefined => {
  const value = event.details?.[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
};

/**
 * What a people event is, in a word or three: a responder's step (`acknowledged`), or a
 * page with what went out and how (`page sent: escalation via slack`, `page FAILED: update via webhook`).
 */
export function peopleStep(event: TimelineEvent): string {
  if (event.kind.startsWith("human.")) return event.kind.slice("human.".length);
  const what = [detail(event, "message"), detail(event, "channel")].filter((x) => x !== undefined);
  const how = what.length === 2 ? `${what[0]} via ${what[1]}` : what.join("");
  return `${event.kind === "page.failed" ? "page FAILED" : "page sent"}${how ? `: ${how}` : ""}`;
}

/** A people event's summary, with the responder's note and a failed page's attempts and error. */
export function peopleText(event: TimelineEvent): string {
  let text = event.summary;
  const note = detail(event, "note");
  if (note !== undefined && note.trim() !== "") text += ` (note: ${note})`;
  if (event.kind === "page.failed") {
    const error = detail(event, "error");
    const attempts = detail(event, "attempts");
    const extra = [
      attempts !== undefined && !text.includes("attempt") ? `${attempts} attempt(s)` : undefined,
      error !== undefined && !text.includes(error) ? error : undefined,
    ].filter((x) => x !== undefined);
    if (extra.length > 0) text += ` (${extra.join(": ")})`;
  }
  return text;
}

/** The unit of a verdict's numbers: a human verdict's are milliseconds even when the journal does not say. */
export function verdictUnit(verdict: Verdict): string | undefined {
  return verdict.unit ?? (verdict.kind === "human" ? "ms" : undefined);
}

/** A verdict's limit or measurement, with its unit. */
export function verdictValue(verdict: Verdict, which: "limit" | "measured"): string {
  return fmtValue(verdict[which], verdictUnit(verdict));
}

/**
 * How far a failed verdict's measurement is from its limit (either way: over an "at most",
 * under an "at least"), in the verdict's unit; null when it passed or either is not a number.
 */
export function missedBy(verdict: Verdict): number | null {
  if (verdict.passed || typeof verdict.limit !== "number" || typeof verdict.measured !== "number")
    return null;
  return Math.abs(verdict.measured - verdict.limit);
}

/**
 * User text (a responder's name, a note) for a Markdown table cell: no column break, no line
 * break, and no HTML a renderer would act on.
 */
export function mdText(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
