import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import {
  constantArrivalOffsets,
  rampingArrivalOffsets,
  rampingVuSteps,
  runScenario,
  type ScenarioHooks,
  vusAt,
} from "../../harness/loadgen/executors.ts";
import { findK6 } from "../../harness/loadgen/k6.ts";
import type { ScenarioConfig } from "../../harness/loadgen/profile.ts";
import { sleep } from "../../harness/process.ts";
import { expectNear } from "../near.ts";

const run = promisify(execFile);

interface Trace {
  starts: Array<{ vu: number; atMs: number }>;
  dropped: number;
  completed: number;
  interrupted: number;
  vus: number;
  peak: number;
}

/** Runs a scenario whose iterations take `iterationMs` and records what the executor did. */
async function trace(config: ScenarioConfig, iterationMs: number, signal = new AbortController().signal) {
  const t: Trace = { starts: [], dropped: 0, completed: 0, interrupted: 0, vus: 0, peak: 0 };
  const started = performance.now();
  let nextId = 1;
  const hooks: ScenarioHooks = {
    signal,
    nextVuId: () => nextId++,
    vusChanged: (delta) => {
      t.vus += delta;
      t.peak = Math.max(t.peak, t.vus);
    },
    dropped: () => t.dropped++,
    iterationDone: (_ms, interrupted) => {
      if (interrupted) t.interrupted++;
      else t.completed++;
    },
    iterate: async (vu, s) => {
      t.starts.push({ vu: vu.id, atMs: performance.now() - started });
      await sleep(iterationMs, s);
      if (s.aborted) throw new Error("interrupted");
    },
  };
  const result = await runScenario(config, hooks);
  return { t, result, elapsedMs: performance.now() - started };
}

/**
 * How many of a schedule's starts real k6 may not make: k6's arrival-rate executors wait for
 * each start on a timer in a `select` that also watches the end of the scenario's duration,
 * and return as soon as that end is seen. A start due at the very end (our schedules include
 * it, as k6 v1 does) races the end, and on a busy machine a timer that fires late lets the
 * starts due in its last moments race it too. So k6 starts the schedule's count, less at most
 * the starts due in the last 100 ms; never more.
 */
function racingTheEnd(offsetsMs: readonly number[], durationMs: number): number {
  return offsetsMs.filter((o) => o >= durationMs - 100).length;
}

describe("load executors", function () {
  this.timeout(20_000);

  describe("schedules", () => {
    it("ramping-vus steps one VU at a time, flooring a ramp up and ceiling a ramp down", () => {
      const steps = rampingVuSteps(0, [
        { durationMs: 10_000, target: 10 },
        { durationMs: 5_000, target: 10 },
        { durationMs: 10_000, target: 0 },
      ]);
      expect(vusAt(steps, 0)).to.equal(0);
      expect(vusAt(steps, 999)).to.equal(0);
      expect(vusAt(steps, 1000)).to.equal(1);
      expect(vusAt(steps, 5500)).to.equal(5);
      expect(vusAt(steps, 10_000)).to.equal(10);
      expect(vusAt(steps, 14_999)).to.equal(10);
      expect(vusAt(steps, 15_000)).to.equal(10);
      expect(vusAt(steps, 15_999)).to.equal(10);
      expect(vusAt(steps, 16_000)).to.equal(9);
      expect(vusAt(steps, 24_999)).to.equal(1);
      expect(vusAt(steps, 25_000)).to.equal(0);
    });

    it("ramping-vus with a zero-length stage jumps at once", () => {
      const steps = rampingVuSteps(5, [
        { durationMs: 0, target: 50 },
        { durationMs: 1000, target: 50 },
      ]);
      expect(vusAt(steps, 0)).to.equal(50);
    });

    it("the BCP's spike goes 100 -> 1000 -> 100 VUs", () => {
      const half = rampingVuSteps(50, [
        { durationMs: 30_000, target: 50 },
        { durationMs: 30_000, target: 500 },
        { durationMs: 60_000, target: 500 },
        { durationMs: 30_000, target: 50 },
      ]);
      expect(2 * vusAt(half, 10_000)).to.equal(100);
      expect(2 * vusAt(half, 100_000)).to.equal(1000);
      expect(2 * vusAt(half, 150_000)).to.equal(100);
    });

    it("constant arrival rate starts one every timeUnit/rate, from 0 through the end (as k6 v1)", () => {
      const offsets = [...constantArrivalOffsets(10, 1000, 2000)];
      expect(offsets).to.have.length(21);
      expect(offsets[0]).to.equal(0);
      expectNear(offsets[1], 100, 1e-9);
      expectNear(offsets[20], 2000, 1e-9);
    });

    it("ramping arrival rate starts the n-th iteration when the integral of the rate reaches n", () => {
      const offsets = [...rampingArrivalOffsets(0, 1000, [{ durationMs: 2000, target: 10 }])];
      expect(offsets).to.have.length(10); // area of the ramp: 2 s * 10/s / 2
      // N(t) = 10 t^2 / 4 (t in s): the 1st start is at sqrt(0.4) s, the 5th at sqrt(2) s.
      expectNear(offsets[0], Math.sqrt(0.4) * 1000, 1e-6);
      expectNear(offsets[4], Math.sqrt(2) * 1000, 1e-6);
      expectNear(offsets[9], 2000, 1e-6);
      const down = [
        ...rampingArrivalOffsets(20, 1000, [
          { durationMs: 1000, target: 0 },
          { durationMs: 1000, target: 0 },
          { durationMs: 1000, target: 10 },
        ]),
      ];
      expect(down).to.have.length(15);
      expect(down.filter((o) => o > 1000 && o < 2000)).to.deep.equal([]);
    });

    it("per timeUnit: 60 per minute is one a second", () => {
      const offsets = [...constantArrivalOffsets(60, 60_000, 3000)];
      expect(offsets).to.deep.equal([0, 1000, 2000, 3000]);
    });

    it("real k6 starts as many arrival-rate iterations as these schedules, less only starts racing the end", async function () {
      const bin = findK6();
      if (bin === undefined) {
        console.log("      (skipped: k6 not found on PATH, K6_BIN or .tools/bin/k6)");
        this.skip();
      }
      const script = `
export const options = {
  scenarios: {
    c: { executor: "constant-arrival-rate", rate: 30, timeUnit: "1s", duration: "2s", preAllocatedVUs: 2 },
    r: { executor: "ramping-arrival-rate", startRate: 20, timeUnit: "1s", preAllocatedVUs: 2,
         stages: [{ duration: "1s", target: 0 }, { duration: "500ms", target: 0 }, { duration: "1s", target: 7 }] },
  },
  thresholds: { "iterations{scenario:c}": ["count>=0"], "iterations{scenario:r}": ["count>=0"] },
};
export default function () {}
export function handleSummary(d) {
  return { stdout: JSON.stringify([d.metrics["iterations{scenario:c}"].values.count, d.metrics["iterations{scenario:r}"].values.count]) };
}`;
      const dir = mkdtempSync(join(tmpdir(), "fd-arrival-"));
      try {
        writeFileSync(join(dir, "a.js"), script);
        const { stdout } = await run(bin!, ["run", "--quiet", join(dir, "a.js")], {
          env: { ...process.env, K6_NO_USAGE_REPORT: "true" },
        });
        const c = [...constantArrivalOffsets(30, 1000, 2000)];
        const r = [
          ...rampingArrivalOffsets(20, 1000, [
            { durationMs: 1000, target: 0 },
            { durationMs: 500, target: 0 },
            { durationMs: 1000, target: 7 },
          ]),
        ];
        const [k6c, k6r] = JSON.parse(stdout) as [number, number];
        expect(k6c, "constant-arrival-rate").to.be.within(c.length - racingTheEnd(c, 2000), c.length);
        expect(k6r, "ramping-arrival-rate").to.be.within(r.length - racingTheEnd(r, 2500), r.length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("running", () => {
    it("per-vu-iterations runs exactly vus x iterations, each VU its own share", async () => {
      const { t, result } = await trace(
        { executor: "per-vu-iterations", exec: "mint", vus: 4, iterations: 5, maxDuration: "10s" },
        1,
      );
      expect(result.iterations).to.equal(20);
      for (let vu = 1; vu <= 4; vu++) expect(t.starts.filter((s) => s.vu === vu)).to.have.length(5);
      expect(t.vus).to.equal(0);
    });

    it("shared-iterations runs exactly the shared count across its VUs", async () => {
      const { result, t } = await trace(
        { executor: "shared-iterations", exec: "mint", vus: 3, iterations: 17, maxDuration: "10s" },
        1,
      );
      expect(result.iterations).to.equal(17);
      expect(t.peak).to.equal(3);
    });

    it("constant-vus keeps its VUs busy for the duration and then stops by itself", async () => {
      const { result, t, elapsedMs } = await trace(
        { executor: "constant-vus", exec: "mint", vus: 5, duration: "500ms" },
        20,
      );
      expect(t.peak).to.equal(5);
      expect(elapsedMs).to.be.within(480, 900);
      // 5 VUs x 500 ms / ~20 ms per iteration: about 125, timer slack makes it fewer.
      expect(result.iterations).to.be.within(60, 130);
      // No iteration starts once the duration is over, counted from the scenario's own start
      // (its first iteration's): a pause before it would move every start later.
      const first = t.starts[0]!.atMs;
      expect(t.starts.filter((s) => s.atMs - first >= 500)).to.deep.equal([]);
    });

    it("constant-arrival-rate starts iterations at the rate, not faster", async () => {
      const { result, t } = await trace(
        {
          executor: "constant-arrival-rate",
          exec: "mint",
          rate: 50,
          timeUnit: "1s",
          duration: "1s",
          preAllocatedVUs: 5,
        },
        5,
      );
      expect(result.iterations).to.equal(51);
      expect(result.dropped).to.equal(0);
      expect(t.starts.at(-1)!.atMs).to.be.within(960, 1200);
    });

    it("constant-arrival-rate drops iterations when maxVUs are all busy", async () => {
      const { result } = await trace(
        {
          executor: "constant-arrival-rate",
          exec: "mint",
          rate: 40,
          timeUnit: "1s",
          duration: "500ms",
          preAllocatedVUs: 1,
          maxVUs: 2,
          gracefulStop: "1s",
        },
        200,
      );
      expect(result.iterations + result.dropped).to.equal(21);
      expect(result.dropped).to.be.greaterThan(10);
      expect(result.peakVus).to.equal(2);
    });

    it("ramping-vus follows the stages", async () => {
      const seen: number[] = [];
      const { t } = await trace(
        {
          executor: "ramping-vus",
          exec: "mint",
          startVUs: 1,
          stages: [
            { duration: "300ms", target: 4 },
            { duration: "300ms", target: 4 },
            { duration: "300ms", target: 1 },
          ],
          gracefulRampDown: "1s",
        },
        10,
      );
      const activeAt = (lo: number, hi: number) =>
        new Set(t.starts.filter((s) => s.atMs >= lo && s.atMs < hi).map((s) => s.vu));
      seen.push(activeAt(0, 50).size, activeAt(350, 600).size, activeAt(850, 900).size);
      expect(seen[0]).to.equal(1);
      expect(seen[1]).to.equal(4);
      expect(seen[2]).to.be.at.most(2);
      expect(t.peak).to.equal(4);
      // Counted from the scenario's own start (its first iteration), not from before the
      // engine was set up: on a busy machine the two differ by more than a few ms.
      const origin = t.starts[0]!.atMs;
      expect(t.starts.filter((s) => s.atMs - origin >= 900).map((s) => s.atMs - origin)).to.deep.equal([]);
    });

    it("interrupts iterations still running when the graceful stop is over", async () => {
      const { result, elapsedMs } = await trace(
        { executor: "constant-vus", exec: "mint", vus: 2, duration: "100ms", gracefulStop: "100ms" },
        5000,
      );
      expect(result.interrupted).to.equal(2);
      expect(elapsedMs).to.be.below(1000);
    });

    it("stops at once when the caller aborts", async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const { elapsedMs } = await trace(
        { executor: "constant-vus", exec: "mint", vus: 3, duration: "30s" },
        10,
        controller.signal,
      );
      expect(elapsedMs).to.be.below(1000);
    });
  });
});
