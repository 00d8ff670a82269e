import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { cli } from "../../harness/testing/cli.ts";

const SPIKE = join(ROOT, "test", "fixtures", "scenarios", "spike-load.yml");
const NODE = `"${process.execPath}"`;
const EXAMPLE_SUT = join(ROOT, "harness", "stack", "example-sut.mjs");
const STAND_IN = join(ROOT, "harness", "testing", "load-target.ts");

const MINT_BUDGET = "http_req_duration{scenario:mint} p(95)<30000";
const REDEEM_BUDGET = "http_req_duration{scenario:redeem} p(95)<15000";
const SUCCESS_BUDGET = "success rate>0.999";

/**
 * A system under test whose gateway answers exactly as slowly (and fails exactly as often) as
 * the test says: the stand-in gateway serves the SUT port, and the contract-only example
 * stack (on a port of its own) detects the primary RPC outage. Both are one process group,
 * stopped together.
 */
function standIn(flags: string): string {
  return `FIREDRILL_SUT_PORT=0 ${NODE} ${EXAMPLE_SUT} & exec ${NODE} ${STAND_IN} ${flags}`;
}

async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = cli(args);
  return { code: await child.exit, output: child.output() };
}

function journalIn(dir: string): Journal {
  const file = readdirSync(dir).find((f) => f.endsWith(".journal.json"))!;
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
}

function budget(journal: Journal, name: string): Journal["verdicts"][number] {
  const verdict = journal.verdicts.find((v) => v.kind === "budget" && v.name === name);
  expect(verdict, `${name} in ${journal.verdicts.map((v) => v.name).join(", ")}`).to.not.equal(undefined);
  return verdict!;
}

// `load: <profile>` in a scenario: the profile runs all through the faults, and each budget
// of the profile is a verdict of the drill. The BCP's spike (to 1000 virtual users) is
// compressed into the drill's fault window and the 15 s after it. The gateway is a stand-in
// whose latency the test sets, so these tests check how firedrill turns budgets into
// verdicts, on any machine; whether the reference stack holds the spike's budgets is a
// benchmark (`node bench/load.ts --spike`).
describe("load inside a scenario", function () {
  this.timeout(240_000);
  let work: string;
  let labDir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "firedrill-load-"));
    labDir = join(work, "lab");
    const up = await run(["lab", "up", "--detach", "--dir", labDir]);
    expect(up.code, up.output).to.equal(0);
  });

  after(async () => {
    await run(["lab", "down", "--dir", labDir]);
    rmSync(work, { recursive: true, force: true });
  });

  /** Drills the spike scenario against a stand-in run with `flags`; its journal goes to `work/name`. */
  async function drillSpike(name: string, flags: string) {
    const dir = join(work, name);
    const args = ["run", SPIKE, "--lab-dir", labDir, "--journal-dir", dir, "--sut", standIn(flags)];
    return { ...(await run(args)), dir };
  }

  it("passes every budget of the profile when the gateway answers within them", async () => {
    const { code, output, dir } = await drillSpike("ok", "--mint-latency-ms 200 --redeem-latency-ms 100");
    expect(code, output).to.equal(0);
    const journal = journalIn(dir);
    const budgets = journal.verdicts.filter((v) => v.kind === "budget");
    expect(budgets.map((v) => v.name).sort()).to.deep.equal([MINT_BUDGET, REDEEM_BUDGET, SUCCESS_BUDGET]);
    expect(budgets.every((v) => v.passed)).to.equal(true);
    // The measured p95s are the stand-in's latencies, give or take the loopback round trip.
    expect(budget(journal, MINT_BUDGET).measured).to.be.within(200, 5_000);
    expect(budget(journal, REDEEM_BUDGET).measured).to.be.within(100, 5_000);
    expect(budget(journal, SUCCESS_BUDGET).measured).to.equal(1);
    const rows = journal.load!.scenarios;
    expect(rows.map((s) => s.name)).to.deep.equal(["mint", "redeem", "all"]);
    for (const row of rows) {
      expect(row.requests, row.name).to.be.greaterThan(0);
      expect(
        row.histogram.counts.reduce((a, b) => a + b, 0),
        `${row.name} histogram`,
      ).to.equal(row.requests);
    }
    const [mint, redeem, all] = rows;
    expect(all!.requests).to.be.greaterThan(1000);
    expect(mint!.requests + redeem!.requests).to.be.at.most(all!.requests);
    expect(journal.timeline.some((e) => e.kind === "load.started")).to.equal(true);
    expect(journal.timeline.some((e) => e.kind === "load.ended")).to.equal(true);
  });

  it("fails the redeem and success budgets, exit 1, when the gateway is slower and fails more than they allow", async () => {
    // Redeem answers after 16 s (budget 15 s); one request in 200 fails (budget: 1 in 1000).
    const { code, output, dir } = await drillSpike(
      "slow",
      "--mint-latency-ms 200 --redeem-latency-ms 16000 --fail-every 200",
    );
    expect(code, output).to.equal(1);
    expect(output).to.match(
      /FAIL {2}http_req_duration\{scenario:redeem\} p\(95\)<15000: .* measured 1[6-9]\d{3}/,
    );
    expect(output).to.match(/FAIL {2}success rate>0\.999: .* measured 0\.99[0-9]*/);
    const journal = journalIn(dir);
    const redeem = budget(journal, REDEEM_BUDGET);
    expect(redeem.passed).to.equal(false);
    expect(redeem.measured).to.be.greaterThan(15_000);
    const success = budget(journal, SUCCESS_BUDGET);
    expect(success.passed).to.equal(false);
    expect(success.measured).to.be.within(0.99, 0.999);
    // The budget that was met is still passed: each budget is a verdict of its own.
    expect(budget(journal, MINT_BUDGET).passed).to.equal(true);
    // Only the budgets failed: the drill itself (detection, recovery, invariants) held.
    const others = journal.verdicts.filter((v) => v.kind !== "budget" && !v.passed);
    expect(others.map((v) => `${v.name}: ${v.reason}`)).to.deep.equal([]);
  });
});
