/**
 * Durations in scenarios, systems maps, the lab config and load profiles are strings
 * with units (`500ms`, `10s`, `1.5s`, `15m`, `2h`, `1d`, or a sum such as `1h30m`),
 * parsed by this one grammar into milliseconds.
 */
import { z } from "zod";
import { FiredrillError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
/** Longest duration accepted anywhere: a year. Anything longer is a typo. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d!;

/**
 * Why `text` is not a duration, or undefined when it is one.
 * Kept apart from {@link parseDuration} so that schemas can report the reason at a line.
 */
export function durationProblem(text: string): string | undefined {
  if (text.trim() === "") return "expected a duration such as 10s, got an empty string";
  return parse(text).problem;
}

function parse(text: string): { ms: number; problem?: undefined } | { ms?: undefined; problem: string } {
  const hint = "use a number and a unit (ms, s, m, h, d), e.g. 500ms, 10s, 15m, 2h, 1d";
  if (text.startsWith("-")) return { problem: `duration "${text}" is negative` };
  let ms = 0;
  let position = 0;
  let parts = 0;
  while (position < text.length) {
    PART.lastIndex = position;
    const match = PART.exec(text);
    if (match === null) {
      if (parts === 0 && /^\d+(\.\d+)?$/.test(text))
        return { problem: `duration "${text}" has no unit: ${hint}` };
      return { problem: `"${text}" is not a duration: ${hint}` };
    }
    ms += Number(match[1]) * UNIT_MS[match[2]!]!;
    position = PART.lastIndex;
    parts += 1;
  }
  if (!Number.isInteger(ms)) return { problem: `duration "${text}" is not a whole number of milliseconds` };
  if (ms > MAX_DURATION_MS) return { problem: `duration "${text}" is longer than a year` };
  return { ms };
}

/**
 * Parses a duration string into milliseconds.
 * @throws FiredrillError FD203 when the text is not a duration.
 */
export function parseDuration(text: string): number {
  const result = parse(text.trim() === "" ? "" : text);
  if (result.problem !== undefined || text.trim() === "") {
    throw new FiredrillError(
      "FD203",
      result.problem ?? "expected a duration such as 10s, got an empty string",
    );
  }
  return result.ms;
}

/** Milliseconds of `value` when it is a duration string, else undefined (for callers with their own message). */
export function tryParseDuration(value: unknown): number | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  return parse(value).ms;
}

/** Formats milliseconds with the largest units that are exact: 900000 -> "15m", 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = UNIT_MS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

const durationString = z.string({
  error: (issue) =>
    issue.input === undefined
      ? 'is required: a duration such as "10s"'
      : `expected a duration with a unit such as "10s", got ${
          typeof issue.input === "number"
            ? `${issue.input} (a number without a unit)`
            : describeValue(issue.input)
        }`,
});

/** Zod schema of a duration string; its output is milliseconds. Issues carry the code FD203. */
export const duration = durationString.transform((value, ctx): number => {
  const problem = durationProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: "custom", message: problem, params: { fd: "FD203" } });
    return z.NEVER;
  }
  return parseDuration(value);
});

/** A duration checked by the same grammar but kept as text, for files another tool reads too (k6's profiles). */
export const durationText = durationString.superRefine((value, ctx) => {
  const problem = durationProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, params: { fd: "FD203" } });
});

/** A duration that must be longer than zero. */
export const positiveDuration = duration.refine((ms) => ms > 0, {
  message: "must be longer than 0s",
  params: { fd: "FD203" },
});

/** Short, quoted description of any parsed YAML value, for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}
