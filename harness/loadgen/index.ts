/**
 * `runLoad`: runs a load profile against a gateway with real k6 when it is found, or
 * with the embedded engine, and returns one summary whatever the engine. The runner
 * calls it for a scenario's `load:`; `firedrill load` calls it from the command line.
 */
import { request } from "undici";
import { tryParseDuration } from "../duration.ts";
import { FiredrillError, inputError, labError, usageError } from "../errors.ts";
import { runEmbedded, scriptRegistry } from "./engine.ts";
import { findK6, runK6 } from "./k6.ts";
import type { SummaryData } from "./metrics.ts";
import { loadProfile, type Profile, type ProfileData, withDuration } from "./profile.ts";
import { isObservation, type ScenarioRequests, scenarioRows } from "./tally.ts";
import { parseThresholds, ThresholdError } from "./thresholds.ts";

export type Engine = "k6" | "embedded";

export interface LoadOptions {
  /** A profile name of `load/profiles/` or a path to a profile `.json`. */
  profile: string;
  /** Base URL of the gateway. Must be loopback unless `allowRemote`. */
  target: string;
  /** @default "auto": k6 when found, else embedded */
  engine?: Engine | "auto";
  /** Stretches or shrinks the profile's schedule to this k6 duration (`30s`, `2m`). */
  duration?: string;
  /** Bearer token for the gateway. @default process.env.FIREDRILL_GATEWAY_TOKEN */
  token?: string;
  /** Stops the load early; the summary covers what ran. */
  signal?: AbortSignal;
  /** @default false */
  allowRemote?: boolean;
  /** About once a second with the embedded engine; a line of output with k6. */
  onProgress?: (progress: LoadProgress) => void;
  /** k6 binary; found on PATH, K6_BIN or `.tools/bin` when absent. */
  k6Bin?: string;
}

export type LoadProgress =
  | { kind: "tick"; elapsedMs: number; vus: number; rps: number; p95Ms: number; requests: number }
  | { kind: "line"; line: string };

export interface ThresholdVerdict {
  /** Metric key as written in the profile, e.g. `http_req_duration{scenario:mint}`. */
  metric: string;
  expression: string;
  ok: boolean;
}

export interface LoadSummary {
  engine: Engine;
  profile: string;
  target: string;
  /** False when any threshold failed (k6 exits 99 then). */
  thresholdsOk: boolean;
  /** One verdict per threshold: each budget of the profile. */
  thresholds: ThresholdVerdict[];
  requests: number;
  requestsPerSecond: number;
  durationMs: number;
  /** True when the run was stopped early (signal or an `abortOnFail` threshold). */
  aborted: boolean;
  /** k6's `handleSummary` data (the embedded engine writes the same shape). */
  data: SummaryData;
  /** Every request by scenario (then `all`): counts, failures, percentiles, histogram. */
  byScenario: ScenarioRequests[];
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Checks the target URL: http(s), and loopback unless remote targets are allowed. */
export function checkTarget(target: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw usageError(`--target ${target}: not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw usageError(`--target ${target}: only http and https targets`);
  }
  const host = url.hostname;
  const loopback = LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback && !allowRemote) {
    throw usageError(`--target ${url.origin} is not a loopback address; pass --allow-remote to load it`);
  }
  return url;
}

/** Resolves the profile, applies a duration override and checks its thresholds like k6 would. */
export function prepareProfile(name: string, duration?: string): Profile {
  const profile = loadProfile(name);
  let data: ProfileData = profile.data;
  if (duration !== undefined) {
    const ms = tryParseDuration(duration);
    if (ms === undefined || ms <= 0)
      throw usageError(`--duration ${duration}: not a duration (e.g. 30s, 5m)`);
    data = withDuration(data, ms);
  }
  try {
    parseThresholds(data.thresholds, scriptRegistry().types());
  } catch (error) {
    if (error instanceof ThresholdError)
      throw inputError("FD223", { file: profile.file, field: "thresholds" }, error.message);
    throw error;
  }
  return { ...profile, data };
}

/** Answers whether anything listens at the target (any HTTP answer counts); throws exit-3 when not. */
export async function probeTarget(target: URL, timeoutMs = 3000): Promise<void> {
  const health = new URL(`${target.pathname.replace(/\/+$/, "")}/health`, target.origin);
  try {
    const res = await request(health, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw labError("load target", `${target.origin} does not answer: ${why}`);
  }
}

/**
 * Runs a load profile against `target` and returns its summary; the caller decides what
 * a failed threshold means (the CLI exits 99, the runner records a failed budget verdict).
 */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const url = checkTarget(options.target, options.allowRemote ?? false);
  const profile = prepareProfile(options.profile, options.duration);
  const wanted = options.engine ?? "auto";
  const bin = options.k6Bin ?? (wanted === "embedded" ? undefined : findK6());
  if (wanted === "k6" && bin === undefined) {
    throw usageError("--engine k6: k6 not found (PATH, K6_BIN or .tools/bin/k6); use --engine embedded");
  }
  const engine: Engine = wanted === "embedded" || bin === undefined ? "embedded" : "k6";
  await probeTarget(url);
  const token = options.token ?? process.env["FIREDRILL_GATEWAY_TOKEN"] ?? "";
  const target = url.href.replace(/\/+$/, "");
  const tty = { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true };
  let data: SummaryData;
  let thresholdsOk: boolean;
  let aborted: boolean;
  if (engine === "k6") {
    const result = await runK6({
      bin: bin!,
      profile: profile.data,
      target,
      token,
      ...(options.signal ? { signal: options.signal } : {}),
      // k6's own log lines (warnings, errors); its summary is reported from the JSON instead.
      onLine: (line: string) => {
        if (/level=(warning|error)/.test(line)) options.onProgress?.({ kind: "line", line });
      },
    });
    if (result.exitCode !== 0 && result.exitCode !== 99 && !result.aborted) {
      throw new FiredrillError("FD311", `k6 exited with code ${result.exitCode}`);
    }
    ({ data, thresholdsOk, aborted } = result);
  } else {
    const result = await runEmbedded({
      profile: profile.data,
      target,
      token,
      tty,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onTick: (t) => options.onProgress?.({ kind: "tick", ...t }) } : {}),
    });
    ({ data, thresholdsOk, aborted } = result);
  }
  // The profile's own thresholds are its budgets; the script's observations are not.
  const scenarios = Object.keys(profile.data.scenarios);
  const thresholds: ThresholdVerdict[] = [];
  for (const [metric, entry] of Object.entries(data.metrics)) {
    for (const [expression, verdict] of Object.entries(entry.thresholds ?? {})) {
      if (isObservation(metric, expression, profile.data.thresholds, scenarios)) continue;
      thresholds.push({ metric, expression, ok: verdict.ok });
    }
  }
  const reqs = data.metrics["http_reqs"]?.values ?? {};
  return {
    engine,
    profile: profile.name,
    target,
    thresholdsOk,
    thresholds,
    requests: reqs["count"] ?? 0,
    requestsPerSecond: reqs["rate"] ?? 0,
    durationMs: data.state.testRunDurationMs,
    aborted,
    data,
    byScenario: scenarioRows(data, scenarios),
  };
}
