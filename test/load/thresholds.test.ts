import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { findK6 } from "../../harness/loadgen/k6.ts";
import { Registry } from "../../harness/loadgen/metrics.ts";
import {
  parseGoFloat,
  parseMetricKey,
  parseThresholdExpression,
  parseThresholds,
  type ThresholdSet,
} from "../../harness/loadgen/thresholds.ts";

const run = promisify(execFile);

// Which threshold keys and expressions k6 v1.8 accepts, checked against `k6 inspect`
// (run below when k6 is installed). `accept` is k6's answer; ours must be the same.
const TABLE: Array<{ key: string; expr: unknown; accept: boolean }> = [
  { key: "my_trend", expr: "p(95)<200", accept: true },
  { key: "my_trend", expr: " p(95) < 96 ", accept: true },
  { key: "my_trend", expr: "p(99.9)<=1", accept: true },
  { key: "my_trend", expr: "avg<1e3", accept: true },
  { key: "my_trend", expr: "avg<+5", accept: true },
  { key: "my_trend", expr: "avg< -5", accept: true },
  { key: "my_trend", expr: "avg<.5", accept: true },
  { key: "my_trend", expr: "avg<5.", accept: true },
  { key: "my_trend", expr: "avg<1_0", accept: true },
  { key: "my_trend", expr: "avg<inf", accept: true },
  { key: "my_trend", expr: "med===5", accept: true },
  { key: "my_trend", expr: "max!=5", accept: true },
  { key: "my_trend", expr: "min>=5", accept: true },
  { key: "my_rate", expr: "rate>0.999", accept: true },
  { key: "my_counter", expr: "count>0", accept: true },
  { key: "my_counter", expr: "rate<10", accept: true },
  { key: "my_gauge", expr: "value==4", accept: true },
  { key: "my_trend", expr: { threshold: "p(95)<1", abortOnFail: true, delayAbortEval: "10s" }, accept: true },
  { key: "my_trend{scenario:mint}", expr: "p(95)<30000", accept: true },
  { key: "my_trend{ a : b }", expr: "p(95)<1", accept: true },
  { key: "my_trend{a:b,c:d}", expr: "p(95)<1", accept: true },
  { key: "my_trend", expr: "p95<200", accept: false },
  { key: "my_trend", expr: "p( 95)<96", accept: false },
  { key: "my_trend", expr: "p()<1", accept: false },
  { key: "my_trend", expr: "p(abc)<1", accept: false },
  { key: "my_trend", expr: "p(95)<", accept: false },
  { key: "my_trend", expr: "<5", accept: false },
  { key: "my_trend", expr: "avg<0x10", accept: false },
  { key: "my_trend", expr: "avg<5 ms", accept: false },
  { key: "my_trend", expr: "avg=<5", accept: false },
  { key: "my_trend", expr: "avg=5", accept: false },
  { key: "my_trend", expr: "avg<5<6", accept: false },
  { key: "my_trend", expr: "AVG<5", accept: false },
  { key: "my_trend", expr: "avg!==5", accept: false },
  { key: "my_trend", expr: "avg<>5", accept: false },
  { key: "my_trend", expr: "rate<200", accept: false },
  { key: "my_trend", expr: "count>0", accept: false },
  { key: "my_rate", expr: "p(95)<1", accept: false },
  { key: "my_gauge", expr: "count>1", accept: false },
  { key: "nope", expr: "p(95)<200", accept: false },
  { key: "my_trend{a}", expr: "p(95)<1", accept: false },
  { key: "my_trend{}", expr: "p(95)<1", accept: false },
  { key: "my_trend{a:}", expr: "p(95)<1", accept: false },
  { key: "my_trend{a:b", expr: "p(95)<1", accept: false },
  { key: "my_trend{a:b}x", expr: "p(95)<1", accept: false },
  { key: "my_trend}{", expr: "p(95)<1", accept: false },
  { key: "my_trend{a:b,}", expr: "p(95)<1", accept: false },
  { key: "my_trend", expr: { abortOnFail: true }, accept: false },
  { key: "my_trend", expr: { threshold: "avg<2", delayAbortEval: "abc" }, accept: false },
  { key: "my_trend", expr: 5, accept: false },
];

const K6_SCRIPT = `
import { Counter, Gauge, Rate, Trend } from "k6/metrics";
const t = new Trend("my_trend"); const r = new Rate("my_rate"); const c = new Counter("my_counter");
const g = new Gauge("my_gauge"); const er = new Rate("empty_rate"); const et = new Trend("empty_trend");
const ec = new Counter("empty_counter");
export const options = { iterations: 1, vus: 1, thresholds: JSON.parse(__ENV.TH) };
export default function () {
  for (let i = 1; i <= 100; i++) t.add(i, { a: i % 2 === 0 ? "even" : "odd" });
  for (let i = 0; i < 10; i++) r.add(i < 7);
  c.add(5); g.add(3); g.add(9); g.add(4);
}
export function handleSummary(d) {
  const o = {};
  for (const [k, m] of Object.entries(d.metrics)) if (m.thresholds) o[k] = m.thresholds;
  return { stdout: JSON.stringify(o) };
}
`;

function registry(): Registry {
  const r = new Registry();
  r.define("my_trend", "trend");
  r.define("my_rate", "rate");
  r.define("my_counter", "counter");
  r.define("my_gauge", "gauge");
  r.define("empty_rate", "rate");
  r.define("empty_trend", "trend");
  r.define("empty_counter", "counter");
  return r;
}

function oursAccepts(key: string, expr: unknown): boolean {
  try {
    parseThresholds({ [key]: [expr] }, registry().types());
    return true;
  } catch {
    return false;
  }
}

// Thresholds evaluated by k6 v1.8.1 on the samples of K6_SCRIPT (trend 1..100, rate 7 of 10,
// counter 5, gauge 3/9/4, three metrics without samples), and the verdict k6 gave. Percentiles
// come from an HDR histogram (3 significant digits), so none is compared for exact equality.
const EVALUATIONS: Record<string, Record<string, boolean>> = {
  my_trend: {
    "p(95)<96": true,
    "p(95)>94": true,
    "p(90)<89": false,
    "avg==50.5": true,
    "avg===50.5": true,
    "med!=50": true,
    "med<60": true,
    "min>=1": true,
    "max<=100": true,
    "max<100": false,
    "p(0)<2": true,
    "p(100)==100": true,
    "p(99.9)>99": true,
  },
  "my_trend{a:even}": { "min==2": true, "max==100": true, "p(50)>40": true },
  "my_trend{a:none}": { "max<1": true, "avg>1": false },
  my_rate: { "rate>0.69": true, "rate<0.7": false, "rate==0.7": true, "rate>=0.8": false },
  my_counter: { "count==5": true, "count>5": false, "rate>0": true },
  my_gauge: { "value==4": true, "value>4": false },
  empty_rate: { "rate>0.5": true, "rate<0.5": true },
  empty_trend: { "p(95)<1": true, "avg>1": false },
  empty_counter: { "count<1": true, "count>=1": false },
};

function evaluateOurs(thresholds: Record<string, string[]>): Map<string, Map<string, boolean>> {
  const r = registry();
  const sets: ThresholdSet[] = parseThresholds(thresholds, r.types());
  r.useThresholds(sets);
  for (let i = 1; i <= 100; i++) r.get("my_trend").add(i, { a: i % 2 === 0 ? "even" : "odd" });
  for (let i = 0; i < 10; i++) r.get("my_rate").add(i < 7 ? 1 : 0, {});
  r.get("my_counter").add(5, {});
  for (const v of [3, 9, 4]) r.get("my_gauge").add(v, {});
  return r.evaluate(1000).results;
}

describe("load thresholds", () => {
  it("parses expressions into method, percentile, operator and value", () => {
    expect(parseThresholdExpression("p(99.9) <= 250")).to.deep.include({
      method: "p",
      percentile: 99.9,
      operator: "<=",
      value: 250,
    });
    expect(parseThresholdExpression("rate>0.999")).to.deep.include({
      method: "rate",
      operator: ">",
      value: 0.999,
    });
    expect(parseThresholdExpression("avg===1")).to.deep.include({ operator: "===" });
  });

  it("reads Go floats like strconv.ParseFloat", () => {
    expect(parseGoFloat("1e3")).to.equal(1000);
    expect(parseGoFloat("1_000")).to.equal(1000);
    expect(parseGoFloat("0x1p4")).to.equal(16);
    expect(parseGoFloat("0x10")).to.equal(undefined);
    expect(parseGoFloat("-Inf")).to.equal(Number.NEGATIVE_INFINITY);
    expect(parseGoFloat("")).to.equal(undefined);
    expect(parseGoFloat("1_")).to.equal(undefined);
  });

  it("splits submetric keys into metric and tags", () => {
    expect(parseMetricKey("http_req_duration{scenario:mint}")).to.deep.equal({
      metric: "http_req_duration",
      tags: [["scenario", "mint"]],
    });
    expect(parseMetricKey("x{ a : 'b' ,c:d}").tags).to.deep.equal([
      ["a", "b"],
      ["c", "d"],
    ]);
  });

  it("accepts and rejects the same table of expressions as k6", () => {
    for (const row of TABLE) {
      expect(oursAccepts(row.key, row.expr), `${row.key}: ${JSON.stringify(row.expr)}`).to.equal(row.accept);
    }
  });

  it("rejects percentiles outside 0..100 (k6 accepts them and then crashes evaluating them)", () => {
    expect(oursAccepts("my_trend", "p(101)<1")).to.equal(false);
    expect(oursAccepts("my_trend", "p(-1)<1")).to.equal(false);
  });

  it("evaluates thresholds on known samples as k6 did", () => {
    const thresholds = Object.fromEntries(Object.entries(EVALUATIONS).map(([k, v]) => [k, Object.keys(v)]));
    const ours = evaluateOurs(thresholds);
    for (const [key, exprs] of Object.entries(EVALUATIONS)) {
      for (const [expr, ok] of Object.entries(exprs)) {
        expect(ours.get(key)?.get(expr), `${key} ${expr}`).to.equal(ok);
      }
    }
  });

  it("computes percentiles within 0.1% of k6's exact interpolation", () => {
    const values = Array.from(
      { length: 5000 },
      (_, i) => 0.2 + ((i * 7919) % 5000) * 0.37 + (i % 13) * 0.011,
    );
    const r = registry();
    for (const v of values) r.get("my_trend").add(v, {});
    const sorted = [...values].sort((a, b) => a - b);
    const exact = (p: number) => {
      const i = (p / 100) * (sorted.length - 1);
      const lo = sorted[Math.floor(i)]!;
      return lo + (sorted[Math.ceil(i)]! - lo) * (i - Math.floor(i));
    };
    const sink = r.get("my_trend").sink.sinkValues(1000);
    for (const p of [1, 25, 50, 90, 95, 99, 99.9]) {
      const ours = sink.percentile!(p);
      expect(Math.abs(ours - exact(p)) / exact(p), `p(${p}) ${ours} vs ${exact(p)}`).to.be.below(0.001);
    }
    expect(sink.values["min"]).to.equal(sorted[0]);
    expect(sink.values["max"]).to.equal(sorted.at(-1));
  });

  describe("against real k6", function () {
    this.timeout(60_000);
    const bin = findK6();
    let dir: string;
    before(function () {
      if (bin === undefined) {
        console.log("    (skipped: k6 not found on PATH, K6_BIN or .tools/bin/k6)");
        this.skip();
      }
      dir = mkdtempSync(join(tmpdir(), "fd-thresholds-"));
      writeFileSync(join(dir, "t.js"), K6_SCRIPT);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("k6 inspect accepts and rejects the table as the table says", async () => {
      const rows = await Promise.all(
        TABLE.map(async (row) => {
          const th = JSON.stringify({ [row.key]: [row.expr] });
          try {
            await run(bin!, ["inspect", "--execution-requirements", "-e", `TH=${th}`, join(dir, "t.js")]);
            return { row, k6: true };
          } catch {
            return { row, k6: false };
          }
        }),
      );
      for (const { row, k6 } of rows)
        expect(k6, `k6 on ${row.key}: ${JSON.stringify(row.expr)}`).to.equal(row.accept);
    });

    it("k6 run gives the same verdicts as the embedded evaluator", async () => {
      const thresholds = Object.fromEntries(Object.entries(EVALUATIONS).map(([k, v]) => [k, Object.keys(v)]));
      const { stdout } = await run(
        bin!,
        ["run", "--quiet", "-e", `TH=${JSON.stringify(thresholds)}`, join(dir, "t.js")],
        {
          env: { ...process.env, K6_NO_USAGE_REPORT: "true" },
        },
      ).catch((error: { stdout: string }) => error); // exits 99: some thresholds fail on purpose
      const k6 = JSON.parse(stdout) as Record<string, Record<string, { ok: boolean }>>;
      const ours = evaluateOurs(thresholds);
      for (const [key, exprs] of Object.entries(EVALUATIONS)) {
        for (const expr of Object.keys(exprs)) {
          expect(ours.get(key)?.get(expr), `${key} ${expr}`).to.equal(k6[key]?.[expr]?.ok);
        }
      }
    });
  });
});
