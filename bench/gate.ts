/**
 * The release gate: the whole shipped library run with `--parallel N`, against the anchor,
 * the longest shipped scenario run alone in the same session. Prints both wall times, their
 * ratio (target: at most 2x), and each scenario's verdicts.
 *
 * With `--alone`, every shipped scenario also runs alone, one `firedrill run` after another:
 * the longest of those wall times is the anchor (no separate anchor run), and the bench says
 * whether every scenario's verdicts (name and pass or fail) are identical in both. Without
 * it, the anchor is `--anchor NAME`, run once alone.
 *
 *   node bench/gate.ts [--parallel 8] [--alone | --anchor replay-black-thursday-2020-03]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS_DIR } from "../harness/paths.ts";
import type { Journal } from "../harness/runner/journal.ts";
import { shippedScenarios } from "../harness/runner/run-command.ts";
import { cli, stopChildren } from "../harness/testing/cli.ts";

const { values } = parseArgs({
  options: {
    parallel: { type: "string", default: "8" },
    anchor: { type: "string", default: "replay-black-thursday-2020-03" },
    alone: { type: "boolean", default: false },
  },
});
const work = mkdtempSync(join(tmpdir(), "firedrill-bench-gate-"));

type Verdicts = Map<string, string[]>;

/** Runs `firedrill run <args>` into its own journal folder; its wall time and verdicts per scenario. */
async function timed(
  label: string,
  args: string[],
): Promise<{ ms: number; code: number | null; verdicts: Verdicts }> {
  const dir = join(work, label.replace(/[^a-z0-9-]+/gi, "_"));
  const started = performance.now();
  const run = cli(["run", ...args, "--seed", "42", "--journal-dir", dir]);
  const code = await run.exit;
  const ms = performance.now() - started;
  const verdicts: Verdicts = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".journal.json"))) {
    const journal = JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
    verdicts.set(
      journal.scenario.name,
      journal.verdicts.map((v) => `${v.passed ? "pass" : "FAIL"} ${v.name}`),
    );
  }
  console.log(
    `${label.padEnd(36)} ${(ms / 1000).toFixed(1).padStart(6)} s  exit ${code}  ${verdicts.size} scenarios`,
  );
  return { ms, code, verdicts };
}

const failedIn = (verdicts: Verdicts) =>
  [...verdicts].filter(([, v]) => v.some((line) => line.startsWith("FAIL")));

try {
  // The anchor: every scenario alone (the longest of them), or the one named.
  const alone: Verdicts = new Map();
  let anchor = { name: values.anchor, ms: 0 };
  if (values.alone) {
    for (const file of shippedScenarios()) {
      const name = basename(file).replace(/\.ya?ml$/, "");
      const run = await timed(`alone ${name}`, [file]);
      for (const [scenario, lines] of run.verdicts) alone.set(scenario, lines);
      if (run.ms > anchor.ms) anchor = { name, ms: run.ms };
    }
    console.log(`anchor: ${anchor.name}, the longest alone, ${(anchor.ms / 1000).toFixed(1)} s`);
  } else {
    anchor.ms = (await timed(`anchor ${values.anchor}`, [join(SCENARIOS_DIR, `${values.anchor}.yml`)])).ms;
  }

  const gate = await timed(`library --parallel ${values.parallel}`, [
    SCENARIOS_DIR,
    "--parallel",
    values.parallel,
  ]);
  const failed = failedIn(gate.verdicts);
  console.log(
    `gate / anchor (${anchor.name}): ${(gate.ms / anchor.ms).toFixed(2)}x (target at most 2x); ${gate.verdicts.size - failed.length}/${gate.verdicts.size} scenarios passed every verdict`,
  );
  for (const [name, lines] of failed)
    console.log(`  ${name}: ${lines.filter((l) => l.startsWith("FAIL")).join("; ")}`);
  if (values.alone) {
    const differ = [...alone].filter(
      ([name, lines]) => JSON.stringify(lines) !== JSON.stringify(gate.verdicts.get(name)),
    );
    const missing = [...gate.verdicts.keys()].filter((name) => !alone.has(name));
    console.log(
      `verdicts alone and in parallel: ${differ.length + missing.length === 0 ? "identical" : `differ in ${[...differ.map(([n]) => n), ...missing].join(", ")}`} (${alone.size} scenarios)`,
    );
    for (const [name, lines] of differ)
      console.log(`  ${name}: alone ${lines.filter((l) => l.startsWith("FAIL")).join("; ") || "all pass"}`);
  }
} finally {
  await stopChildren();
  rmSync(work, { recursive: true, force: true });
}
