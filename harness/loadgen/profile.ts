/**
 * Load profiles: `load/profiles/<name>.json`, read by the k6 script with `open()` and by
 * the embedded engine here, so that both run the same executors, durations and budgets.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { durationText, parseDuration, tryParseDuration } from "../duration.ts";
import { inputError } from "../errors.ts";
import { LOAD_DIR } from "../paths.ts";

/** The k6 script every engine runs. */
export const SCRIPT_FILE = join(LOAD_DIR, "mint-redeem.js");

// Kept as text: the k6 script reads the same file (runK6 hands it over in k6's syntax).
const duration = durationText;
const stage = z.object({ duration, target: z.number().int().nonnegative() }).strict();
const common = {
  exec: z.enum(["mint", "redeem"]),
  startTime: duration.optional(),
  gracefulStop: duration.optional(),
  tags: z.record(z.string(), z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
};

// k6 refuses a constant executor shorter than a second.
const atLeastOneSecond = duration.refine((v) => (tryParseDuration(v) ?? 1000) >= 1000, {
  message: "the duration must be at least 1s (as k6 requires)",
});

const scenarioSchema = z.discriminatedUnion("executor", [
  z
    .object({
      executor: z.literal("constant-vus"),
      vus: z.number().int().positive(),
      duration: atLeastOneSecond,
      ...common,
    })
    .strict(),
  z
    .object({
      executor: z.literal("ramping-vus"),
      startVUs: z.number().int().nonnegative().optional(),
      stages: z.array(stage).min(1),
      gracefulRampDown: duration.optional(),
      ...common,
    })
    .strict(),
  z
    .object({
      executor: z.literal("constant-arrival-rate"),
      rate: z.number().int().positive(),
      timeUnit: duration.optional(),
      duration: atLeastOneSecond,
      preAllocatedVUs: z.number().int().positive(),
      maxVUs: z.number().int().positive().optional(),
      ...common,
    })
    .strict(),
  z
    .object({
      executor: z.literal("ramping-arrival-rate"),
      startRate: z.number().int().nonnegative().optional(),
      timeUnit: duration.optional(),
      stages: z.array(stage).min(1),
      preAllocatedVUs: z.number().int().positive(),
      maxVUs: z.number().int().positive().optional(),
      ...common,
    })
    .strict(),
  z
    .object({
      executor: z.literal("per-vu-iterations"),
      vus: z.number().int().positive(),
      iterations: z.number().int().positive(),
      maxDuration: duration.optional(),
      ...common,
    })
    .strict(),
  z
    .object({
      executor: z.literal("shared-iterations"),
      vus: z.number().int().positive(),
      iterations: z.number().int().positive(),
      maxDuration: duration.optional(),
      ...common,
    })
    .strict(),
]);

const profileSchema = z
  .object({
    description: z.string().optional(),
    settlement: z
      .object({ pollMs: z.number().positive(), timeoutMs: z.number().positive() })
      .strict()
      .nullable()
      .optional(),
    request: z
      .object({
        recipient: z.string().optional(),
        holder: z.string().optional(),
        mintAmount: z.string().optional(),
        redeemAmount: z.string().optional(),
        collateralType: z.string().optional(),
      })
      .strict()
      .optional(),
    scenarios: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), scenarioSchema),
    thresholds: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ScenarioConfig = z.infer<typeof scenarioSchema>;
export type ProfileData = z.infer<typeof profileSchema>;

export interface Profile {
  /** The profile's name (file name without `.json`). */
  name: string;
  /** Absolute path of the file it was read from. */
  file: string;
  data: ProfileData;
}

/** Names of the profiles shipped in `load/profiles/`. */
export function profileNames(): string[] {
  return readdirSync(join(LOAD_DIR, "profiles"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads a profile by name (`load/profiles/<name>.json`) or by path to a `.json` file. */
export function loadProfile(nameOrPath: string): Profile {
  const isPath = nameOrPath.endsWith(".json") || nameOrPath.includes("/");
  const file = isPath ? resolve(nameOrPath) : join(LOAD_DIR, "profiles", `${nameOrPath}.json`);
  if (!isPath && !/^[A-Za-z0-9_-]+$/.test(nameOrPath)) {
    throw inputError(
      "FD220",
      { file: nameOrPath },
      `not a profile name; known: ${profileNames().join(", ")}`,
    );
  }
  if (!existsSync(file)) {
    throw inputError(
      "FD220",
      { file: isPath ? file : `profile "${nameOrPath}"` },
      isPath ? "no such file" : `unknown profile; known: ${profileNames().join(", ")}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw inputError("FD221", { file }, `not JSON: ${(error as Error).message}`);
  }
  return { name: basename(file, ".json"), file, data: parseProfile(raw, file) };
}

/** Validates a profile document; `file` names it in errors. */
export function parseProfile(raw: unknown, file: string): ProfileData {
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw inputError("FD222", { file, field: issue.path.join(".") || "(root)" }, issue.message);
  }
  if (Object.keys(parsed.data.scenarios).length === 0) {
    throw inputError("FD222", { file, field: "scenarios" }, "at least one scenario is needed");
  }
  return parsed.data;
}

const ms = (d: string | undefined, fallback: number): number =>
  d === undefined ? fallback : parseDuration(d);

/** Milliseconds of the scenario's own schedule (without startTime and gracefulStop). */
export function scheduledMs(s: ScenarioConfig): number {
  switch (s.executor) {
    case "constant-vus":
    case "constant-arrival-rate":
      return ms(s.duration, 0);
    case "ramping-vus":
    case "ramping-arrival-rate":
      return s.stages.reduce((sum, st) => sum + ms(st.duration, 0), 0);
    case "per-vu-iterations":
    case "shared-iterations":
      return ms(s.maxDuration, 600_000);
  }
}

/** The most VUs a scenario may hold at once. */
export function scenarioMaxVus(s: ScenarioConfig): number {
  switch (s.executor) {
    case "constant-vus":
    case "per-vu-iterations":
    case "shared-iterations":
      return s.vus;
    case "ramping-vus":
      return Math.max(s.startVUs ?? 1, ...s.stages.map((st) => st.target));
    case "constant-arrival-rate":
    case "ramping-arrival-rate":
      return Math.max(s.preAllocatedVUs, s.maxVUs ?? 0);
  }
}

/** An upper bound of the VUs a profile holds at once (every scenario at its peak): the connection pool size. */
export function maxVus(data: ProfileData): number {
  return Object.values(data.scenarios).reduce((n, s) => n + scenarioMaxVus(s), 0);
}

/** The longest a whole profile may run: every scenario's start, schedule and graceful stop. */
export function maxRunMs(data: ProfileData): number {
  let longest = 0;
  for (const s of Object.values(data.scenarios)) {
    const rampDown = s.executor === "ramping-vus" ? ms(s.gracefulRampDown, 30_000) : 0;
    const end = ms(s.startTime, 0) + scheduledMs(s) + Math.max(ms(s.gracefulStop, 30_000), rampDown);
    longest = Math.max(longest, end);
  }
  return longest;
}

/**
 * The profile with its schedule stretched or shrunk to `durationMs`: constant executors
 * get the duration, staged ones have every stage and start time scaled by the same factor.
 * Iteration-based scenarios keep their counts and get `maxDuration`.
 */
export function withDuration(data: ProfileData, durationMs: number): ProfileData {
  const longest = Math.max(
    1,
    ...Object.values(data.scenarios).map((s) => ms(s.startTime, 0) + scheduledMs(s)),
  );
  const factor = durationMs / longest;
  const fmt = (v: number) => `${Math.max(1, Math.round(v))}ms`;
  const scenarios: Record<string, ScenarioConfig> = {};
  for (const [name, s] of Object.entries(data.scenarios)) {
    const startTime = s.startTime === undefined ? {} : { startTime: fmt(ms(s.startTime, 0) * factor) };
    switch (s.executor) {
      case "constant-vus":
      case "constant-arrival-rate":
        scenarios[name] = { ...s, ...startTime, duration: fmt(Math.max(1000, ms(s.duration, 0) * factor)) };
        break;
      case "ramping-vus":
      case "ramping-arrival-rate":
        scenarios[name] = {
          ...s,
          ...startTime,
          stages: s.stages.map((st) => ({ ...st, duration: fmt(ms(st.duration, 0) * factor) })),
        };
        break;
      case "per-vu-iterations":
      case "shared-iterations":
        scenarios[name] = { ...s, ...startTime, maxDuration: fmt(durationMs) };
        break;
    }
  }
  return { ...data, scenarios };
}
