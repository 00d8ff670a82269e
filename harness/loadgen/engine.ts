/**
 * The embedded engine: runs a load profile's scenarios against the ops gateway over
 * keep-alive HTTP (undici), doing what `load/mint-redeem.js` does under k6, and returns
 * the same summary data k6 hands to `handleSummary`. The executors (executors.ts) run the
 * scenarios' schedules, the script (script.ts) does each iteration's requests, and the live
 * figures here report progress and apply `abortOnFail` thresholds.
 */
import { Pool } from "undici";
import { labError } from "../errors.ts";
import { runScenario, type VuHandle } from "./executors.ts";
import { Registry, type SummaryData } from "./metrics.ts";
import { maxRunMs, maxVus, type ProfileData } from "./profile.ts";
import { GatewayScript, type ScriptMetrics, scriptMetrics } from "./script.ts";
import { BUCKET_METRICS, withObserved } from "./tally.ts";
import { parseThresholds, type ThresholdSet } from "./thresholds.ts";

export interface EmbeddedOptions {
  profile: ProfileData;
  /** Base URL of the gateway, e.g. `http://127.0.0.1:8080`. */
  target: string;
  /** Bearer token for the gateway. @default "" */
  token?: string;
  /** Stops the run early; the summary covers what ran. */
  signal?: AbortSignal;
  /** Where `RECIPIENT` and `HOLDER` are read, like the script's `__ENV`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Called about once a second while running. */
  onTick?: (tick: LiveTick) => void;
  /** Per-request timeout in ms, like k6's `timeout` param. @default 60000 */
  requestTimeoutMs?: number;
  tty?: { stdout: boolean; stderr: boolean };
}

export interface LiveTick {
  elapsedMs: number;
  vus: number;
  /** Requests per second over the last tick. */
  rps: number;
  /** p95 of http_req_duration so far, ms. */
  p95Ms: number;
  requests: number;
}

export interface EmbeddedResult {
  data: SummaryData;
  thresholdsOk: boolean;
  /** True when the run stopped early: the caller's signal, an `abortOnFail` threshold, or the hard deadline. */
  aborted: boolean;
  abortedBy?: "signal" | "threshold" | "deadline";
}

/** Builds the metric registry the script defines (built-ins plus its custom metrics). */
export function scriptRegistry(): Registry {
  const registry = new Registry();
  registry.define("success", "rate");
  registry.define("redemption_settlement_time", "trend", true);
  registry.define("redemptions_failed", "counter");
  registry.define("redemption_settlement_timeouts", "counter");
  for (const bucket of BUCKET_METRICS) registry.define(bucket, "counter");
  return registry;
}

/** Parses a profile's thresholds against the script's metrics (throws `ThresholdError`). */
export function profileThresholds(profile: ProfileData): ThresholdSet[] {
  return parseThresholds(profile.thresholds, scriptRegistry().types());
}

/** Runs the profile and returns k6-shaped summary data; throws `labError` when the target does not answer. */
export async function runEmbedded(options: EmbeddedOptions): Promise<EmbeddedResult> {
  const { profile } = options;
  const registry = scriptRegistry();
  // The profile's budgets, and the observations the script adds to them (tally.ts).
  const sets = parseThresholds(
    withObserved(profile.thresholds, Object.keys(profile.scenarios)),
    registry.types(),
  );
  registry.useThresholds(sets);
  const origin = new URL(options.target);
  const scenarios = Object.entries(profile.scenarios);
  const connections = Math.max(1, maxVus(profile));
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const pool = new Pool(origin.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const m = scriptMetrics(registry);
  const script = new GatewayScript(pool, registry, m, {
    profile,
    target: options.target,
    token: options.token ?? "",
    env: options.env ?? process.env,
  });

  // Everything below is bounded: the schedule's own end, then a hard deadline past it.
  const stop = new AbortController();
  let abortedBy: EmbeddedResult["abortedBy"];
  const onAbort = () => {
    abortedBy ??= "signal";
    stop.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const hardDeadline = setTimeout(() => {
    abortedBy ??= "deadline";
    stop.abort();
  }, maxRunMs(profile) + 10_000);

  const started = performance.now();
  const live = new LiveFigures(registry, m, sets, started, options.onTick, () => {
    abortedBy ??= "threshold";
    stop.abort();
  });
  const ticker = setInterval(live.tick, 1000);

  try {
    const health = await script.health(stop.signal);
    if (health.status === 0 && !stop.signal.aborted) {
      throw labError("load target", `${options.target} does not answer (GET /health)`);
    }
    let nextVu = 1;
    const runs = scenarios.map(([name, config]) =>
      runScenario(config, {
        signal: stop.signal,
        nextVuId: () => nextVu++,
        vusChanged: live.vusChanged,
        dropped: () => m.dropped.add(1, { scenario: name }),
        iterationDone: (durationMs, interrupted) => {
          if (interrupted) return;
          const tags = script.tags(name);
          m.iterations.add(1, tags);
          m.iterationDuration.add(durationMs, tags);
        },
        iterate: (_vu: VuHandle, signal) =>
          config.exec === "mint" ? script.mint(name, signal) : script.redeem(name, signal),
      }),
    );
    await Promise.all(runs);
  } finally {
    clearInterval(ticker);
    clearTimeout(hardDeadline);
    options.signal?.removeEventListener("abort", onAbort);
    if (stop.signal.aborted) await pool.destroy();
    else await pool.close();
  }
  live.tick();
  const durationMs = performance.now() - started;
  const data = registry.summary(durationMs, options.tty ?? { stdout: false, stderr: false });
  const { ok } = registry.evaluate(durationMs);
  return {
    data,
    thresholdsOk: ok,
    aborted: abortedBy !== undefined,
    ...(abortedBy === undefined ? {} : { abortedBy }),
  };
}

/**
 * The run's live figures: the VU gauges, a `LiveTick` about once a second, and the
 * `abortOnFail` thresholds, whose failure (once past its `delayAbortEval`) ends the run.
 */
class LiveFigures {
  readonly #registry: Registry;
  readonly #m: ScriptMetrics;
  readonly #abortSets: ThresholdSet[];
  readonly #started: number;
  readonly #onTick: ((tick: LiveTick) => void) | undefined;
  readonly #abort: () => void;
  #vus = 0;
  #vusMax = 0;
  #lastCount = 0;
  #lastTickAt: number;

  constructor(
    registry: Registry,
    m: ScriptMetrics,
    sets: ThresholdSet[],
    started: number,
    onTick: ((tick: LiveTick) => void) | undefined,
    abort: () => void,
  ) {
    this.#registry = registry;
    this.#m = m;
    this.#abortSets = sets.filter((s) => s.thresholds.some((t) => t.abortOnFail));
    this.#started = started;
    this.#lastTickAt = started;
    this.#onTick = onTick;
    this.#abort = abort;
  }

  readonly vusChanged = (delta: number): void => {
    this.#vus += delta;
    if (this.#vus > this.#vusMax) this.#vusMax = this.#vus;
  };

  readonly tick = (): void => {
    const m = this.#m;
    const now = performance.now();
    m.vus.add(this.#vus, {});
    m.vusMax.add(this.#vusMax, {});
    const count = (m.reqs.sink.sinkValues(1).values["count"] ?? 0) as number;
    this.#onTick?.({
      elapsedMs: now - this.#started,
      vus: this.#vus,
      rps: ((count - this.#lastCount) * 1000) / Math.max(1, now - this.#lastTickAt),
      p95Ms: (m.duration.sink.sinkValues(1).percentile?.(95) ?? 0) as number,
      requests: count,
    });
    this.#lastCount = count;
    this.#lastTickAt = now;
    if (this.#abortSets.length > 0) {
      const { results } = this.#registry.evaluate(now - this.#started);
      for (const set of this.#abortSets) {
        for (const t of set.thresholds) {
          if (
            t.abortOnFail &&
            now - this.#started >= t.delayAbortEvalMs &&
            results.get(set.key)?.get(t.source) === false
          ) {
            this.#abort();
          }
        }
      }
    }
  };
}
