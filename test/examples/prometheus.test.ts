import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { expect } from "chai";
import type { Journal } from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";

// The Prometheus example drilled against the real Debian binaries: Prometheus scrapes the
// blackbox exporter every second, a rule fires after `for: 2s`, Alertmanager waits
// `group_wait: 1s` and posts to firedrill's receiver in its own format.
const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "prometheus");
const BINARIES = ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter"];
const onPath = (tool: string) =>
  (process.env["PATH"] ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, tool)));
const missing = BINARIES.filter((tool) => !onPath(tool));

/**
 * What the example's timings predict. Detection, from the first injection to the alert at
 * the receiver, is at least `for` (2 s) plus `group_wait` (1 s); the model adds at most a
 * scrape, a probe timeout and two evaluations (3.4 s), and this machine measured 1.5-2.5 s
 * more than that (README.md), so the upper bound leaves room for a busy machine. A halted
 * chain first has to stand still for the rule's 5 s window, and its alert has to come while
 * the 20 s halt lasts. The part Alertmanager owns, from the `startsAt` it reports to the
 * receipt, is `group_wait`, and is checked tightly.
 */
const PROBE_WINDOW_MS = { min: 2000 + 1000, max: 15_000 };
const HEAD_WINDOW_MS = { min: 5000 + 2000 + 1000, max: 20_000 };
const DELIVERY_MS = { min: 1000, max: 1000 + 2000 };

function lastJournal(dir: string): Journal {
  return journalsIn(dir).at(-1)!;
}

describe("the Prometheus example (examples/prometheus/)", function () {
  this.timeout(300_000);
  let dir: string;
  before(function () {
    if (missing.length > 0) {
      console.log(`      skipped: ${missing.join(", ")} not on PATH (apt-get install ${missing.join(" ")})`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "firedrill-prometheus-example-"));
  });
  after(async () => {
    await stopChildren();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Drills `scenario` with the example as the SUT and checks the alert named `alert`: an
   * event the mapping gives, or (`unmapped`) the sender's own alert name the scenario names.
   */
  const drill = async (
    scenario: string,
    alert: { event: string } | { unmapped: string },
    window: { min: number; max: number },
  ) => {
    const label = "event" in alert ? alert.event : alert.unmapped;
    const journalDir = join(dir, label);
    const run = cli([
      "run",
      scenario,
      "--sut",
      join(EXAMPLE, "sut.sh"),
      "--alerts",
      join(EXAMPLE, "alerts.yml"),
      "--journal-dir",
      journalDir,
    ]);
    const code = await run.exit;
    expect(code, run.output()).to.equal(0);
    const journal = lastJournal(journalDir);
    const received = journal.timeline.find(
      (e) =>
        e.t_ms >= 0 &&
        ("event" in alert
          ? e.kind === "alert.received" && e.name === alert.event
          : e.kind === "alert.unmapped" && e.name === alert.unmapped),
    );
    expect(received, run.output()).to.not.equal(undefined);
    expect(received!.details?.["sender"]).to.equal("alertmanager");
    const detection = journal.phases.detection_ms;
    expect(detection, run.output()).to.be.a("number");
    expect(detection!, `detection ${detection} ms against the predicted window`).to.be.within(
      window.min,
      window.max,
    );
    // Detection was reached by this very alert, when it arrived.
    expect(received!.t_ms).to.equal(detection);
    const delay = received!.details?.["delivery_delay_ms"] as number;
    expect(delay, "Alertmanager's startsAt to the receipt").to.be.within(
      DELIVERY_MS.min - 50,
      DELIVERY_MS.max,
    );
    console.log(
      `      ${journal.scenario.name}: detection ${detection} ms, of which ${delay} ms from Alertmanager's startsAt to the receipt (window ${window.min}-${window.max} ms)`,
    );
    return journal;
  };

  it("detects a primary RPC outage through Alertmanager, within the window its timings predict", async () => {
    await drill(
      join(ROOT, "scenarios", "rpc-primary-outage.yml"),
      { event: "RPC_FAILOVER" },
      PROBE_WINDOW_MS,
    );
  });

  it("detects an oracle outage through Alertmanager, within the window its timings predict", async () => {
    await drill(join(EXAMPLE, "oracle-outage.yml"), { event: "ORACLE_STALE" }, PROBE_WINDOW_MS);
  });

  it("detects a halted chain by its head standing still, within the window its timings predict", async () => {
    await drill(join(EXAMPLE, "chain-halt.yml"), { event: "CHAIN_HALTED" }, HEAD_WINDOW_MS);
  });

  it("detects a regulator outage by Alertmanager's own alert name, named in the scenario and mapped by no rule", async () => {
    const journal = await drill(
      join(EXAMPLE, "regulator-outage.yml"),
      { unmapped: "RegulatorDown" },
      PROBE_WINDOW_MS,
    );
    expect(journal.phases.detection_ms).to.be.a("number");
    const reached = journal.timeline.find((e) => e.kind === "phase.reached" && e.name === "detection");
    expect(reached?.details?.["alert"]).to.equal("alertmanager:RegulatorDown");
  });

  it("pages late, not never, when Alertmanager cannot reach the receiver: its retries carry the alert past the outage", async () => {
    const journalDir = join(dir, "alert-path");
    const run = cli([
      "run",
      join(EXAMPLE, "alert-path-outage.yml"),
      "--sut",
      join(EXAMPLE, "sut.sh"),
      "--alerts",
      join(EXAMPLE, "alerts.yml"),
      "--journal-dir",
      journalDir,
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    const journal = lastJournal(journalDir);
    const cut = journal.faults.findIndex((f) => f.type === "alert_delivery");
    const healed = journal.timeline.find((e) => e.kind === "fault.healed" && e.fault === cut)!;
    const alert = journal.timeline.find((e) => e.kind === "alert.received" && e.name === "RPC_FAILOVER")!;
    expect(alert, run.output()).to.not.equal(undefined);
    // Nothing got through the refused path; the alert came once it was back (the heal
    // reopens the path, then proves it: the alert may come while it proves).
    const healBegan = healed.t_ms - (healed.details?.["heal_took_ms"] as number);
    expect(alert.t_ms, run.output()).to.be.at.least(healBegan);
    expect(journal.phases.detection_ms).to.equal(alert.t_ms);
    // Prometheus fired it well before the path came back: the delay is Alertmanager's retries.
    const delay = alert.details?.["delivery_delay_ms"] as number;
    expect(delay, "startsAt to the receipt").to.be.above(DELIVERY_MS.max);
    console.log(
      `      ${journal.scenario.name}: detection ${journal.phases.detection_ms} ms, path back at ${healed.t_ms} ms, ${delay} ms from Alertmanager's startsAt to the receipt`,
    );
  });
});
