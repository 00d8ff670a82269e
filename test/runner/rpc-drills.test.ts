// The JSON-RPC faults drilled end to end. The reference stack detects each one (the shipped
// scenarios drill the lag, the rate limit and the wrong fork; these fixtures the method
// errors, the batch limit and disagreeing providers). A monitor that only checks that its
// provider answers (the example SUT) misses a lagging and a forked provider: the drill fails it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import { cli } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "rpc");

describe("JSON-RPC faults, drilled", function () {
  this.timeout(10 * 60_000);
  let work: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "firedrill-rpc-drills-"));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("the reference stack detects method errors, a batch limit and disagreeing providers, and every verdict passes", async () => {
    const dir = join(work, "stack");
    const names = ["rpc-method-errors", "rpc-batch-limit", "rpc-disagree"];
    const run = cli([
      "run",
      ...names.map((n) => join(FIXTURES, `${n}.yml`)),
      "--journal-dir",
      dir,
      "--parallel",
      "3",
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    const journals = journalsIn(dir);
    expect(journals.map((j) => j.scenario.name).sort()).to.deep.equal([...names].sort());
    for (const j of journals) {
      expect(
        j.faults.every((f) => f.proof?.ok && f.healed_at !== null),
        `${j.scenario.name}: ${JSON.stringify({ faults: j.faults, notes: j.notes })}`,
      ).to.equal(true);
      expect(j.phases.detection_ms, j.scenario.name).to.be.a("number");
    }
    // Method errors and a batch limit leave the provider in use: nothing fails it over for them.
    // (A timeout on a busy machine may, at any time: that is not what is checked here.)
    for (const name of ["rpc-method-errors", "rpc-batch-limit"]) {
      const j = journals.find((x) => x.scenario.name === name)!;
      const forThem = j.timeline.filter(
        (e) =>
          e.kind === "alert.received" &&
          e.name === "RPC_FAILOVER" &&
          /header not found|batch/i.test(String((e.details as { reason?: string } | undefined)?.reason)),
      );
      expect(forThem, `${name}: ${JSON.stringify(forThem)}`).to.deep.equal([]);
      expect(
        j.timeline.some(
          (e) => e.kind === "alert.received" && /^RPC_(METHOD_ERRORS|BATCH_LIMITED)$/.test(e.name ?? ""),
        ),
        name,
      ).to.equal(true);
    }
  });

  it("a monitor that only checks that its provider answers misses a lagging and a forked provider: the drill fails it", async () => {
    const dir = join(work, "liveness");
    const sut = `"${process.execPath}" ${join(ROOT, "harness", "stack", "example-sut.mjs")}`;
    const names = ["liveness-lag", "liveness-fork"];
    const run = cli([
      "run",
      ...names.map((n) => join(FIXTURES, `${n}.yml`)),
      "--journal-dir",
      dir,
      "--sut",
      sut,
    ]);
    expect(await run.exit, run.output()).to.equal(1);
    const journals = journalsIn(dir);
    expect(journals.map((j) => j.scenario.name).sort()).to.deep.equal([...names].sort());
    for (const j of journals) {
      // The fault was there, proved against the node, and healed ...
      const said = `${j.scenario.name}: ${JSON.stringify({ fault: j.faults[0], notes: j.notes })}`;
      expect(j.faults[0]!.proof?.ok, said).to.equal(true);
      expect(j.faults[0]!.healed_at, said).to.not.equal(null);
      // ... and the monitor never saw it. (A timeout on a busy machine may make it fail
      // over now and then; it never says the provider lags or left the chain.)
      const detection = j.verdicts.find((v) => v.name.startsWith("detection"));
      expect(detection?.passed, j.scenario.name).to.equal(false);
      const expected = new Set(["RPC_PROVIDER_LAGGING", "RPC_PROVIDER_FORKED"]);
      expect(
        j.timeline.filter((e) => e.kind === "alert.received" && expected.has(e.name ?? "")),
      ).to.deep.equal([]);
    }
  });
});
