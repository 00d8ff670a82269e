/**
 * 50 interruptions (SIGINT) at seeded random points across a drill with four kinds of
 * fault at once. After each: no toxic, no shock, no paused feed, no halted chain, no
 * process left, and the journal says `interrupted`. Prints how many were clean and how
 * long the runner took from SIGINT to a healed exit, against the anchor of an
 * uninterrupted run's teardown (heal to exit).
 *
 *   node bench/interrupt.ts [--runs 50] [--seed 1]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readLabInfo } from "../harness/lab/index.ts";
import { findResidue } from "../harness/lab/residue.ts";
import { ROOT } from "../harness/paths.ts";
import { isAlive } from "../harness/process.ts";
import { seededRandom } from "../harness/random.ts";
import type { Journal } from "../harness/runner/journal.ts";
import { percentile } from "../harness/stats.ts";
import { cli } from "../harness/testing/cli.ts";
import { until } from "../harness/testing/until.ts";
import { detachedLab } from "./support.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "50" }, seed: { type: "string", default: "1" } },
});
const runs = Number(values.runs);
const random = seededRandom(Number(values.seed));
const scenario = join(ROOT, "test", "fixtures", "scenarios", "short-multi-fault.yml");
const work = mkdtempSync(join(tmpdir(), "firedrill-bench-interrupt-"));
const labDir = join(work, "lab");
const down = await detachedLab(labDir);
const info = readLabInfo(join(labDir, "lab.json"));

const journalStatus = (dir: string): string | undefined => {
  const file = readdirSync(dir, { withFileTypes: true }).find((f) => f.name.endsWith(".journal.json"));
  return file ? (JSON.parse(readFileSync(join(dir, file.name), "utf8")) as Journal).status : undefined;
};

let clean = 0;
const exitMs: number[] = [];
const problems: string[] = [];
try {
  // The anchor: an uninterrupted run, from its last heal to its exit.
  const anchorRun = cli(["run", scenario, "--lab-dir", labDir, "--journal-dir", join(work, "anchor")]);
  let lastHeal = 0;
  anchorRun.child.stderr?.on("data", (d: Buffer) => {
    if (d.toString().includes("fault.healed")) lastHeal = performance.now();
  });
  await anchorRun.exit;
  const anchorMs = performance.now() - lastHeal;

  for (let i = 0; i < runs; i++) {
    const dir = join(work, `run-${i}`);
    const run = cli(["run", scenario, "--lab-dir", labDir, "--journal-dir", dir]);
    await until("the run to start", () => /short-multi-fault: tier/.test(run.output()), 60_000);
    const delayMs = Math.floor(random.next() * 8000);
    await new Promise((r) => setTimeout(r, delayMs));
    const sent = performance.now();
    run.child.kill("SIGINT");
    const code = await run.exit;
    exitMs.push(performance.now() - sent);
    const residue = await findResidue(info);
    const leftovers = readdirSync(join(labDir, "pids")).filter(
      (f) => f.startsWith("stack") || f.startsWith("sut"),
    );
    const status = code === 130 ? journalStatus(dir) : "finished before the signal";
    const ok =
      residue.length === 0 &&
      leftovers.length === 0 &&
      !isAlive(run.child.pid!) &&
      (code !== 130 || status === "interrupted");
    if (ok) clean += 1;
    else
      problems.push(
        `run ${i} at ${delayMs} ms: exit ${code}, ${status}; ${[...residue, ...leftovers].join("; ")}`,
      );
  }
  console.log(`interrupt bench: ${runs} SIGINTs at seeded points 0-8 s into a 4-fault drill`);
  console.log(`  clean after every one: ${clean}/${runs}`);
  for (const p of problems) console.log(`  NOT CLEAN ${p}`);
  console.log(
    `  SIGINT to healed exit: p50 ${percentile(exitMs, 50).toFixed(0)} ms, p95 ${percentile(exitMs, 95).toFixed(0)} ms`,
  );
  console.log(`  anchor, an uninterrupted run's last heal to exit: ${anchorMs.toFixed(0)} ms`);
  console.log(
    `SIGINT-to-exit p50 / uninterrupted teardown: ${(percentile(exitMs, 50) / anchorMs).toFixed(2)}x`,
  );
} finally {
  await down();
  rmSync(work, { recursive: true, force: true });
}
