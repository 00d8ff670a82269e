#!/usr/bin/env node
// Fresh-machine set-up, then one command. Plain JavaScript on purpose: this file must run
// under whatever Node is on PATH (the machine's may be older than 22.13), so it uses no
// dependency and no TypeScript.
//
//   node harness/bin/setup.mjs firedrill <verb> [args]   set up, then run the CLI
//   node harness/bin/setup.mjs test [mocha args]          set up, then lint, typecheck, test
//   node harness/bin/setup.mjs setup                      set up only
//
// Set-up: Node 22 from the npm registry (package node@22) into .tools/node22 when the
// running Node is too old; `npm ci` under that Node when node_modules is missing or older
// than package-lock.json; the Hardhat compile when a contract changed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NODE_PACKAGE = "node@22.23.3";
const MIN_NODE = [22, 13];
export const BOOTSTRAP_NODE = join(ROOT, ".tools", "node22", "node_modules", "node", "bin", "node");

/** True when `version` ("22.23.3") is at least MIN_NODE. */
export function nodeIsRecentEnough(version) {
  const [major, minor] = version.split(".").map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

function say(line) {
  process.stderr.write(`firedrill setup: ${line}\n`);
}

function run(cmd, args, env, what, { quiet = false } = {}) {
  // Quiet: the output is shown only when the step fails.
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: quiet ? "pipe" : "inherit", env, encoding: "utf8" });
  if (r.error || r.status !== 0) {
    if (quiet) process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    say(`${what} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);
    process.exit(3);
  }
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Returns the path of a Node >= 22.13, installing one from the npm registry if needed. */
export function ensureNode() {
  if (nodeIsRecentEnough(process.versions.node)) return process.execPath;
  if (!existsSync(BOOTSTRAP_NODE)) {
    say(
      `Node ${process.versions.node} is older than ${MIN_NODE.join(".")}: installing ${NODE_PACKAGE} into .tools/node22`,
    );
    run(
      "npm",
      [
        "install",
        "--prefix",
        join(ROOT, ".tools", "node22"),
        NODE_PACKAGE,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      process.env,
      `npm install ${NODE_PACKAGE}`,
    );
  }
  return BOOTSTRAP_NODE;
}

/** Environment whose PATH puts `node` first, so npm and every script run under it. */
export function envFor(node) {
  return { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ""}` };
}

function ensureDependencies(env) {
  const stamp = join(ROOT, "node_modules", ".package-lock.json");
  const lock = join(ROOT, "package-lock.json");
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs) return;
  say("installing dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], env, "npm ci");
}

function ensureCompiled(node, env) {
  const artifacts = join(ROOT, "artifacts", "contracts");
  const built = existsSync(artifacts) ? newestMtime(artifacts) : 0;
  if (built > 0 && built >= newestMtime(join(ROOT, "contracts"))) return;
  say("compiling contracts");
  run(
    node,
    [join(ROOT, "node_modules", "hardhat", "dist", "src", "cli.js"), "compile", "--quiet"],
    env,
    "hardhat compile",
    // Chainlink's own 0.6 sources draw compiler warnings that are not ours to act on.
    { quiet: true },
  );
}

/** Everything the two README commands need, idempotent and fast when nothing changed. */
export function setup() {
  const node = ensureNode();
  const env = envFor(node);
  ensureDependencies(env);
  ensureCompiled(node, env);
  return { node, env };
}

/**
 * Runs a child and exits with its status. A terminal's Ctrl-C reaches the child through
 * the process group, so SIGINT is not forwarded (that would make it a second Ctrl-C);
 * SIGTERM and SIGHUP, which a supervisor sends to this process alone, are.
 */
export function runForwardingSignals(cmd, args, env) {
  const child = spawn(cmd, args, { stdio: "inherit", env });
  process.on("SIGINT", () => {});
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
}

// Drills of the whole shipped library, two at a time: a mocha run of their own, beside the
// others (the drills mostly wait on their fault windows, so the two share the machine).
const RUN_ALONE = ["test/runner/shipped.test.ts"];

// Tests that compare two engines' latency tails: run last, on a machine nothing else loads.
const RUN_QUIET = ["test/load/engines.test.ts"];

/** Test workers for the files beside the shipped library (FIREDRILL_TEST_JOBS, default 2); undefined when not a whole number of at least 1. */
export function testJobs(env = process.env) {
  const text = env.FIREDRILL_TEST_JOBS ?? "2";
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
}

// The test files that take longest (k6, real Alertmanager, the Ctrl-C cases), started first
// so that the parallel test workers finish close together.
const LONGEST_TESTS = [
  "test/runner/run.test.ts",
  "test/examples/prometheus.test.ts",
  "test/runner/load.test.ts",
  "test/lab/fork.test.ts",
  "test/runner/rpc-drills.test.ts",
  "test/lab/chains.test.ts",
  "test/gameday/drill.test.ts",
  "test/runner/senders.test.ts",
  "test/faults/chain.test.ts",
  "test/runner/validate.test.ts",
  "test/runner/parallel.test.ts",
];

/** Every test file under `dir` (a path from the checkout's root), the longest first, then in name order. */
export function testFiles(dir = "test") {
  const rank = (f) => {
    const i = LONGEST_TESTS.indexOf(f);
    return i === -1 ? LONGEST_TESTS.length : i;
  };
  const base = dir.replace(/\/+$/, "");
  return readdirSync(join(ROOT, base), { recursive: true, encoding: "utf8" })
    .map((f) => `${base}/${f.split("\\").join("/")}`)
    .filter((f) => f.endsWith(".test.ts"))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

async function runTests(node, env, extra) {
  const jobs = testJobs(env);
  if (jobs === undefined) {
    say(`FIREDRILL_TEST_JOBS: a whole number of workers, at least 1, not "${env.FIREDRILL_TEST_JOBS}"`);
    return 2;
  }
  const bin = (name) => join(ROOT, "node_modules", ".bin", name);
  const steps = [
    ["lint", bin("biome"), ["check", "."]],
    ["typecheck", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]],
  ];
  for (const [what, cmd, args] of steps) {
    say(what);
    const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", env });
    if (r.status !== 0) {
      process.stdout.write(`\n0 passed, 1 failed\n`);
      say(`${what} failed`);
      return 1;
    }
  }
  say("tests");
  // Named files run as named, a named folder as its test files.
  const isPath = (a, i) => !a.startsWith("-") && !/^--(grep|grep-exclude)$/.test(extra[i - 1] ?? "");
  const isDir = (a) => existsSync(join(ROOT, a)) && statSync(join(ROOT, a)).isDirectory();
  const args = extra.flatMap((a, i) => (isPath(a, i) && isDir(a) ? testFiles(a) : [a]));
  if (extra.some(isPath)) return report([await mocha(node, env, args)]);
  // Otherwise every test file: the whole shipped library (it runs two drills at once itself)
  // in a mocha run of its own, printed when it ends, and beside it the others on
  // FIREDRILL_TEST_JOBS workers, the longest first; then the few that need a quiet machine.
  say(`the shipped library beside the other test files (${jobs} workers)`);
  const rest = testFiles().filter((f) => !RUN_ALONE.includes(f) && !RUN_QUIET.includes(f));
  const runs = await Promise.all([
    mocha(node, { ...env, FIREDRILL_TEST_JOBS: "1" }, [...RUN_ALONE, ...args], { held: true }),
    mocha(node, { ...env, FIREDRILL_TEST_JOBS: String(jobs) }, [...rest, ...args]),
  ]);
  say("the tests that compare latency tails, on their own");
  runs.push(await mocha(node, { ...env, FIREDRILL_TEST_JOBS: "1" }, [...RUN_QUIET, ...args]));
  return report(runs);
}

/** Prints the totals of one or more mocha runs on a line of their own; 0 when all passed. */
function report(runs) {
  const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
  const ok = runs.every((r) => r.ok) && sum("passed") > 0;
  const failed = sum("failed");
  // The failures of every run again, last: a log cut to its tail still shows them all.
  const failures = runs.map((r) => r.failures).filter(Boolean);
  if (failures.length > 0 && runs.length > 1)
    process.stdout.write(`\nthe failures of every run, again:\n${failures.join("\n")}\n`);
  process.stdout.write(
    `\n${sum("passed")} passed, ${ok ? failed : Math.max(failed, 1)} failed, ${sum("skipped")} skipped\n`,
  );
  return ok ? 0 : 1;
}

/**
 * Runs `hardhat test mocha <args>`, streaming its output (or, `held`, printing it whole when
 * it exits); its counts when it exits. The contracts were compiled by the set-up: runs side by
 * side must not each compile again, as they would race to write Hardhat's compile cache.
 */
function mocha(node, env, args, { held = false } = {}) {
  const hardhat = join(ROOT, "node_modules", "hardhat", "dist", "src", "cli.js");
  const child = spawn(node, [hardhat, "test", "mocha", "--no-compile", ...args], {
    cwd: ROOT,
    stdio: ["inherit", "pipe", "inherit"],
    // Node's experimental warnings (type stripping, node:sqlite) say nothing about the tests.
    env: {
      ...env,
      FORCE_COLOR: process.stdout.isTTY ? "1" : "0",
      NODE_OPTIONS: "--disable-warning=ExperimentalWarning",
    },
  });
  // Stream the output as it comes, and keep it to count the totals at the end.
  let out = "";
  child.stdout.on("data", (chunk) => {
    if (!held) process.stdout.write(chunk);
    out += chunk;
    if (out.length > 4_000_000) out = out.slice(-1_000_000);
  });
  return new Promise((resolve) => {
    child.on("exit", (code) => {
      if (held) process.stdout.write(out);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
      const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
      const count = (word) => Number(plain.match(new RegExp(`^\\s*(\\d+) ${word}`, "m"))?.[1] ?? 0);
      const passed = count("passing");
      const failed = count("failing");
      const at = plain.search(/^\s*\d+ failing/m);
      const failures = at < 0 ? "" : plain.slice(at, at + 12_000).trimEnd();
      resolve({ passed, failed, skipped: count("pending"), ok: code === 0 && failed === 0, failures });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1] === fileURLToPath(import.meta.url)) {
  const [what = "setup", ...rest] = process.argv.slice(2);
  const { node, env } = setup();
  if (what === "setup") process.exit(0);
  if (what === "test") process.exit(await runTests(node, env, rest));
  if (what === "firedrill") {
    runForwardingSignals(node, [join(ROOT, "harness", "bin", "firedrill.mjs"), ...rest], env);
  } else {
    say(`unknown command "${what}": use firedrill <verb>, test or setup`);
    process.exit(2);
  }
}
