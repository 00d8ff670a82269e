/**
 * Every request of a load run, per scenario: how many, how many failed, their latencies
 * (percentiles computed the way k6 computes them) and a histogram in fixed buckets. k6's
 * summary holds a scenario's numbers only when a threshold names it, and no histogram at
 * all, so the journal takes them from here: the embedded engine fills the tally as it
 * goes, and k6's own per-request output (`--out json`) is read into one after its run.
 */
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { constants, createGunzip } from "node:zlib";
import { TrendSink } from "./metrics.ts";

/** Upper bounds of the latency buckets, ms; they include the seed's budgets (15 s, 30 s). */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 15_000, 30_000, 60_000,
];

/** The row of every request, setup's included. */
export const ALL = "all";

export interface ScenarioRequests {
  /** A scenario of the profile, or `all`. */
  name: string;
  requests: number;
  failures: number;
  /** Share of iterations that reached their goal; null when none ended. */
  successRate: number | null;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** `counts[i]` requests took less than `bounds_ms[i]` and at least the bound before; the last count is the rest. */
  histogram: { bounds_ms: number[]; counts: number[] };
}

interface Row {
  trend: TrendSink;
  failures: number;
  counts: number[];
  outcomes: number;
  successes: number;
}

export class RequestTally {
  readonly #rows = new Map<string, Row>();

  #each(scenario: string | undefined, fn: (row: Row) => void): void {
    for (const name of scenario ? [scenario, ALL] : [ALL]) {
      let row = this.#rows.get(name);
      if (!row) {
        row = {
          trend: new TrendSink(),
          failures: 0,
          counts: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0),
          outcomes: 0,
          successes: 0,
        };
        this.#rows.set(name, row);
      }
      fn(row);
    }
  }

  /** One request of `scenario` (undefined: outside every scenario, e.g. setup) that took `durationMs`. */
  request(scenario: string | undefined, durationMs: number): void {
    let bucket = LATENCY_BOUNDS_MS.findIndex((bound) => durationMs < bound);
    if (bucket < 0) bucket = LATENCY_BOUNDS_MS.length;
    this.#each(scenario, (row) => {
      row.trend.add(durationMs);
      row.counts[bucket]!++;
    });
  }

  /** One failed request (an unexpected status, or none) of `scenario`. */
  failure(scenario: string | undefined): void {
    this.#each(scenario, (row) => {
      row.failures++;
    });
  }

  /** One iteration of `scenario` that reached its goal or not (the script's `success` rate). */
  outcome(scenario: string | undefined, ok: boolean): void {
    this.#each(scenario, (row) => {
      row.outcomes++;
      if (ok) row.successes++;
    });
  }

  /** The scenarios by name, then `all` (always present). */
  rows(): ScenarioRequests[] {
    const names = [...this.#rows.keys()].filter((n) => n !== ALL).sort();
    return [...names, ALL].map((name) => {
      const row = this.#rows.get(name);
      const trend = row?.trend ?? new TrendSink();
      return {
        name,
        requests: trend.count,
        failures: row?.failures ?? 0,
        successRate: row && row.outcomes > 0 ? row.successes / row.outcomes : null,
        p50Ms: trend.percentile(50),
        p95Ms: trend.percentile(95),
        p99Ms: trend.percentile(99),
        maxMs: trend.count === 0 ? 0 : trend.max,
        histogram: {
          bounds_ms: [...LATENCY_BOUNDS_MS],
          counts: row ? [...row.counts] : new Array(LATENCY_BOUNDS_MS.length + 1).fill(0),
        },
      };
    });
  }
}

interface K6Point {
  type?: string;
  metric?: string;
  data?: { value?: number; tags?: Record<string, string> };
}

/**
 * Reads the gzipped file of `k6 run --out json=<file>.gz`: every `http_req_duration` point
 * is a request, every `http_req_failed` point of 1 a failure, every `success` point an
 * outcome, under its `scenario` tag.
 */
export async function tallyK6Output(file: string): Promise<RequestTally> {
  const tally = new RequestTally();
  const take = (line: string) => {
    // Most points are of other metrics: skip them before parsing.
    const metric = /"metric":"(http_req_duration|http_req_failed|success)"/.exec(line)?.[1];
    if (!metric) return;
    const point = JSON.parse(line) as K6Point;
    if (point.type !== "Point" || typeof point.data?.value !== "number") return;
    const scenario = point.data.tags?.["scenario"] || undefined;
    const value = point.data.value;
    if (metric === "http_req_duration") tally.request(scenario, value);
    else if (metric === "http_req_failed") {
      if (value !== 0) tally.failure(scenario);
    } else tally.outcome(scenario, value !== 0);
  };
  const text = new StringDecoder("utf8");
  let rest = "";
  await pipeline(
    createReadStream(file),
    // A k6 that was stopped may leave the last block unfinished: keep what came before it.
    createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        const lines = (rest + text.write(chunk)).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) take(line);
      }
    },
  );
  try {
    take(rest);
  } catch {
    // The last line of a cut file: left out.
  }
  return tally;
}
