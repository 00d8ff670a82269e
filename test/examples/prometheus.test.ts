import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { expect } from "chai";
import type { Journal } from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";

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
 * more than that (README.md), so the upper bound leaves room for a busy machine. The part
 * Alertmanager owns, from the `startsAt` it reports to the receipt, is `group_wait`, and
 * is checked tightly.
 */
const WINDOW_MS = { min: 2000 + 1000, max: 15_000 };
const DELIVERY_MS = { min: 1000, max: 1000 + 2000 };

function lastJournal(dir: string): Journal {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".journal.json"))
    .sort()
    .at(-1)!;
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as Journal;
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

  const drill = async (scenario: string, event: string) => {
    const journalDir = join(dir, event);
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
    const alert = journal.timeline.find(
      (e) => e.kind === "alert.received" && e.name === event && e.t_ms >= 0,
    );
    expect(alert, run.output()).to.not.equal(undefined);
    expect(alert!.details?.["sender"]).to.equal("alertmanager");
    const detection = journal.phases.detection_ms;
    expect(detection, run.output()).to.be.a("number");
    expect(detection!, `detection ${detection} ms against the predicted window`).to.be.within(
      WINDOW_MS.min,
      WINDOW_MS.max,
    );
    const delay = alert!.details?.["delivery_delay_ms"] as number;
    expect(delay, "Alertmanager's startsAt to the receipt").to.be.within(
      DELIVERY_MS.min - 50,
      DELIVERY_MS.max,
    );
    console.log(
      `      ${journal.scenario.name}: detection ${detection} ms, of which ${delay} ms from Alertmanager's startsAt to the receipt (window ${WINDOW_MS.min}-${WINDOW_MS.max} ms)`,
    );
    return detection!;
  };

  it("detects a primary RPC outage through Alertmanager, within the window its timings predict", async () => {
    await drill(join(ROOT, "scenarios", "rpc-primary-outage.yml"), "RPC_FAILOVER");
  });

  it("detects an oracle outage through Alertmanager, within the window its timings predict", async () => {
    await drill(join(EXAMPLE, "oracle-outage.yml"), "ORACLE_STALE");
  });
});
