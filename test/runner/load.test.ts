import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/lab/index.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { cli } from "../cli.ts";

const SPIKE = join(ROOT, "test", "fixtures", "scenarios", "spike-load.yml");

async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = cli(args);
  return { code: await child.exit, output: child.output() };
}

function journalIn(dir: string): Journal {
  const file = readdirSync(dir).find((f) => f.endsWith(".journal.json"))!;
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
}

// `load: <profile>` in a scenario: the profile runs all through the faults, and each budget
// of the profile is a verdict of the drill. The seed's spike (to 1000 virtual users) is
// compressed into the drill's fault window and the 15 s after it.
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

  it("passes every budget of the profile against the reference gateway", async () => {
    const dir = join(work, "ok");
    const { code, output } = await run(["run", SPIKE, "--lab-dir", labDir, "--journal-dir", dir]);
    expect(code, output).to.equal(0);
    const journal = journalIn(dir);
    const budgets = journal.verdicts.filter((v) => v.kind === "budget");
    expect(budgets.map((v) => v.name).sort()).to.deep.equal([
      "http_req_duration{scenario:mint} p(95)<30000",
      "http_req_duration{scenario:redeem} p(95)<15000",
      "success rate>0.999",
    ]);
    expect(budgets.every((v) => v.passed)).to.equal(true);
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

  it("fails the redeem budget of the spike, exit 1, when the gateway is slowed past it", async () => {
    const dir = join(work, "slow");
    const { code, output } = await run([
      "run",
      SPIKE,
      "--lab-dir",
      labDir,
      "--journal-dir",
      dir,
      "--gateway-delay-ms",
      "16000",
    ]);
    expect(code, output).to.equal(1);
    expect(output).to.match(
      /FAIL {2}http_req_duration\{scenario:redeem\} p\(95\)<15000: .* measured 1[6-9]\d{3}/,
    );
    const journal = journalIn(dir);
    const redeem = journal.verdicts.find((v) => v.name === "http_req_duration{scenario:redeem} p(95)<15000")!;
    expect(redeem.passed).to.equal(false);
    expect(redeem.measured).to.be.greaterThan(15_000);
  });
});
