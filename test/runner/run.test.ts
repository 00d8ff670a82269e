import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as chai from "chai";
import { firedrillChai } from "../../harness/assert/index.ts";
import { formatDuration } from "../../harness/duration.ts";
import { readLabInfo } from "../../harness/lab/index.ts";
import { ALERT_PATH_PROXY, findResidue } from "../../harness/lab/residue.ts";
import { ROOT } from "../../harness/paths.ts";
import { isAlive, processState } from "../../harness/process.ts";
import { seededRandom } from "../../harness/random.ts";
import { drawStartJitter } from "../../harness/runner/run.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { until } from "../../harness/testing/until.ts";

chai.use(firedrillChai as never);
const { expect } = chai;

const FIXTURES = join(ROOT, "test", "fixtures");
const SHORT = join(FIXTURES, "scenarios", "short-rpc-outage.yml");
const MULTI = join(FIXTURES, "scenarios", "short-multi-fault.yml");
const SEQUENCER = join(FIXTURES, "scenarios", "short-sequencer-halt.yml");

const journals = journalsIn;

describe("firedrill run", function () {
  this.timeout(240_000);
  let work: string;
  let labDir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "firedrill-run-"));
    labDir = join(work, "lab");
    const up = cli(["lab", "up", "--detach", "--dir", labDir]);
    expect(await up.exit, up.output()).to.equal(0);
  });

  afterEach(stopChildren);

  after(async function () {
    // A failure may be the shared lab's: its log says what it saw (a node that stopped mining).
    if (this.test?.parent?.tests.some((t) => t.state === "failed") && existsSync(join(labDir, "lab.json"))) {
      const log = readFileSync(join(labDir, "lab.log"), "utf8").trim().split("\n");
      console.log(`      the shared lab's log, last lines:\n${log.slice(-15).join("\n")}`);
      console.log(`      its processes:\n${labProcesses().join("\n")}`);
    }
    const down = cli(["lab", "down", "--dir", labDir]);
    await down.exit;
    rmSync(work, { recursive: true, force: true });
  });

  /** The lab's process and those it started: pid, state and where each waits in the kernel. */
  function labProcesses(): string[] {
    const pids = readdirSync(join(labDir, "pids")).map(
      (f) =>
        [
          f.replace(/\.pid$/, ""),
          (JSON.parse(readFileSync(join(labDir, "pids", f), "utf8")) as { pid: number }).pid,
        ] as const,
    );
    return [["lab", readLabInfo(join(labDir, "lab.json")).pid] as const, ...pids].map(([name, pid]) => {
      try {
        const waits = new Map<string, number>();
        for (const task of readdirSync(`/proc/${pid}/task`)) {
          const wchan = readFileSync(`/proc/${pid}/task/${task}/wchan`, "utf8") || "-";
          waits.set(wchan, (waits.get(wchan) ?? 0) + 1);
        }
        const threads = [...waits].map(([wchan, n]) => `${n} in ${wchan}`).join(", ");
        return `  ${name} ${pid}: state ${processState(pid) ?? "gone"}, threads ${threads}`;
      } catch (error) {
        return `  ${name} ${pid}: ${(error as Error).message}`;
      }
    });
  }

  /** Everything a healed lab shows: no fault left anywhere, and no SUT process left. */
  async function expectHealed(output = ""): Promise<void> {
    const info = readLabInfo(join(labDir, "lab.json"));
    // What the run said of its heals, should something be left.
    const heals = output
      .split("\n")
      .filter((l) => /heal|interrupt/i.test(l))
      .join("\n");
    expect(await findResidue(info), heals).to.deep.equal([]);
    const stacks = readdirSync(join(labDir, "pids")).filter(
      (f) => f.startsWith("stack") || f.startsWith("sut"),
    );
    expect(stacks, "SUT pid files").to.deep.equal([]);
    // The run's proxy in front of its alert receiver went with it.
    const proxies = Object.keys((await (await fetch(`${info.toxiproxy.url}/proxies`)).json()) as object);
    expect(
      proxies.filter((name) => ALERT_PATH_PROXY.test(name)),
      "alert-path proxies",
    ).to.deep.equal([]);
  }

  it("drills a scenario against the reference stack, passes, and writes journal and JUnit", async () => {
    const dir = join(work, "pass");
    const junit = join(dir, "junit.xml");
    const run = cli([
      "run",
      SHORT,
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
      "--junit",
      junit,
      "--seed",
      "7",
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    expect(run.output()).to.match(/short-rpc-outage \(seed 7\): COMPLETED/);
    const [journal] = journals(dir);
    expect(journal!.status).to.equal("completed");
    expect(journal!.seed).to.equal(7);
    expect(journal).to.meetRto();
    expect(journal).to.detectWithin("3s");
    expect(journal!.faults[0]!.proof!.ok).to.equal(true);
    expect(journal!.timeline.some((e) => e.kind === "alert.received" && e.name === "RPC_FAILOVER")).to.equal(
      true,
    );
    expect(journal!.invariants.filter((i) => !i.passed)).to.deep.equal([]);
    const xml = readFileSync(junit, "utf8");
    expect(xml).to.include("<testsuite");
    expect((xml.match(/<testcase /g) ?? []).length).to.equal(journal!.verdicts.length);
    await expectHealed();
  });

  it("keeps phases in order when the response alert comes before any detection alert (sequencer halt)", async () => {
    const dir = join(work, "sequencer");
    const run = cli(["run", SEQUENCER, "--lab-dir", labDir, "--journal-dir", dir]);
    expect(await run.exit, run.output()).to.equal(0);
    const [journal] = journals(dir);
    const received = (name: string) =>
      journal!.timeline.find((e) => e.kind === "alert.received" && e.name === name && e.t_ms >= 0)?.t_ms;
    // The case itself: the stack fails over on the sequencer feed before it reports the halt.
    expect(received("CROSS_CHAIN_FAILOVER"), run.output()).to.be.a("number");
    expect(received("CHAIN_HALTED"), run.output()).to.be.a("number");
    expect(received("CROSS_CHAIN_FAILOVER")!).to.be.below(received("CHAIN_HALTED")!);
    const { detection_ms, response_ms, recovery_ms } = journal!.phases;
    expect(detection_ms).to.equal(response_ms);
    expect(response_ms!).to.be.at.most(recovery_ms!);
    const reason = (name: string) => journal!.verdicts.find((v) => v.name.startsWith(name))?.reason;
    expect(reason("detection within")).to.match(
      /after the first injection \(CROSS_CHAIN_FAILOVER, via response\)$/,
    );
    expect(reason("response within")).to.match(/after the first injection \(CROSS_CHAIN_FAILOVER\)$/);
    // The timeline says the same, and records no phase before an earlier one.
    const reached = journal!.timeline.filter((e) => e.kind === "phase.reached");
    expect(reached.map((e) => e.name)).to.deep.equal(["detection", "response", "recovery"]);
    expect(reached[0]!.summary).to.equal("detection reached by CROSS_CHAIN_FAILOVER (via response)");
    expect(reached.map((e) => e.t_ms)).to.deep.equal([...reached.map((e) => e.t_ms)].sort((a, b) => a - b));
    expect(run.output()).to.match(
      /phase\.reached\s+detection reached by CROSS_CHAIN_FAILOVER \(via response\)/,
    );
    await expectHealed();
  });

  it("fails a verdict with exit 1 and the reason when detection is slowed past the scenario's limit", async () => {
    const dir = join(work, "slow");
    const run = cli([
      "run",
      SHORT,
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
      "--detection-delay-ms",
      "3500",
    ]);
    expect(await run.exit, run.output()).to.equal(1);
    expect(run.output()).to.match(/FAIL {2}detection within 3s: .*over the limit of 3s/);
    const [journal] = journals(dir);
    expect(journal!.status).to.equal("failed");
    expect(journal).not.to.detectWithin("3s");
    await expectHealed();
  });

  it("drills a foreign stack started with --sut, written to the contract only", async () => {
    const dir = join(work, "foreign");
    const sut = `"${process.execPath}" ${join(ROOT, "harness", "stack", "example-sut.mjs")}`;
    const run = cli(["run", SHORT, "--lab-dir", labDir, "--journal-dir", dir, "--sut", sut]);
    expect(await run.exit, run.output()).to.equal(0);
    const [journal] = journals(dir);
    expect(journal!.versions.stack.name).to.not.equal("firedrill reference stack");
    expect(journal).to.detectWithin("3s");
    await expectHealed();
  });

  it("puts off the first injection by the start jitter drawn from the seed, and records it", async () => {
    const dir = join(work, "jitter");
    const run = cli([
      "run",
      SHORT,
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
      "--seed",
      "11",
      "--start-jitter",
      "3s",
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    const [journal] = journals(dir);
    const drawn = drawStartJitter(3000, seededRandom(11));
    expect(journal!.start_jitter).to.deep.equal({ max_ms: 3000, drawn_ms: drawn.drawnMs });
    expect(run.output()).to.include(`start jitter: first injection in ${formatDuration(drawn.drawnMs)}`);
    // The last steady-state probe came at least the drawn delay before the first injection.
    const steady = journal!.timeline.filter((e) => e.kind === "probe.ok" && e.t_ms < 0).at(-1)!;
    expect(-steady.t_ms).to.be.at.least(drawn.drawnMs);
    await expectHealed();
  });

  it("refuses a start jitter that is not a duration, or over 10 minutes (exit 2)", async () => {
    for (const [value, message] of [
      ["soon", /--start-jitter: "soon" is not a duration/],
      ["11m", /--start-jitter: at most 10m, got 11m/],
    ] as const) {
      const run = cli(["run", SHORT, "--lab-dir", labDir, "--start-jitter", value]);
      expect(await run.exit, run.output()).to.equal(2);
      expect(run.output()).to.match(message);
    }
  });

  it("exits 3 with the output of a --sut command that exits early, and writes no journal", async () => {
    const dir = join(work, "early");
    const sut = `"${process.execPath}" ${join(ROOT, "harness", "stack", "example-sut.mjs")}`;
    const run = cli(["run", SHORT, "--lab-dir", labDir, "--journal-dir", dir, "--sut", sut], {
      ...process.env,
      EXAMPLE_SUT_EXIT_EARLY: "1",
    });
    expect(await run.exit, run.output()).to.equal(3);
    expect(run.output()).to.include("system under test: exited before it was healthy (code 4");
    expect(run.output()).to.include("refusing to start");
    expect(journals(dir)).to.deep.equal([]);
  });

  it("heals everything when nobody reads its output any more (the pipe closes mid-run)", async () => {
    const dir = join(work, "epipe");
    const run = cli(["run", MULTI, "--lab-dir", labDir, "--journal-dir", dir]);
    await until("the first injection", () => /fault\.injected/.test(run.output()), 60_000);
    // As `firedrill run ... | head` does once it has its lines.
    run.child.stdout?.destroy();
    run.child.stderr?.destroy();
    const code = await run.exit;
    expect(code, "exit code").to.be.oneOf([130, 0, 1]);
    expect(isAlive(run.child.pid!)).to.equal(false);
    const [journal] = journals(dir);
    expect(journal?.status, "journal status").to.be.oneOf(["interrupted", "completed", "failed"]);
    for (const f of journal!.faults.filter((f) => f.injected_at !== null))
      expect(f.healed_at, `${f.type} healed`).to.not.equal(null);
    await expectHealed();
  });

  // SIGINT at many points across a run: after each event kind the runner reports, and at
  // fixed delays. Every time, every fault is healed, no process is left, and the journal
  // says `interrupted`.
  const points: { label: string; after: RegExp | number }[] = [
    { label: "while the SUT starts", after: /system under test:/ },
    { label: "at the first probe", after: /probe\.ok/ },
    { label: "right after the first injection", after: /fault\.injected/ },
    { label: "right after the first proof", after: /fault\.proof/ },
    { label: "after the gas spike", after: /base fee on ethereum/ },
    { label: "during the USDC shock", after: /USDC/ },
    { label: "after the feed froze", after: /oracle_stale|feed/ },
    { label: "after the first alert", after: /alert\.received/ },
    { label: "after detection", after: /phase\.reached\s+detection/ },
    { label: "after the first heal", after: /fault\.healed/ },
    { label: "at once", after: 0 },
    { label: "at 0.5 s", after: 500 },
    { label: "at 1.0 s", after: 1000 },
    { label: "at 1.5 s", after: 1500 },
    { label: "at 2.0 s", after: 2000 },
    { label: "at 2.5 s", after: 2500 },
    { label: "at 3.0 s", after: 3000 },
    { label: "at 3.5 s", after: 3500 },
    { label: "at 4.0 s", after: 4000 },
    { label: "at 4.5 s", after: 4500 },
    { label: "at 5.0 s", after: 5000 },
    { label: "at 5.5 s", after: 5500 },
    { label: "at 6.5 s", after: 6500 },
  ];
  for (const [i, point] of points.entries()) {
    it(`heals everything when interrupted ${point.label}`, async () => {
      const dir = join(work, `int-${i}`);
      const run = cli(["run", MULTI, "--lab-dir", labDir, "--journal-dir", dir]);
      // The runner's signal handlers are in place once it announces the scenario.
      await until("the run to start", () => /short-multi-fault: tier/.test(run.output()), 60_000);
      if (typeof point.after === "number") await new Promise((r) => setTimeout(r, point.after as number));
      else await until(`${point.after}`, () => (point.after as RegExp).test(run.output()), 60_000);
      run.child.kill("SIGINT");
      const code = await run.exit;
      expect(code, run.output()).to.be.oneOf([0, 1, 130]);
      if (code === 130) {
        const [journal] = journals(dir);
        expect(journal?.status, run.output()).to.equal("interrupted");
      }
      expect(isAlive(run.child.pid!)).to.equal(false);
      await expectHealed(run.output());
    });
  }
});
