import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT, STATE_DIR } from "../../harness/paths.ts";
import { isAlive } from "../../harness/process.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { until } from "../../harness/testing/until.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "scenarios");
const FOUR = ["short-rpc-outage", "short-oracle-outage", "short-sequencer-halt", "short-multi-fault"].map(
  (n) => join(FIXTURES, `${n}.yml`),
);

/** Every pid file of the labs a firedrill process `pid` brought up for its runs. */
function labPids(pid: number): number[] {
  const runs = join(STATE_DIR, "runs");
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((d) => d.startsWith(`${pid}-`))
    .flatMap((d) => {
      const pids = join(runs, d, "lab", "pids");
      if (!existsSync(pids)) return [];
      return readdirSync(pids).map((f) => {
        try {
          return (JSON.parse(readFileSync(join(pids, f), "utf8")) as { pid: number }).pid;
        } catch {
          return 0; // Being written.
        }
      });
    })
    .filter((p) => Number.isInteger(p) && p > 0);
}

describe("firedrill run --parallel", function () {
  this.timeout(300_000);
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), "firedrill-parallel-"));
  });
  afterEach(stopChildren);
  after(() => rmSync(work, { recursive: true, force: true }));

  const bad: Array<[string, string[], RegExp]> = [
    ["0", ["--parallel", "0"], /--parallel: at least 1 \(FD100\)/],
    ["more than the scenarios", ["--parallel", "5"], /--parallel 5 for 4 scenarios: at most 4/],
    [
      "with an attached lab",
      ["--parallel", "2", "--lab-dir", join(tmpdir(), "a-lab")],
      /--parallel 2 cannot share --lab-dir/,
    ],
    [
      "with an attached SUT",
      ["--parallel", "2", "--sut-url", "http://127.0.0.1:1"],
      /cannot share --sut-url/,
    ],
    [
      "with a fixed alert port",
      ["--parallel", "2", "--alerts-listen", "127.0.0.1:9700"],
      /cannot share --alerts-listen with a port/,
    ],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses --parallel ${what} (exit 2), starting nothing`, async () => {
      const run = cli(["run", ...FOUR, ...args, "--journal-dir", join(work, "bad")]);
      expect(await run.exit, run.output()).to.equal(2);
      expect(run.output()).to.match(message);
      expect(journalsIn(join(work, "bad"))).to.deep.equal([]);
    });
  }

  it("runs four scenarios at once, each on its own lab, with one exit code, one JUnit and one summary", async () => {
    const dir = join(work, "four");
    const junit = join(dir, "junit.xml");
    const summary = join(dir, "summary.md");
    const run = cli([
      "run",
      ...FOUR,
      "--parallel",
      "4",
      "--journal-dir",
      dir,
      "--junit",
      junit,
      "--summary",
      summary,
    ]);
    const code = await run.exit;
    const journals = journalsIn(dir);
    expect(journals.map((j) => j.scenario.name).sort(), run.output()).to.deep.equal([
      "short-multi-fault",
      "short-oracle-outage",
      "short-rpc-outage",
      "short-sequencer-halt",
    ]);
    // The exit code is the verdicts': 0 only when every scenario passed.
    expect(code, run.output()).to.equal(journals.every((j) => j.verdicts.every((v) => v.passed)) ? 0 : 1);
    for (const j of journals)
      for (const f of j.faults) expect(f.healed_at, `${j.scenario.name} ${f.type}`).to.not.equal(null);
    const xml = readFileSync(junit, "utf8");
    const verdicts = journals.reduce((n, j) => n + j.verdicts.length, 0);
    expect((xml.match(/<testcase /g) ?? []).length).to.equal(verdicts);
    const md = readFileSync(summary, "utf8");
    for (const j of journals) expect(md).to.include(j.scenario.name);
    // Each line of progress names its scenario.
    const progress = run
      .output()
      .split("\n")
      .filter((l) => /\+\d+\.\d\ds/.test(l));
    expect(progress.length).to.be.greaterThan(4);
    for (const line of progress) expect(line).to.match(/^\[short-[a-z-]+\s*\] /);
    expect(labPids(run.child.pid!)).to.deep.equal([]);
  });

  it("Ctrl-C during a 4-way run heals every fault of every lab and stops every process", async () => {
    const dir = join(work, "interrupted");
    const run = cli(["run", ...FOUR, "--parallel", "4", "--journal-dir", dir]);
    // Every run has injected before the signal comes.
    const injected = () =>
      new Set(
        [...run.output().matchAll(/^\[(short-[a-z-]+)\s*\] \+[\d.]+s\s+fault\.injected/gm)].map((m) => m[1]),
      );
    await until("a fault injected in each of the four runs", () => injected().size >= 4, 120_000);
    const pids = labPids(run.child.pid!);
    expect(pids.length, "lab processes found").to.be.greaterThan(0);
    run.child.kill("SIGINT");
    expect(await run.exit, run.output()).to.equal(130);
    const journals = journalsIn(dir);
    expect(journals).to.have.length(4);
    // A short run may have finished before the signal; the others were interrupted.
    expect(journals.filter((j) => j.status === "interrupted").length).to.be.greaterThan(0);
    for (const j of journals) {
      expect(j.status, j.scenario.name).to.be.oneOf(["interrupted", "completed", "failed"]);
      for (const f of j.faults.filter((f) => f.injected_at !== null))
        expect(f.healed_at, `${j.scenario.name} ${f.type} healed`).to.not.equal(null);
    }
    expect(
      pids.filter((p) => isAlive(p)),
      "lab processes still alive",
    ).to.deep.equal([]);
    expect(labPids(run.child.pid!), "scratch labs left").to.deep.equal([]);
  });
});
