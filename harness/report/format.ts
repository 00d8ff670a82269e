/** Small formatting helpers shared by the report formats. */
import { redact } from "../redact.ts";
import type { Journal, Verdict } from "../runner/journal.ts";

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
export function outcome(journal: Journal): Outcome {
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
