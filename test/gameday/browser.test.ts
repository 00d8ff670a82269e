// The incident room in headless Chromium, during a real GameDay: a responder acknowledges,
// completes the assessment, fills and sends the incident alert, posts an update and
// resolves, all through the page's labelled forms; the journal holds each step in order;
// the page logs no error and asks nothing of any address but the room's.
//
// With FIREDRILL_SCREENSHOTS=<dir>, it also saves the room during the drill and the
// report's people section (the README's pictures come from such a run).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import type { Browser, Page } from "playwright-core";
import { ROOT } from "../../harness/paths.ts";
import { renderJournalHtml } from "../../harness/report/html.ts";
import { findChromium, launchChromium } from "../../harness/report/pdf.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { until } from "../../harness/testing/until.ts";

/** The most a step of a drill (a lab coming up, a page, a refresh) is waited for. */
const WAIT_MS = 90_000;

const FIXTURES = join(ROOT, "test", "fixtures", "gameday");
const OUTAGE = join(ROOT, "test", "fixtures", "scenarios", "short-oracle-outage.yml");
const SHOTS = process.env["FIREDRILL_SCREENSHOTS"];

describe("gameday incident room in headless Chromium", function () {
  this.timeout(5 * 60_000);
  let browser: Browser;
  let work: string;

  before(async function () {
    const chromium = findChromium();
    if (chromium === null) {
      console.log("    skipped: Chromium not found (set CHROMIUM_PATH or apt-get install -y chromium)");
      this.skip();
    }
    browser = await launchChromium(chromium);
    work = mkdtempSync(join(tmpdir(), "firedrill-gameday-browser-"));
  });
  afterEach(() => stopChildren());
  after(async () => {
    await browser?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("takes every step through the page's forms, in order, with no console error and no request outside the room", async () => {
    const roomFile = join(work, "room.url");
    const journalDir = join(work, "journals");
    const run = cli([
      "gameday",
      OUTAGE,
      "--team",
      join(FIXTURES, "team.yml"),
      "--journal-dir",
      journalDir,
      "--room-file",
      roomFile,
      "--start-jitter",
      "0s",
      "--wait",
      "2m",
    ]);
    await until("the first page", () => /page\.sent +page to Ada/.test(run.output()), WAIT_MS);
    const link = (await readFile(roomFile, "utf8")).trim();
    const origin = new URL(link).origin;

    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    const outside: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (new URL(r.url()).origin !== origin) outside.push(r.url());
    });
    try {
      await page.goto(link);
      // The link's token became a cookie: the room's own address, without the token.
      expect(page.url()).to.equal(`${origin}/`);
      await until(
        "an alert in the room",
        async () => (await page.locator("#live-alerts tbody tr").count()) > 0,
        WAIT_MS,
      );

      const form = (id: string) => page.locator(`form#${id}`);
      await form("acknowledge").getByLabel("You are").selectOption("Ada");
      await form("acknowledge").getByRole("button", { name: "Acknowledge" }).click();
      await page.waitForURL(`${origin}/#acknowledge`);

      await form("assess").getByLabel("You are").selectOption("Grace");
      await form("assess").getByLabel("Note (optional)").fill("collateral fine; chainlink silent");
      await form("assess").getByRole("button", { name: "Assessment done" }).click();
      await page.waitForURL(`${origin}/#assess`);

      const alert = form("communicate");
      await alert.getByLabel("You are").selectOption("Lin");
      await alert.getByLabel("Severity").selectOption("high");
      await alert.getByLabel("Current status").fill("Mitigating: secondaries active");
      await alert.getByLabel("Primary systems status verified").check();
      await alert.getByLabel("Secondary systems activated").check();
      await alert.getByLabel("Next steps").fill("Keep pricing from the secondaries until chainlink answers");
      await alert.getByLabel("Owner").fill("Grace");
      await alert.getByLabel("Timeline").fill("30m");
      await alert.getByRole("button", { name: "Send the incident alert" }).click();
      await page.waitForURL(`${origin}/#communicate`);

      await form("update").getByLabel("You are").selectOption("Lin");
      await form("update")
        .getByLabel("What was done")
        .fill("Secondaries price the stablecoin; no mint refused");
      await form("update").getByRole("button", { name: "Post the update" }).click();
      await page.waitForURL(`${origin}/#update`);

      // The live parts: what the responders did is on the room's timeline.
      await until(
        "the update on the room's timeline",
        async () =>
          ((await page.locator("#live-timeline").textContent()) ?? "").includes("Lin posted a status update"),
        WAIT_MS,
      );
      if (SHOTS) {
        await until(
          "the live assessment",
          async () => (await page.locator("#live-assessment table").count()) > 0,
          WAIT_MS,
        );
        await page.evaluate("window.scrollTo(0, 0)");
        await page.screenshot({ path: join(SHOTS, "gameday-room.png") });
      }

      await form("resolve").getByLabel("You are").selectOption("Grace");
      await form("resolve").getByLabel("What was done").fill("chainlink answers again; primaries back");
      await form("resolve").getByRole("button", { name: "Mark resolved" }).click();
      expect(await run.exit, run.output()).to.equal(0);
    } finally {
      await page.close();
    }
    expect(errors, errors.join("\n")).to.deep.equal([]);
    expect(outside, outside.join("\n")).to.deep.equal([]);

    const [journal] = journalsIn(journalDir);
    const steps = journal!.timeline.filter((e) => e.kind.startsWith("human."));
    expect(steps.map((e) => [e.kind, e.who])).to.deep.equal([
      ["human.acknowledged", "Ada"],
      ["human.assessed", "Grace"],
      ["human.communicated", "Lin"],
      ["human.updated", "Lin"],
      ["human.resolved", "Grace"],
    ]);
    expect(steps[1]!.details?.["note"]).to.equal("collateral fine; chainlink silent");
    expect(journal!.gameday?.incident_alert?.text).to.include("- [x] Secondary systems activated");
    expect(journal!.gameday?.incident_alert?.text).to.include("- [ ] Team notification sent");
    expect(journal!.gameday?.incident_alert?.text).to.include(
      "**Current Status**: Mitigating: secondaries active",
    );

    // The report shows the people beside the automated timeline.
    const html = join(work, "report.html");
    writeFileSync(html, renderJournalHtml(journal!));
    const report = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      await report.goto(pathToFileURL(html).href);
      const people = report.locator("#people");
      expect(await people.isVisible()).to.equal(true);
      const text = (await people.textContent()) ?? "";
      for (const who of ["Ada", "Grace", "Lin"]) expect(text).to.include(who);
      expect(text).to.include("Lin posted a status update");
      if (SHOTS) await people.screenshot({ path: join(SHOTS, "gameday-report.png") });
    } finally {
      await report.close();
    }
  });
});
