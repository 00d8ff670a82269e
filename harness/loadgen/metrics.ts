/**
 * The embedded engine's metrics: k6's four metric types, submetrics selected by tags,
 * and the summary JSON in the shape k6 hands to `handleSummary` (`metrics` with
 * `type`/`contains`/`values`/`thresholds`, `root_group`, `options`, `state`).
 * Every trend keeps its samples in an HDR histogram at microsecond precision; min, max
 * and the sum are exact.
 */
import { createHash } from "node:crypto";
import * as hdr from "hdr-histogram-js";
import { bugError } from "../errors.ts";
import { evaluateThreshold, type MetricType, type SinkValues, type ThresholdSet } from "./thresholds.ts";

export type Tags = Readonly<Record<string, string>>;

interface Sink {
  add(value: number): void;
  sinkValues(durationMs: number): SinkValues;
  summaryValues(durationMs: number, trendStats: readonly string[]): Record<string, number>;
}

class CounterSink implements Sink {
  value = 0;
  add(v: number) {
    this.value += v;
  }
  sinkValues(durationMs: number): SinkValues {
    return { values: { count: this.value, rate: this.value / (durationMs / 1000) } };
  }
  summaryValues(durationMs: number) {
    return { count: this.value, rate: durationMs > 0 ? this.value / (durationMs / 1000) : 0 };
  }
}

class GaugeSink implements Sink {
  value = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  add(v: number) {
    this.value = v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
  sinkValues(): SinkValues {
    return { values: { value: this.value } };
  }
  summaryValues() {
    return {
      value: this.value,
      min: Number.isFinite(this.min) ? this.min : 0,
      max: Number.isFinite(this.max) ? this.max : 0,
    };
  }
}

class RateSink implements Sink {
  trues = 0;
  total = 0;
  add(v: number) {
    this.total++;
    if (v !== 0) this.trues++;
  }
  sinkValues(): SinkValues {
    // Like k6: no samples, no rate, so its thresholds are not tested.
    return { values: this.total > 0 ? { rate: this.trues / this.total } : {} };
  }
  summaryValues() {
    return {
      rate: this.total > 0 ? this.trues / this.total : 0,
      passes: this.trues,
      fails: this.total - this.trues,
    };
  }
}

/** Microseconds per recorded unit: trends record milliseconds, the histogram holds µs. */
const US = 1000;

export class TrendSink implements Sink {
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly histogram = hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 40,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  }) as hdr.JsHistogram;
  /** Records a value in milliseconds (or the unit of a non-time trend). */
  add(v: number) {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.histogram.recordValue(Math.max(0, Math.round(v * US)));
  }
  /**
   * The value at `percent` (0..100) the way k6 computes it: the rank `percent/100*(n-1)`,
   * interpolated linearly between the two samples around it (here read from the histogram,
   * exact at both ends).
   */
  percentile(percent: number): number {
    if (this.count === 0) return 0;
    const rank = (Math.min(100, Math.max(0, percent)) / 100) * (this.count - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    const a = this.valueAtRank(lo);
    return lo === hi ? a : a + (this.valueAtRank(hi) - a) * (rank - lo);
  }
  /** The k-th smallest sample (0-based). */
  private valueAtRank(k: number): number {
    if (k <= 0) return this.min;
    if (k >= this.count - 1) return this.max;
    const v = this.histogram.getValueAtPercentile((100 * (k + 1)) / this.count);
    return Math.min(this.max, Math.max(this.min, this.histogram.medianEquivalentValue(v) / US));
  }
  avg(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }
  sinkValues(): SinkValues {
    const empty = this.count === 0;
    return {
      values: {
        min: empty ? 0 : this.min,
        max: empty ? 0 : this.max,
        avg: this.avg(),
        med: this.percentile(50),
      },
      percentile: (p) => this.percentile(p),
    };
  }
  summaryValues(_durationMs: number, trendStats: readonly string[]) {
    const values: Record<string, number> = {};
    const sv = this.sinkValues().values;
    for (const stat of trendStats) {
      const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
      if (p) values[stat] = this.percentile(Number(p[1]));
      else if (sv[stat] !== undefined) values[stat] = sv[stat];
    }
    return values;
  }
}

function newSink(type: MetricType): Sink {
  switch (type) {
    case "counter":
      return new CounterSink();
    case "gauge":
      return new GaugeSink();
    case "rate":
      return new RateSink();
    case "trend":
      return new TrendSink();
  }
}

interface Submetric {
  key: string;
  tags: ReadonlyArray<readonly [string, string]>;
  sink: Sink;
}

export class Metric {
  readonly name: string;
  readonly type: MetricType;
  readonly isTime: boolean;
  readonly sink: Sink;
  readonly submetrics: Submetric[] = [];
  /** Set once a sample arrived: k6 leaves metrics without samples out of the summary. */
  observed = false;

  constructor(name: string, type: MetricType, isTime: boolean) {
    this.name = name;
    this.type = type;
    this.isTime = isTime;
    this.sink = newSink(type);
  }

  add(value: number, tags: Tags): void {
    this.observed = true;
    this.sink.add(value);
    for (const sub of this.submetrics) {
      let match = true;
      for (const [k, v] of sub.tags) {
        if (tags[k] !== v) {
          match = false;
          break;
        }
      }
      if (match) sub.sink.add(value);
    }
  }

  /** The submetric for `key` (`name{tag:value}`), created on first use. */
  submetric(key: string, tags: ReadonlyArray<readonly [string, string]>): Submetric {
    let sub = this.submetrics.find((s) => s.key === key);
    if (sub === undefined) {
      sub = { key, tags, sink: newSink(this.type) };
      this.submetrics.push(sub);
    }
    return sub;
  }
}

/** The built-in metrics k6 defines, by name (what a threshold may name besides custom metrics). */
export const BUILTIN_METRICS: ReadonlyArray<readonly [string, MetricType, boolean]> = [
  ["vus", "gauge", false],
  ["vus_max", "gauge", false],
  ["iterations", "counter", false],
  ["iteration_duration", "trend", true],
  ["dropped_iterations", "counter", false],
  ["data_received", "counter", false],
  ["data_sent", "counter", false],
  ["checks", "rate", false],
  ["group_duration", "trend", true],
  ["http_reqs", "counter", false],
  ["http_req_failed", "rate", false],
  ["http_req_duration", "trend", true],
  ["http_req_blocked", "trend", true],
  ["http_req_connecting", "trend", true],
  ["http_req_tls_handshaking", "trend", true],
  ["http_req_sending", "trend", true],
  ["http_req_waiting", "trend", true],
  ["http_req_receiving", "trend", true],
];

export interface CheckTally {
  name: string;
  passes: number;
  fails: number;
}

/** The summary data k6 passes to `handleSummary(data)`. */
export interface SummaryData {
  root_group: {
    name: string;
    path: string;
    id: string;
    groups: unknown[];
    checks: Array<CheckTally & { path: string; id: string }>;
  };
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  metrics: Record<
    string,
    {
      type: MetricType;
      contains: "time" | "default";
      values: Record<string, number>;
      thresholds?: Record<string, { ok: boolean }>;
    }
  >;
}

export const TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"];

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

export class Registry {
  readonly metrics = new Map<string, Metric>();
  readonly checks = new Map<string, CheckTally>();
  private thresholdSets: ThresholdSet[] = [];

  constructor() {
    for (const [name, type, isTime] of BUILTIN_METRICS) this.define(name, type, isTime);
  }

  define(name: string, type: MetricType, isTime = false): Metric {
    let metric = this.metrics.get(name);
    if (metric === undefined) {
      metric = new Metric(name, type, isTime);
      this.metrics.set(name, metric);
    }
    return metric;
  }

  /** Name -> type of every defined metric, for threshold validation. */
  types(): Map<string, MetricType> {
    return new Map([...this.metrics].map(([name, m]) => [name, m.type]));
  }

  get(name: string): Metric {
    const metric = this.metrics.get(name);
    if (metric === undefined) throw bugError(`metric ${name} is not defined`);
    return metric;
  }

  /** Creates the submetrics the thresholds name (and k6's own `http_req_duration{expected_response:true}`). */
  useThresholds(sets: ThresholdSet[]): void {
    this.thresholdSets = sets;
    this.get("http_req_duration").submetric("http_req_duration{expected_response:true}", [
      ["expected_response", "true"],
    ]);
    for (const set of sets) {
      if (set.tags.length > 0) this.get(set.metric).submetric(set.key, set.tags);
    }
  }

  check(name: string, ok: boolean, tags: Tags): void {
    let tally = this.checks.get(name);
    if (tally === undefined) {
      tally = { name, passes: 0, fails: 0 };
      this.checks.set(name, tally);
    }
    if (ok) tally.passes++;
    else tally.fails++;
    const checks = this.get("checks");
    // Like k6, each sample carries its check's name, so `checks{check:...}` selects one check.
    checks.add(ok ? 1 : 0, checks.submetrics.length === 0 ? tags : { ...tags, check: name });
  }

  /** Evaluates every threshold; returns the failed ones as `key expression`. */
  evaluate(durationMs: number): { ok: boolean; results: Map<string, Map<string, boolean>> } {
    const results = new Map<string, Map<string, boolean>>();
    let ok = true;
    for (const set of this.thresholdSets) {
      const metric = this.get(set.metric);
      const sink = set.tags.length === 0 ? metric.sink : metric.submetric(set.key, set.tags).sink;
      const values = sink.sinkValues(durationMs);
      const byExpr = new Map<string, boolean>();
      for (const t of set.thresholds) {
        const pass = evaluateThreshold(t, values);
        byExpr.set(t.source, pass);
        if (!pass) ok = false;
      }
      results.set(set.key, byExpr);
    }
    return { ok, results };
  }

  /** The `handleSummary` data of the run. */
  summary(durationMs: number, tty: { stdout: boolean; stderr: boolean }): SummaryData {
    const { results } = this.evaluate(durationMs);
    const metrics: SummaryData["metrics"] = {};
    const put = (key: string, metric: Metric, sink: Sink) => {
      const entry: SummaryData["metrics"][string] = {
        type: metric.type,
        contains: metric.isTime ? "time" : "default",
        values: sink.summaryValues(durationMs, TREND_STATS),
      };
      const verdicts = results.get(key);
      if (verdicts) entry.thresholds = Object.fromEntries([...verdicts].map(([e, ok]) => [e, { ok }]));
      metrics[key] = entry;
    };
    for (const [name, metric] of this.metrics) {
      const thresholded = results.has(name);
      if (metric.observed || thresholded) put(name, metric, metric.sink);
      for (const sub of metric.submetrics) {
        if (metric.observed || results.has(sub.key)) put(sub.key, metric, sub.sink);
      }
    }
    return {
      root_group: {
        name: "",
        path: "",
        id: md5(""),
        groups: [],
        checks: [...this.checks.values()].map((c) => ({
          name: c.name,
          path: `::${c.name}`,
          id: md5(`::${c.name}`),
          passes: c.passes,
          fails: c.fails,
        })),
      },
      options: {
        summaryTrendStats: [...TREND_STATS],
        summaryTimeUnit: "",
        noColor: process.env["NO_COLOR"] !== undefined,
      },
      state: { isStdOutTTY: tty.stdout, isStdErrTTY: tty.stderr, testRunDurationMs: durationMs },
      metrics,
    };
  }
}
