import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import { LATENCY_BOUNDS_MS, RequestTally, tallyK6Output } from "../../harness/loadgen/tally.ts";

const point = (metric: string, value: number, tags: Record<string, string>) =>
  JSON.stringify({ metric, type: "Point", data: { time: "2026-11-26T04:00:00Z", value, tags } });

describe("load tally", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "fd-tally-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("counts each request in the bucket below its bound, per scenario and in all", () => {
    const tally = new RequestTally();
    for (const ms of [5, 9.99, 10, 24.9, 14_999, 15_000, 60_000, 90_000]) tally.request("redeem", ms);
    tally.request(undefined, 3); // setup: in `all` only
    tally.failure("redeem");
    tally.outcome("redeem", true);
    tally.outcome("redeem", false);
    const [redeem, all] = tally.rows();
    expect(redeem!.name).to.equal("redeem");
    expect(redeem!.histogram.bounds_ms).to.deep.equal([...LATENCY_BOUNDS_MS]);
    const at = (bound: number) => redeem!.histogram.counts[LATENCY_BOUNDS_MS.indexOf(bound)];
    expect(at(10), "[0, 10)").to.equal(2);
    expect(at(25), "[10, 25)").to.equal(2);
    expect(at(15_000), "[10 s, 15 s)").to.equal(1);
    expect(at(30_000), "[15 s, 30 s)").to.equal(1);
    expect(redeem!.histogram.counts.at(-1), "60 s and over").to.equal(2);
    expect(redeem).to.include({ requests: 8, failures: 1, successRate: 0.5, maxMs: 90_000 });
    expect(all).to.include({ name: "all", requests: 9, failures: 1 });
    expect(all!.histogram.counts[0]).to.equal(3);
  });

  it("is empty but present when nothing ran", () => {
    const [all] = new RequestTally().rows();
    expect(all).to.include({ name: "all", requests: 0, failures: 0, successRate: null, p95Ms: 0, maxMs: 0 });
    expect(all!.histogram.counts).to.have.length(LATENCY_BOUNDS_MS.length + 1);
  });

  it("reads k6's gzipped JSON output, and what came before the cut of one k6 was stopped in", async () => {
    const lines = [
      JSON.stringify({ type: "Metric", metric: "http_req_duration", data: { name: "http_req_duration" } }),
      point("http_reqs", 1, { scenario: "mint" }),
      point("http_req_duration", 12.5, { scenario: "mint", url: 'http://x/"metric":"success"' }),
      point("http_req_failed", 0, { scenario: "mint" }),
      point("success", 1, { scenario: "mint" }),
      point("http_req_duration", 30, { scenario: "redeem" }),
      point("http_req_failed", 1, { scenario: "redeem" }),
      point("success", 0, { scenario: "redeem" }),
      point("http_req_duration", 2, { group: "::setup" }),
    ];
    const file = join(dir, "points.json.gz");
    writeFileSync(file, gzipSync(`${lines.join("\n")}\n`));
    const rows = (await tallyK6Output(file)).rows();
    expect(rows.map((r) => [r.name, r.requests, r.failures, r.successRate])).to.deep.equal([
      ["mint", 1, 0, 1],
      ["redeem", 1, 1, 0],
      ["all", 3, 1, 0.5],
    ]);
    expect(rows[0]!.p95Ms).to.equal(12.5);

    const many = Array.from({ length: 5000 }, (_, i) => point("http_req_duration", i, { scenario: "mint" }));
    const whole = gzipSync(`${many.join("\n")}\n`);
    const cut = join(dir, "cut.json.gz");
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const partial = (await tallyK6Output(cut)).rows()[0]!;
    expect(partial.requests).to.be.greaterThan(0).and.lessThan(5000);
  });
});
