/**
 * The release gate: the whole shipped library run with `--parallel N`, against the anchor,
 * the longest shipped scenario run alone in the same session. Prints both wall times, their
 * ratio (target: at most 2x), and each scenario's verdicts. With `--sequential`, the library
 * also runs one scenario after another, and the bench says whether every scenario's verdicts
 * (name and pass or fail) are identical in both.
 *
 *   node bench/gate.ts [--parallel 2] [--anchor redemption-run] [--sequential]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS_DIR } from "../harness/paths.ts";
import type { Journal } from "../harness/runner/journal.ts";
import { cli, stopChildren } from "../harness/testing/cli.ts";

const { values } = parseArgs({
  options: {
    parallel: { type: "string", default: "2" },
    anchor: { type: "string", default: "redemption-run" },
    sequential: { type: "boolean", default: false },
  },
});
const work = mkdtempSync(join(tmpdir(), "firedrill-bench-gate-"));

/** Runs `firedrill run <args>` into its own journal folder; its wall time and verdicts per scenario. */
async function timed(
  label: string,
  args: string[],
): Promise<{ ms: number; code: number | null; verdicts: Map<string, string[]> }> {
  const dir = join(work, label);
  const started = performance.now();
  const run = cli(["run", ...args, "--seed", "42", "--journal-dir", dir]);
  const code = await run.exit;
  const ms = performance.now() - started;
  const verdicts = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".journal.json"))) {
    const journal = JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
    verdicts.set(
      journal.scenario.name,
      journal.verdicts.map((v) => `${v.passed ? "pass" : "FAIL"} ${v.name}`),
    );
  }
  console.log(
    `${label.padEnd(22)} ${(ms / 1000).toFixed(1).padStart(6)} s  exit ${code}  ${verdicts.size} scenarios`,
  );
  return { ms, code, verdicts };
}

try {
  const anchor = await timed(`anchor ${values.anchor}`, [join(SCENARIOS_DIR, `${values.anchor}.yml`)]);
  const gate = await timed(`library --parallel ${values.parallel}`, [
    SCENARIOS_DIR,
    "--parallel",
    values.parallel,
  ]);
  const failed = [...gate.verdicts].filter(([, v]) => v.some((line) => line.startsWith("FAIL")));
  console.log(
    `gate / anchor: ${(gate.ms / anchor.ms).toFixed(2)}x (target at most 2x); ${gate.verdicts.size - failed.length}/${gate.verdicts.size} scenarios passed every verdict`,
  );
  for (const [name, lines] of failed)
    console.log(`  ${name}: ${lines.filter((l) => l.startsWith("FAIL")).join("; ")}`);
  if (values.sequential) {
    const sequential = await timed("library, sequential", [SCENARIOS_DIR]);
    const differ = [...sequential.verdicts].filter(
      ([name, lines]) => JSON.stringify(lines) !== JSON.stringify(gate.verdicts.get(name)),
    );
    console.log(
      `sequential / parallel: ${(sequential.ms / gate.ms).toFixed(2)}x; verdicts ${differ.length === 0 ? "identical" : `differ in ${differ.map(([n]) => n).join(", ")}`}`,
    );
  }
} finally {
  await stopChildren();
  rmSync(work, { recursive: true, force: true });
}
