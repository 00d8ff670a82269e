import { readFileSync } from "node:fs";
import { expect } from "chai";
import type { SummaryData } from "../../harness/loadgen/metrics.ts";
import { SCRIPT_FILE } from "../../harness/loadgen/profile.ts";
import {
  BUCKET_METRICS,
  bucketOf,
  isObservation,
  LATENCY_BOUNDS_MS,
  observedThresholds,
  scenarioRows,
  withObserved,
} from "../../harness/loadgen/tally.ts";

describe("load tally", () => {
  it("puts a request in the bucket of the first bound above its duration", () => {
    expect(
      [0, 9.99, 10, 24.9, 14_999, 15_000, 59_999, 60_000, 1e9].map((ms) =>
        bucketOf(ms).slice("http_req_latency_lt_".length),
      ),
    ).to.deep.equal(["10", "10", "25", "25", "15000", "30000", "60000", "inf", "inf"]);
    expect(BUCKET_METRICS).to.have.length(LATENCY_BOUNDS_MS.length + 1);
  });

  it("the script counts in the same buckets as the embedded engine", () => {
    const script = readFileSync(SCRIPT_FILE, "utf8");
    const bounds = /const LATENCY_BOUNDS_MS = \[([^\]]+)\]/.exec(script)?.[1];
    expect(bounds?.split(",").map(Number)).to.deep.equal([...LATENCY_BOUNDS_MS]);
    expect(script).to.include(BUCKET_METRICS[0]!.replace(/\d+$/, ""));
  });

  it("adds observations to a profile's budgets and never takes them for one", () => {
    const budgets = {
      "http_req_duration{scenario:mint}": ["p(95)<30000", { threshold: "max>=0", abortOnFail: false }],
      success: ["rate>0.999"],
    };
    const all = withObserved(budgets, ["mint"]);
    expect(all["http_req_duration{scenario:mint}"]).to.deep.equal(
      budgets["http_req_duration{scenario:mint}"],
    );
    expect(all["success"]).to.deep.equal(["rate>0.999"]);
    expect(all["http_reqs{scenario:mint}"]).to.deep.equal(["count>=0"]);
    expect(all["http_req_latency_lt_inf{scenario:mint}"]).to.deep.equal(["count>=0"]);
    expect(Object.keys(observedThresholds(["mint", "redeem"]))).to.have.length(
      2 * (4 + LATENCY_BOUNDS_MS.length + 1),
    );
    expect(isObservation("http_reqs{scenario:mint}", "count>=0", budgets, ["mint"])).to.equal(true);
    expect(
      isObservation("http_req_duration{scenario:mint}", "max>=0", budgets, ["mint"]),
      "a budget too",
    ).to.equal(false);
    expect(isObservation("success", "rate>0.999", budgets, ["mint"])).to.equal(false);
  });

  it("reads each scenario's row and all from the summary", () => {
    const metric = (values: Record<string, number>) => ({ type: "counter", contains: "default", values });
    const metrics: Record<string, unknown> = {
      http_reqs: metric({ count: 5 }),
      "http_reqs{scenario:mint}": metric({ count: 4 }),
      "http_req_failed{scenario:mint}": metric({ rate: 0.25, passes: 1, fails: 3 }),
      "http_req_duration{scenario:mint}": metric({ med: 20, "p(95)": 40, "p(99)": 45, max: 50 }),
      "success{scenario:mint}": metric({ rate: 0.75, passes: 3, fails: 1 }),
      "success{scenario:redeem}": metric({ rate: 0, passes: 0, fails: 0 }),
      "http_req_latency_lt_25{scenario:mint}": metric({ count: 3 }),
      "http_req_latency_lt_100{scenario:mint}": metric({ count: 1 }),
      http_req_latency_lt_10: metric({ count: 1 }),
      http_req_latency_lt_25: metric({ count: 3 }),
      http_req_latency_lt_100: metric({ count: 1 }),
    };
    const rows = scenarioRows({ metrics } as unknown as SummaryData, ["mint", "redeem"]);
    expect(rows.map((r) => r.name)).to.deep.equal(["mint", "redeem", "all"]);
    const [mint, redeem, all] = rows;
    expect(mint).to.include({ requests: 4, failures: 1, successRate: 0.75, p50Ms: 20, p95Ms: 40, maxMs: 50 });
    expect(mint!.histogram.counts).to.deep.equal([0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(redeem).to.include({ requests: 0, failures: 0, successRate: null });
    expect(all!.requests).to.equal(5);
    expect(all!.histogram.counts.reduce((a, b) => a + b, 0)).to.equal(5);
  });
});
