/**
 * Every request of a load run, per scenario: how many, how many failed, the share of
 * iterations that succeeded, latency percentiles and a histogram in fixed buckets.
 *
 * k6 keeps a scenario's numbers in its summary only when a threshold names them, and has
 * no histogram. So the script (load/mint-redeem.js, and the embedded engine that mirrors
 * it) counts every request in one counter per latency bucket
 * (`http_req_latency_lt_<bound>`) and adds thresholds that always hold (`count>=0`,
 * `rate>=0`, `max>=0`) on each scenario's submetrics: both engines then carry all of it in
 * the summary, for one counter per request. These observations are never budgets: they
 * are left out of the verdicts.
 */
import type { SummaryData } from "./metrics.ts";

/** Upper bounds of the latency buckets, ms; they include the BCP's load budgets (15 s, 30 s). */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 15_000, 30_000, 60_000,
];

/** The bucket counters, in the order of the bounds, then the one past the last bound. */
export const BUCKET_METRICS: readonly string[] = [...LATENCY_BOUNDS_MS.map(String), "inf"].map(
  (lt) => `http_req_latency_lt_${lt}`,
);

/** The row of every request, setup's included. */
export const ALL = "all";

/** The bucket counter of a request that took `ms`: the first bound above it, or the last counter. */
export function bucketOf(ms: number): string {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms < b);
  return BUCKET_METRICS[i < 0 ? LATENCY_BOUNDS_MS.length : i]!;
}

/** The thresholds that keep every scenario's numbers in the summary (as load/mint-redeem.js adds them). */
export function observedThresholds(scenarios: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of scenarios) {
    out[`http_reqs{scenario:${name}}`] = ["count>=0"];
    out[`http_req_failed{scenario:${name}}`] = ["rate>=0"];
    out[`http_req_duration{scenario:${name}}`] = ["max>=0"];
    out[`success{scenario:${name}}`] = ["rate>=0"];
    for (const bucket of BUCKET_METRICS) out[`${bucket}{scenario:${name}}`] = ["count>=0"];
  }
  return out;
}

/** The expressions of one entry of a profile's `thresholds` (strings, or `{ threshold }` objects). */
function expressions(entry: unknown): string[] {
  return (Array.isArray(entry) ? entry : [])
    .map((t: unknown) => (typeof t === "string" ? t : (t as { threshold?: unknown })?.threshold))
    .filter((t): t is string => typeof t === "string");
}

/** The profile's thresholds with the observations added (the profile's own come first). */
export function withObserved(
  thresholds: Readonly<Record<string, unknown>> | undefined,
  scenarios: readonly string[],
): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [metric, entry] of Object.entries(thresholds ?? {}))
    out[metric] = Array.isArray(entry) ? [...entry] : [entry];
  for (const [metric, observed] of Object.entries(observedThresholds(scenarios))) {
    const have = expressions(out[metric]);
    out[metric] = [...(out[metric] ?? []), ...observed.filter((e) => !have.includes(e))];
  }
  return out;
}

/** True when `expression` on `metric` is an observation and not one of the profile's budgets. */
export function isObservation(
  metric: string,
  expression: string,
  thresholds: Readonly<Record<string, unknown>> | undefined,
  scenarios: readonly string[],
): boolean {
  return (
    (observedThresholds(scenarios)[metric] ?? []).includes(expression) &&
    !expressions(thresholds?.[metric]).includes(expression)
  );
}

export interface ScenarioRequests {
  /** A scenario of the profile, or `all`. */
  name: string;
  requests: number;
  failures: number;
  /** Share of iterations that reached their goal (the script's `success`); null when none ended. */
  successRate: number | null;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** `counts[i]` requests took less than `bounds_ms[i]` and at least the bound before; the last count is the rest. */
  histogram: { bounds_ms: number[]; counts: number[] };
}

/** One row per scenario of the profile, then `all`, from the summary of either engine. */
export function scenarioRows(data: SummaryData, scenarios: readonly string[]): ScenarioRequests[] {
  const values = (metric: string) =>
    (data.metrics as Record<string, { values?: Record<string, number> } | undefined>)[metric]?.values ?? {};
  return [...scenarios, ALL].map((name) => {
    const sel = (metric: string) => (name === ALL ? metric : `${metric}{scenario:${name}}`);
    const duration = values(sel("http_req_duration"));
    const requests = values(sel("http_reqs"))["count"] ?? 0;
    const success = values(sel("success"));
    return {
      name,
      requests,
      failures: Math.round(requests * (values(sel("http_req_failed"))["rate"] ?? 0)),
      // k6 reports a rate of 0 for a rate with no samples; passes + fails tells them apart.
      successRate: (success["passes"] ?? 0) + (success["fails"] ?? 0) > 0 ? (success["rate"] ?? 0) : null,
      p50Ms: duration["med"] ?? 0,
      p95Ms: duration["p(95)"] ?? 0,
      p99Ms: duration["p(99)"] ?? 0,
      maxMs: duration["max"] ?? 0,
      histogram: {
        bounds_ms: [...LATENCY_BOUNDS_MS],
        counts: BUCKET_METRICS.map((bucket) => values(sel(bucket))["count"] ?? 0),
      },
    };
  });
}
