// GameDays end to end: a real lab and reference stack, people acting from a terminal (the
// `firedrill gameday <step>` commands), a slow responder on a compressed clock, nobody
// answering (escalation, a pager that is down), and Ctrl-C while the drill waits for people.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT, SCENARIOS_DIR } from "../../harness/paths.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { type Cli, cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { until } from "../../harness/testing/until.ts";

/** The most a step of a drill (a lab coming up, a page) is waited for. */
const WAIT_MS = 90_000;

const FIXTURES = join(ROOT, "test", "fixtures", "gameday");
const OUTAGE = join(ROOT, "test", "fixtures", "scenarios", "short-oracle-outage.yml");

/** A KPI file like the shipped one with other response targets. */
function kpisWith(dir: string, targets: string): string {
  const shipped = readFileSync(join(SCENARIOS_DIR, "kpis.yml"), "utf8");
  const text = shipped.replace(/response_targets:\n(?: {2}.*\n)+/, `response_targets:\n${targets}\n`);
  if (text === shipped) throw new Error("kpis.yml has no response_targets block to replace");
  const file = join(dir, `kpis-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, text);
  return file;
}

interface Gameday {
  run: Cli;
  roomFile: string;
  journalDir: string;
}

function gameday(dir: string, args: string[], env: NodeJS.ProcessEnv = process.env): Gameday {
  const roomFile = join(dir, "room.url");
  const journalDir = join(dir, "journals");
  const run = cli(
    ["gameday", ...args, "--journal-dir", journalDir, "--room-file", roomFile, "--start-jitter", "0s"],
    env,
  );
  return { run, roomFile, journalDir };
}

async function step(g: Gameday, ...args: string[]): Promise<string> {
  const c = cli(["gameday", ...args, "--room-file", g.roomFile]);
  const code = await c.exit;
  expect(code, `${args.join(" ")}: ${c.output()}`).to.equal(0);
  return c.output();
}

function onlyJournal(dir: string): Journal {
  const journals = journalsIn(dir);
  expect(journals).to.have.length(1);
  return journals[0]!;
}

describe("gameday, drilled with people", function () {
  this.timeout(5 * 60_000);
  let work: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "firedrill-gameday-"));
  });
  afterEach(() => stopChildren());
  after(() => rmSync(work, { recursive: true, force: true }));

  it("responders work the incident from a terminal: every step is a human event with who, and every verdict passes", async () => {
    const dir = mkdtempSync(join(work, "terminal-"));
    const g = gameday(dir, [OUTAGE, "--team", join(FIXTURES, "team.yml"), "--wait", "2m"]);
    await until("the first page", () => /page\.sent +page to Ada/.test(g.run.output()), WAIT_MS);
    const link = readFileSync(g.roomFile, "utf8").trim();
    expect(link).to.match(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    await step(g, "ack", "--as", "ada");
    await step(g, "assess", "--as", "Grace", "--note", "ratio fine, chainlink silent");
    await step(
      g,
      "communicate",
      "--as",
      "Lin",
      "--severity",
      "high",
      "--action",
      "verified",
      "--action",
      "secondary",
      "--next-steps",
      "watch the secondaries",
      "--owner",
      "Grace",
      "--timeline",
      "30m",
    );
    await step(g, "update", "--as", "Lin", "--note", "secondaries price the stablecoin");
    await step(g, "mitigate", "--as", "Grace", "--note", "secondaries in use");
    await step(g, "resolve", "--as", "Grace", "--note", "chainlink answers again");
    expect(await g.run.exit, g.run.output()).to.equal(0);

    const j = onlyJournal(g.journalDir);
    const human = j.timeline.filter((e) => e.kind.startsWith("human."));
    expect(human.map((e) => [e.kind, e.who])).to.deep.equal([
      ["human.acknowledged", "Ada"],
      ["human.assessed", "Grace"],
      ["human.communicated", "Lin"],
      ["human.updated", "Lin"],
      ["human.mitigated", "Grace"],
      ["human.resolved", "Grace"],
    ]);
    const humanVerdicts = j.verdicts.filter((v) => v.kind === "human");
    expect(humanVerdicts.map((v) => v.name)).to.deep.equal([
      "acknowledged within 5m",
      "assessment within 2m",
      "communication within 5m",
      "updates at most every 30m",
      "resolved by a responder",
    ]);
    expect(humanVerdicts.every((v) => v.passed)).to.equal(true);
    expect(j.gameday?.incident_alert?.by).to.equal("Lin");
    expect(j.gameday?.incident_alert?.text).to.match(
      /## INCIDENT ALERT - HIGH[\s\S]*- \[x\] Secondary systems activated/,
    );
    expect(j.gameday?.updates.map((u) => u.text)).to.deep.equal(["secondaries price the stablecoin"]);
    expect(j.gameday?.resolution?.by).to.equal("Grace");
    // Every target met: no post-mortem unless asked for.
    expect(j.gameday?.postmortem).to.equal(null);
    // The room's token is a secret: in the pages and the room file, never in the journal or the output.
    const token = new URL(link).searchParams.get("token")!;
    expect(readFileSync(join(g.journalDir, `${j.id}.journal.json`), "utf8")).to.not.include(token);
    expect(g.run.output()).to.not.include(token);
    expect(g.run.output()).to.match(/people:\n {4}\+[\d.]+s {2}page\.sent/);
    // The room closed with the drill, and its link went with it.
    expect(existsSync(g.roomFile)).to.equal(false);
    const closed = cli(["gameday", "ack", "--room", link, "--as", "Ada"]);
    expect(await closed.exit, closed.output()).to.equal(3);
  });

  it("a responder who sends the incident alert after the limit of a compressed clock fails that verdict, exit 1, with a post-mortem draft", async () => {
    const dir = mkdtempSync(join(work, "slow-"));
    // 5 minutes for the incident alert, replayed 300 times faster: 1 s.
    const kpis = kpisWith(
      dir,
      "  acknowledge: 50m\n  assessment: 50m\n  communication: 5m\n  updates_every: 30m\n  mttr: 15m\n  scale_with_replay_compression: true",
    );
    const g = gameday(dir, [
      join(FIXTURES, "compressed-oracle-outage.yml"),
      "--team",
      join(FIXTURES, "team.yml"),
      "--kpis",
      kpis,
      "--wait",
      "2m",
    ]);
    await until("the first page", () => /page\.sent +page to Ada/.test(g.run.output()), WAIT_MS);
    const pagedAt = Date.now();
    await step(g, "ack", "--as", "Ada");
    // The responder is slow: the incident alert goes out well after the scaled limit.
    await until("the scaled limit to pass", () => Date.now() - pagedAt > 2_500, 10_000);
    await step(g, "communicate", "--as", "Lin");
    await step(g, "resolve", "--as", "Grace", "--note", "done");
    expect(await g.run.exit, g.run.output()).to.equal(1);
    const j = onlyJournal(g.journalDir);
    const communication = j.verdicts.find((v) => v.name.startsWith("communication within"))!;
    expect(communication.name).to.equal("communication within 1s");
    expect(communication.passed).to.equal(false);
    expect(communication.reason).to.match(/Lin sent the incident alert .* after the first page, .* late/);
    expect(j.gameday?.limits_ms.communication).to.equal(1_000);
    expect(j.gameday?.postmortem).to.equal(`${j.id}.postmortem.md`);
    const draft = readFileSync(join(g.journalDir, j.gameday!.postmortem!), "utf8");
    expect(draft).to.match(/communication within 1s/);
    expect(draft).to.include("INCIDENT ALERT");
  });

  describe("nobody answers", () => {
    let pagerduty: Server;
    const received: unknown[] = [];

    before(async () => {
      pagerduty = createServer((req, res) => {
        let body = "";
        req.on("data", (d) => {
          body += d;
        });
        req.on("end", () => {
          received.push(JSON.parse(body));
          res.writeHead(202, { "content-type": "application/json" });
          res.end(JSON.stringify({ status: "success", message: "Event processed" }));
        });
      });
      await new Promise<void>((r) => pagerduty.listen(0, "127.0.0.1", r));
    });
    after(() => new Promise((r) => pagerduty.close(r)));

    it("fails acknowledgement, escalates to the next responder, records a pager that is down, and still heals the fault", async () => {
      const dir = mkdtempSync(join(work, "nobody-"));
      // A port with nothing on it: the escalation's Slack is down.
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
      const downPort = (probe.address() as AddressInfo).port;
      await new Promise((r) => probe.close(r));
      const kpis = kpisWith(
        dir,
        "  acknowledge: 2s\n  assessment: 2m\n  communication: 5m\n  updates_every: 30m\n  mttr: 15m",
      );
      const key = "R0UTING0KEY0SECRET0123456789abcd";
      const g = gameday(
        dir,
        [OUTAGE, "--team", join(FIXTURES, "team-paged.yml"), "--kpis", kpis, "--wait", "2m"],
        {
          ...process.env,
          GAMEDAY_TEST_ROUTING_KEY: key,
          GAMEDAY_TEST_PAGERDUTY_URL: `http://127.0.0.1:${(pagerduty.address() as AddressInfo).port}/v2/enqueue`,
          GAMEDAY_TEST_SLACK_URL: `http://127.0.0.1:${downPort}/services/T000/B000/XXXXSECRET`,
        },
      );
      expect(await g.run.exit, g.run.output()).to.equal(1);
      const j = onlyJournal(g.journalDir);
      // The fault was healed all the same.
      expect(j.faults[0]!.healed_at).to.not.equal(null);
      const ack = j.verdicts.find((v) => v.name === "acknowledged within 2s")!;
      expect(ack.passed).to.equal(false);
      expect(ack.reason).to.equal("nobody acknowledged");
      // Ada was paged through PagerDuty, with the room's link and the incident's key.
      const trigger = received[0] as {
        routing_key: string;
        event_action: string;
        dedup_key: string;
        links: { href: string }[];
      };
      expect(trigger.routing_key).to.equal(key);
      expect(trigger.event_action).to.equal("trigger");
      expect(trigger.links[0]!.href).to.match(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
      // Nobody acknowledged within 2 s: Grace was paged next, on a Slack that is down.
      const pages = j.timeline.filter((e) => e.kind.startsWith("page."));
      expect(pages.map((e) => [e.kind, e.who, e.details?.["message"]])).to.deep.equal([
        ["page.sent", "Ada", "page"],
        ["page.failed", "Grace", "escalation"],
      ]);
      expect(pages[1]!.details?.["attempts"]).to.be.at.least(2);
      expect(j.timeline.some((e) => e.kind === "note" && /no responder left/.test(e.summary))).to.equal(true);
      // Neither the routing key nor the Slack URL's secret path is anywhere in the journal or output.
      const text = readFileSync(join(g.journalDir, `${j.id}.journal.json`), "utf8") + g.run.output();
      expect(text).to.not.include(key);
      expect(text).to.not.include("XXXXSECRET");
    });
  });

  it("Ctrl-C while the drill waits for people heals, closes the room and journals the run as interrupted", async () => {
    const dir = mkdtempSync(join(work, "sigint-"));
    const g = gameday(dir, [OUTAGE, "--team", join(FIXTURES, "team.yml"), "--wait", "10m"]);
    await until(
      "the wait for people",
      () => /waiting for a responder to resolve/.test(g.run.output()),
      WAIT_MS,
    );
    const link = readFileSync(g.roomFile, "utf8").trim();
    g.run.child.kill("SIGINT");
    expect(await g.run.exit, g.run.output()).to.equal(130);
    const j = onlyJournal(g.journalDir);
    expect(j.status).to.equal("interrupted");
    expect(j.faults.every((f) => f.healed_at !== null)).to.equal(true);
    expect(existsSync(g.roomFile)).to.equal(false);
    const response = await fetch(link).catch((error: Error) => error);
    expect(response).to.be.instanceOf(Error);
  });
});
