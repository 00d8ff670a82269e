/**
 * The load a drill runs all through its faults (the scenario's `load` profile against the
 * SUT's gateway), and its rows in the journal: one per k6 scenario and `all`, each with the
 * profile's thresholds as budgets.
 */
import type { LoadSummary, ThresholdVerdict } from "../loadgen/index.ts";
import { ALL } from "../loadgen/tally.ts";
import { sleep } from "../process.ts";
import type { LoadSummary as JournalLoad } from "./journal.ts";
import type { RunRecord } from "./record.ts";
import type { Scenario } from "./scenario.ts";

/**
 * Starts the scenario's load, planned to last until 15 s after the last heal, and returns
 * once it has reached its stride. `done` settles when the load ends, after `onEnd` has its
 * journal rows (undefined when the scenario has no load); the release it pushes stops the load.
 */
export async function startLoad(
  scenario: Scenario,
  sut: { url: string; token: string },
  record: RunRecord,
  releases: Array<() => unknown>,
  interrupt: AbortSignal,
  onEnd: (load: JournalLoad) => void,
): Promise<{ done: Promise<void> | undefined }> {
  let loadDone: Promise<void> | undefined;
  const loadStop = new AbortController();
  if (scenario.load) {
    const { runLoad } = await import("../loadgen/index.ts");
    record.emit({
      kind: "load.started",
      name: scenario.load,
      summary: `load profile ${scenario.load} started`,
    });
    const maxMs = Math.max(...scenario.faults.map((f) => f.at + (f.for ?? 0))) + 15_000;
    loadDone = runLoad({
      profile: scenario.load,
      target: sut.url,
      token: sut.token,
      engine: "auto",
      duration: `${Math.ceil(maxMs / 1000)}s`,
      signal: loadStop.signal,
    }).then((summary) => {
      onEnd(journalLoad(summary, record.startedAt));
      record.emit({
        kind: "load.ended",
        name: scenario.load,
        summary: `load ended: ${summary.requests} requests, thresholds ${summary.thresholdsOk ? "held" : "failed"}`,
      });
    });
    releases.push(async () => {
      loadStop.abort();
      await loadDone?.catch(() => {});
    });
    // Let the load reach its stride before the first fault.
    await sleep(2000, interrupt);
  }
  return { done: loadDone };
}

function journalLoad(summary: LoadSummary, startedAt: Date): JournalLoad {
  const { scenarios } = loadScenarios(summary);
  return {
    profile: summary.profile,
    engine: summary.engine,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    scenarios,
  };
}

interface MetricValues {
  values?: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/**
 * Rows for the journal: one per k6 scenario and `all`, each with its requests, failures,
 * success rate, latency percentiles and histogram. Every threshold of the profile lands in
 * the row it names (untagged ones in `all`) as a budget.
 */
function loadScenarios(summary: LoadSummary): {
  scenarios: JournalLoad["scenarios"];
} {
  const metrics = (summary.data as unknown as { metrics: Record<string, MetricValues> }).metrics ?? {};
  const seconds = summary.durationMs / 1000 || 1;
  const value = (metric: string, stat: string) => metrics[metric]?.values?.[stat];
  const budget = (t: ThresholdVerdict) => {
    const [, stat = "value", limit = "0"] =
      t.expression.match(/^\s*([a-z0-9().]+)\s*[<>=!]+\s*([0-9.]+)/) ?? [];
    const measured =
      value(t.metric, stat) ?? value(t.metric, "rate") ?? value(t.metric, "value") ?? Number.NaN;
    return {
      metric: `${t.metric} ${stat}`,
      threshold: t.expression,
      limit: Number(limit),
      measured,
      passed: t.ok,
    };
  };
  const tagOf = (metric: string) => metric.match(/\{scenario:([^}]+)\}/)?.[1];
  const scenarios = summary.byScenario.map((r) => ({
    name: r.name,
    requests: r.requests,
    failures: r.failures,
    rps: r.requests / seconds,
    // No iteration ended: the share of requests that did not fail.
    success_rate: r.successRate ?? (r.requests > 0 ? 1 - r.failures / r.requests : 1),
    p50_ms: r.p50Ms,
    p95_ms: r.p95Ms,
    p99_ms: r.p99Ms,
    max_ms: r.maxMs,
    budgets: summary.thresholds
      .filter((t) => tagOf(t.metric) === (r.name === ALL ? undefined : r.name))
      .map(budget),
    histogram: r.histogram,
  }));
  return { scenarios };
}
