import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { BIN, SCENARIOS_DIR } from "../../harness/paths.ts";
import { phaseSources } from "../../harness/report/format.ts";
import { markdownSummary } from "../../harness/report/markdown.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { shippedScenarios } from "../../harness/runner/run-command.ts";
import { journalsIn } from "../../harness/testing/journals.ts";

// Every scenario firedrill ships is drilled against the reference stack, end to end, two at
// a time on labs of their own (the release gate): the drills a user gets from
// `firedrill drill` all pass.
describe("shipped scenarios", function () {
  this.timeout(30 * 60_000);
  let work: string;
  let journals: Journal[] = [];
  let output = "";
  let code: number | null = null;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "firedrill-shipped-"));
    const child = spawn(
      process.execPath,
      // The release gate as the README gives it: two scenarios at a time, each on its own lab.
      [BIN, "run", SCENARIOS_DIR, "--journal-dir", work, "--seed", "42", "--parallel", "2"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    code = await new Promise((resolve) => child.once("exit", resolve));
    journals = journalsIn(work);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it("runs every one and exits 0", () => {
    expect(journals.map((j) => j.scenario.name).sort()).to.deep.equal(
      shippedScenarios()
        .map((f) =>
          f
            .split("/")
            .pop()!
            .replace(/\.ya?ml$/, ""),
        )
        .sort(),
    );
    expect(
      code,
      output
        .split("\n")
        .filter((l) => /\bFAIL\b|\bFAILED\b/.test(l))
        .join("\n"),
    ).to.equal(0);
  });

  it("alert-path-outage: the page arrives once the alert path is back, late by the outage, and the report says so", () => {
    const journal = journals.find((j) => j.scenario.name === "alert-path-outage");
    expect(journal, "no journal for alert-path-outage").to.not.equal(undefined);
    const cut = journal!.faults.find((f) => f.type === "alert_delivery")!;
    const healedAt = journal!.timeline.find(
      (e) => e.kind === "fault.healed" && e.fault === journal!.faults.indexOf(cut),
    );
    expect(healedAt, "the alert path was healed").to.not.equal(undefined);
    // Nothing got through while the path refused: detection comes after its heal.
    expect(journal!.phases.detection_ms).to.be.at.least(healedAt!.t_ms);
    const source = phaseSources(journal!).detection!;
    expect(source.alert).to.equal("RPC_FAILOVER");
    // Raised a moment after the RPC outage at 2 s, delivered after the heal at 20 s.
    expect(source.deliveryMs).to.be.at.least(healedAt!.t_ms - 10_000);
    expect(markdownSummary(journal!)).to.match(
      /Reached by: detection `RPC_FAILOVER` \(delivered in \d+\.\d s\)/,
    );
  });

  for (const file of shippedScenarios()) {
    const name = file
      .split("/")
      .pop()!
      .replace(/\.ya?ml$/, "");
    it(`${name} passes every verdict, with each fault's proof`, () => {
      const journal = journals.find((j) => j.scenario.name === name);
      expect(journal, `no journal for ${name}`).to.not.equal(undefined);
      const failed = journal!.verdicts.filter((v) => !v.passed).map((v) => `${v.name}: ${v.reason}`);
      // A failure shows what the stack said and when (negative: before the first injection).
      const alerts = journal!.timeline
        .filter((e) => e.kind === "alert.received" || e.kind.startsWith("fault."))
        .map((e) => `${(e.t_ms / 1000).toFixed(2)}s ${e.kind} ${e.name ?? ""} ${e.chain ?? ""}`);
      expect(failed, `timeline:\n${alerts.join("\n")}\nnotes: ${journal!.notes.join(" | ")}`).to.deep.equal(
        [],
      );
      expect(journal!.status).to.equal("completed");
      for (const fault of journal!.faults) expect(fault.proof?.ok, `${fault.type} proof`).to.equal(true);
      expect(journal!.phases.detection_ms).to.be.a("number");
      // Phases are monotonic: no phase is recorded earlier than a phase before it.
      const reached = [
        journal!.phases.detection_ms,
        journal!.phases.response_ms,
        journal!.phases.mitigation_ms,
        journal!.phases.recovery_ms,
      ].filter((ms): ms is number => ms !== null);
      expect(reached, "phases in order").to.deep.equal([...reached].sort((a, b) => a - b));
    });
  }
});
