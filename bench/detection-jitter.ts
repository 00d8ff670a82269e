/**
 * The start jitter against a polling system under test: the same drill (ethereum's primary
 * RPC provider down for 15 s) against a foreign stack that checks its provider every 5 s,
 * run with seeds 1..N, first with no start jitter (the anchor, in the same run), then with
 * a jitter of up to one polling cycle. Without it, the injection lands at the same point of
 * the stack's cycle every time and every drill measures about the same detection; with it,
 * the drills sample the cycle. Prints each detection, their spread (max - min), and the
 * ratio of the spreads.
 *
 *   node bench/detection-jitter.ts [--runs 5] [--poll 5000]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../harness/duration.ts";
import { ROOT } from "../harness/paths.ts";
import type { Journal } from "../harness/runner/journal.ts";
import { cli, stopChildren } from "../harness/testing/cli.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, poll: { type: "string", default: "5000" } },
});
const RUNS = Number(values.runs);
const POLL_MS = Number(values.poll);

const work = mkdtempSync(join(tmpdir(), "firedrill-bench-jitter-"));
const labDir = join(work, "lab");
const scenario = join(work, "polled-rpc-outage.yml");
writeFileSync(
  scenario,
  `name: polled-rpc-outage
description: ethereum's primary RPC provider down for 15 s, against a stack that polls it every ${POLL_MS} ms
targets: [rpc_providers]
steady_state:
  - probe: http_ok
    url: stack:/health
faults:
  - type: rpc_outage
    chain: ethereum
    provider: primary
    for: 15s
expect:
  detection: [RPC_FAILOVER]
max_duration: 2m
`,
);
const sut = `"${process.execPath}" "${join(ROOT, "harness", "stack", "example-sut.mjs")}"`;

async function drill(seed: number, jitter: string): Promise<number> {
  const dir = join(work, `${jitter}-${seed}`);
  const run = cli(
    [
      "run",
      scenario,
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
      "--seed",
      String(seed),
      "--start-jitter",
      jitter,
      "--sut",
      sut,
      "--map",
      join(ROOT, "scenarios", "systems-map.yml"),
    ],
    { ...process.env, EXAMPLE_SUT_POLL_MS: String(POLL_MS) },
  );
  const code = await run.exit;
  if (code !== 0) throw new Error(`seed ${seed}, jitter ${jitter}: exit ${code}\n${run.output()}`);
  const file = readdirSync(dir).find((f) => f.endsWith(".journal.json"))!;
  const journal = JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
  return journal.phases.detection_ms!;
}

const results: Record<string, number[]> = {};
try {
  const up = cli(["lab", "up", "--detach", "--dir", labDir]);
  if ((await up.exit) !== 0) throw new Error(`lab up failed:\n${up.output()}`);
  for (const jitter of ["0s", formatDuration(POLL_MS)]) {
    const list: number[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      list.push(await drill(seed, jitter));
      process.stdout.write(".");
    }
    results[jitter] = list;
  }
  process.stdout.write("\n");
} finally {
  await stopChildren();
  await cli(["lab", "down", "--dir", labDir]).exit;
  rmSync(work, { recursive: true, force: true });
}

const spread = (list: number[]) => Math.max(...list) - Math.min(...list);
console.log(`detection of a primary RPC outage by a stack that polls every ${POLL_MS} ms, seeds 1..${RUNS}:`);
for (const [jitter, list] of Object.entries(results)) {
  console.log(
    `  start jitter ${jitter.padEnd(4)}: ${list.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(", ")}  spread ${(spread(list) / 1000).toFixed(2)} s`,
  );
}
const [anchor, jittered] = Object.values(results) as [number[], number[]];
console.log(
  `spread with jitter / without: ${(spread(jittered) / Math.max(1, spread(anchor))).toFixed(1)}x (the cycle is ${POLL_MS} ms; a spread near it means the drills sample the whole cycle)`,
);
