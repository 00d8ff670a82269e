/**
 * Real k6: where to find it and how to run `load/mint-redeem.js` with a profile, reading
 * back the summary JSON its `handleSummary` writes.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { parseDuration } from "../duration.ts";
import { FiredrillError, labError } from "../errors.ts";
import { TOOLS_BIN } from "../paths.ts";
import { startProcess } from "../process.ts";
import type { SummaryData } from "./metrics.ts";
import { type ProfileData, SCRIPT_FILE } from "./profile.ts";

/** k6's exit status when a threshold failed. */
export const K6_THRESHOLDS_FAILED = 99;
/** k6's exit status for options it refuses. */
const K6_INVALID_CONFIG = 104;

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The k6 binary: `K6_BIN`, then PATH, then the repository's `.tools/bin/k6`; undefined when absent. */
export function findK6(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env["K6_BIN"]) return executable(env["K6_BIN"]) ? env["K6_BIN"] : undefined;
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (dir && executable(join(dir, "k6"))) return join(dir, "k6");
  }
  const tools = join(TOOLS_BIN, "k6");
  return executable(tools) ? tools : undefined;
}

/** Milliseconds the way k6 (Go's `time.ParseDuration`) reads them, which has no `d`: 90000 -> "1m30s". */
export function k6Duration(ms: number): string {
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out || "0s";
}

const SCENARIO_DURATIONS = [
  "duration",
  "startTime",
  "gracefulStop",
  "gracefulRampDown",
  "timeUnit",
  "maxDuration",
];

/** The profile as k6 reads it: every duration, validated by firedrill's grammar, rewritten in k6's. */
export function profileForK6(profile: ProfileData): ProfileData {
  const k6 = (text: string) => k6Duration(parseDuration(text));
  const scenarios: Record<string, unknown> = {};
  for (const [name, scenario] of Object.entries(profile.scenarios)) {
    const out: Record<string, unknown> = { ...scenario };
    for (const key of SCENARIO_DURATIONS) if (typeof out[key] === "string") out[key] = k6(out[key]);
    if ("stages" in scenario)
      out["stages"] = scenario.stages.map((st) => ({ ...st, duration: k6(st.duration) }));
    scenarios[name] = out;
  }
  const thresholds: Record<string, unknown> = {};
  for (const [metric, list] of Object.entries(profile.thresholds ?? {})) {
    thresholds[metric] = Array.isArray(list)
      ? list.map((item: unknown) => {
          const delay = (item as { delayAbortEval?: unknown } | null)?.delayAbortEval;
          return typeof delay === "string" ? { ...(item as object), delayAbortEval: k6(delay) } : item;
        })
      : list;
  }
  return {
    ...profile,
    scenarios: scenarios as ProfileData["scenarios"],
    ...(profile.thresholds === undefined ? {} : { thresholds }),
  };
}

export interface K6RunOptions {
  bin: string;
  profile: ProfileData;
  target: string;
  token?: string;
  signal?: AbortSignal;
  /** Each line k6 prints (its own summary lines, warnings). */
  onLine?: (line: string) => void;
}

export interface K6RunResult {
  data: SummaryData;
  exitCode: number | null;
  thresholdsOk: boolean;
  aborted: boolean;
}

/**
 * Runs k6 on the script with the profile written to a temporary file (so that a
 * `--duration` override reaches k6 too). The token goes through the environment, never
 * the command line.
 */
export async function runK6(options: K6RunOptions): Promise<K6RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "firedrill-k6-"));
  try {
    const profileFile = join(dir, "profile.json");
    const summaryFile = join(dir, "summary.json");
    writeFileSync(profileFile, JSON.stringify(profileForK6(options.profile)));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BASE_URL: options.target,
      PROFILE_FILE: profileFile,
      SUMMARY_FILE: summaryFile,
      GATEWAY_TOKEN: options.token ?? "",
      K6_NO_USAGE_REPORT: "true",
    };
    const child = await startProcess({
      name: "k6",
      command: options.bin,
      args: ["run", "--quiet", SCRIPT_FILE],
      env,
    });
    const off = options.onLine ? child.onLine(options.onLine) : undefined;
    const stop = () => void child.stop(5000);
    options.signal?.addEventListener("abort", stop, { once: true });
    const { code, signal } = await child.exited;
    off?.();
    options.signal?.removeEventListener("abort", stop);
    if (!existsSync(summaryFile)) {
      if (options.signal?.aborted) {
        throw new FiredrillError("FD310", "k6 was stopped before it wrote a summary");
      }
      if (code === K6_INVALID_CONFIG) {
        const line = child.lastLines().find((l) => l.includes("level=error")) ?? "";
        const why = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? "invalid options";
        throw new FiredrillError("FD224", `k6 refused the profile: ${why.replaceAll("\\n\\t", " ")}`);
      }
      throw labError("k6", `exited (code ${code}, signal ${signal}) without a summary`, child.lastLines());
    }
    const data = JSON.parse(readFileSync(summaryFile, "utf8")) as SummaryData;
    delete (data as unknown as Record<string, unknown>)["setup_data"];
    const thresholdsOk = Object.values(data.metrics).every((metric) =>
      Object.values(metric.thresholds ?? {}).every((t) => t.ok),
    );
    return { data, exitCode: code, thresholdsOk, aborted: options.signal?.aborted === true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
