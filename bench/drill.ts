/**
 * The wall time of a whole tier-1 drill (lab up, stack up, steady state, faults, recovery,
 * invariants, journal), against its anchor: the scenario's own fault window, which no drill
 * can beat. Target: 60 s or less. Then the detection-time distribution over 20 oracle
 * outages against the BCP's 5 s health-check interval.
 *
 *   node bench/drill.ts [--runs 20] [--seed 5]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../harness/paths.ts";
import type { Journal } from "../harness/runner/journal.ts";
import { percentile } from "../harness/stats.ts";
import { cli } from "../harness/testing/cli.ts";
import { detachedLab } from "./support.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, seed: { type: "string", default: "5" } },
});
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), "firedrill-bench-drill-"));
const lastJournal = (dir: string): Journal => {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".journal.json"))
    .sort()
    .at(-1)!;
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
};

// 1. A whole drill, from the command to its verdict.
const t0 = performance.now();
const drill = cli(["drill", "--tier", "1", "--seed", values.seed!, "--journal-dir", join(work, "drill")]);
const code = await drill.exit;
const wallMs = performance.now() - t0;
const journal = lastJournal(join(work, "drill"));
const windowMs = Math.max(...journal.faults.map((f) => f.scheduled_at_ms + (f.scheduled_for_ms ?? 0)));
console.log(`drill: ${journal.scenario.name} (seed ${values.seed}) exit ${code}, ${journal.status}`);
console.log(
  `  wall time ${(wallMs / 1000).toFixed(1)} s (target <= 60 s); fault window ${(windowMs / 1000).toFixed(1)} s`,
);
console.log(`drill wall time / fault window: ${(wallMs / windowMs).toFixed(2)}x`);

// 2. Detection of an oracle outage, over `runs` runs against one lab.
const labDir = join(work, "lab");
const down = await detachedLab(labDir);
const detections: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const dir = join(work, `oracle-${i}`);
    const run = cli([
      "run",
      join(ROOT, "test", "fixtures", "scenarios", "short-oracle-outage.yml"),
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
    ]);
    await run.exit;
    const detection = lastJournal(dir).phases.detection_ms;
    if (detection === null) console.log(`  run ${i + 1}: not detected`);
    else detections.push(detection);
  }
} finally {
  await down();
  rmSync(work, { recursive: true, force: true });
}
const p50 = percentile(detections, 50);
const p95 = percentile(detections, 95);
console.log(
  `oracle outage detection over ${detections.length}/${runs} runs: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...detections).toFixed(0)} ms`,
);
console.log(`detection p95 / BCP's 5 s health check: ${(p95 / 5000).toFixed(3)}x`);
