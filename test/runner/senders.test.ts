import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { SENDER_FORMATS } from "../../harness/testing/senders.ts";

// Each sender format drilled end to end: a real run, a real lab, and a system under test
// that reports an RPC outage only in that sender's own format, shaped as the sender
// documents it (harness/testing/documented-sender.ts).
const FIXTURES = join(ROOT, "test", "fixtures");
const SENDER = join(ROOT, "harness", "testing", "documented-sender.ts");
const MAPPING = join(FIXTURES, "alerts", "documented.yml");

function journalIn(dir: string): Journal {
  const journals = journalsIn(dir);
  expect(journals, `journals in ${dir}`).to.have.length(1);
  return journals[0]!;
}

describe("every sender format, drilled end to end", function () {
  this.timeout(240_000);
  let work: string;
  let labDir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "firedrill-senders-"));
    labDir = join(work, "lab");
    const up = cli(["lab", "up", "--detach", "--dir", labDir]);
    expect(await up.exit, up.output()).to.equal(0);
  });
  afterEach(stopChildren);
  after(async () => {
    const down = cli(["lab", "down", "--dir", labDir]);
    await down.exit;
    rmSync(work, { recursive: true, force: true });
  });

  for (const format of SENDER_FORMATS) {
    // OpenZeppelin Monitor reports matches only: it never resolves an alert.
    const resolves = format !== "oz-monitor";
    it(`${format}: the outage detected from the sender's own alert${resolves ? ", and its resolution received" : ""}`, async () => {
      const dir = join(work, format);
      const scenario = join(
        FIXTURES,
        "scenarios",
        resolves ? "short-rpc-outage-resolved.yml" : "short-rpc-outage.yml",
      );
      const run = cli([
        "run",
        scenario,
        "--sut",
        `"${process.execPath}" "${SENDER}" ${format}`,
        "--alerts",
        MAPPING,
        "--lab-dir",
        labDir,
        "--journal-dir",
        dir,
      ]);
      expect(await run.exit, run.output()).to.equal(0);
      const journal = journalIn(dir);
      const alerts = journal.timeline.filter((e) => e.kind === "alert.received" && e.t_ms >= 0);
      const firing = alerts.find((e) => e.name === "RPC_FAILOVER");
      expect(firing, run.output()).to.not.equal(undefined);
      expect(firing!.details).to.include({ sender: format, sender_status: "firing" });
      expect(firing!.chain).to.equal("ethereum");
      expect(journal.phases.detection_ms).to.equal(firing!.t_ms);
      // Both clocks where the format carries the alert's start.
      if (format === "alertmanager" || format === "grafana" || format === "pagerduty")
        expect(firing!.details?.["delivery_delay_ms"]).to.be.a("number").and.at.least(0);
      if (resolves) {
        const resolved = alerts.find((e) => e.name === "RECOVERED");
        expect(resolved, run.output()).to.not.equal(undefined);
        expect(resolved!.details).to.include({ sender: format, sender_status: "resolved" });
        expect(journal.phases.mitigation_ms).to.equal(resolved!.t_ms);
      }
      // Nothing the sender sent was refused or went unmapped.
      expect(journal.timeline.filter((e) => e.kind === "alert.unmapped")).to.deep.equal([]);
      expect(journal.notes.filter((n) => /refused/.test(n))).to.deep.equal([]);
    });
  }
});
