import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { type HumanLimits, humanVerdicts } from "../../harness/gameday/gameday.ts";
import { formProblems, type IncidentForm, incidentAlertText } from "../../harness/gameday/incident-form.ts";
import { openRoom, type Room } from "../../harness/gameday/room.ts";
import { type Step, StepRefused } from "../../harness/gameday/steps.ts";
import type { TimelineEvent } from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";

const S = 1000;
const MIN = 60 * S;
const PAGED = Date.parse("2026-12-04T03:00:00.000Z");
/** The playbook's limits: acknowledge 5 min, assess 2 min, incident alert 5 min, updates every 30 min. */
const LIMITS: HumanLimits = {
  acknowledge: 5 * MIN,
  assessment: 2 * MIN,
  communication: 5 * MIN,
  updatesEvery: 30 * MIN,
};

/** An event `ms` after the first page. */
function event(kind: TimelineEvent["kind"], ms: number, who?: string): TimelineEvent {
  return {
    at: new Date(PAGED + ms).toISOString(),
    t_ms: ms,
    kind,
    summary: `${who ?? "the drill"}: ${kind}`,
    ...(who === undefined ? {} : { who }),
  };
}

/** The drill's own events, which no human verdict counts. */
const BACKGROUND = [
  event("fault.injected", 0),
  event("page.sent", 200, "Ada"),
  event("alert.received", 3 * S),
];

const byName = (timeline: TimelineEvent[], endMs = PAGED + 3 * 60 * MIN) =>
  Object.fromEntries(humanVerdicts(timeline, PAGED, LIMITS, endMs).map((v) => [v.name, v]));

const ACK = "acknowledged within 5m";
const ASSESS = "assessment within 2m";
const ALERT = "communication within 5m";
const UPDATES = "updates at most every 30m";
const RESOLVED = "resolved by a responder";

describe("gameday human verdicts", () => {
  describe("humanVerdicts", () => {
    it("passes every step taken in time, measured from the first page", () => {
      const timeline = [
        ...BACKGROUND,
        event("human.acknowledged", 1 * MIN, "Ada"),
        event("human.assessed", 100 * S, "Grace"),
        event("human.communicated", 4 * MIN, "Lin"),
        event("human.updated", 29 * MIN, "Lin"),
        event("human.updated", 54 * MIN, "Lin"),
        event("human.resolved", 74 * MIN, "Grace"),
      ];
      const verdicts = humanVerdicts(timeline, PAGED, LIMITS, PAGED + 80 * MIN);
      expect(verdicts.map((v) => v.name)).to.deep.equal([ACK, ASSESS, ALERT, UPDATES, RESOLVED]);
      expect(verdicts.filter((v) => !v.passed)).to.deep.equal([]);
      expect(verdicts.every((v) => v.kind === "human" && v.unit === "ms")).to.equal(true);
      expect(verdicts.map((v) => [v.measured, v.limit])).to.deep.equal([
        [1 * MIN, 5 * MIN],
        [100 * S, 2 * MIN],
        [4 * MIN, 5 * MIN],
        [25 * MIN, 30 * MIN],
        [74 * MIN, null],
      ]);
      expect(verdicts.map((v) => v.reason)).to.deep.equal([
        "Ada acknowledged 1m after the first page",
        "Grace completed the assessment 1m40s after the first page",
        "Lin sent the incident alert 4m after the first page",
        "2 updates after the incident alert; the longest silence 25m (until the resolution)",
        "Grace marked it resolved 1h14m after the first page",
      ]);
    });

    it("passes a step taken exactly at its limit", () => {
      const v = byName([event("human.acknowledged", 5 * MIN, "Ada")]);
      expect(v[ACK]).to.include({ passed: true, measured: 5 * MIN });
    });

    it("fails a late acknowledgement, saying by how much", () => {
      const v = byName([
        event("human.acknowledged", 7 * MIN + 30 * S, "Ada"),
        event("human.assessed", 90 * S, "Grace"),
      ]);
      expect(v[ACK]).to.include({
        passed: false,
        measured: 7 * MIN + 30 * S,
        limit: 5 * MIN,
        reason: "Ada acknowledged 7m30s after the first page, 2m30s late",
      });
      expect(v[ACK]!.reason).to.match(/late/);
      expect(v[ASSESS]).to.include({
        passed: true,
        reason: "Grace completed the assessment 1m30s after the first page",
      });
    });

    it("fails every step when nobody did anything", () => {
      const v = byName([...BACKGROUND]);
      expect(Object.values(v).map((x) => x.passed)).to.deep.equal([false, false, false, false, false]);
      expect(v[ACK]).to.include({ reason: "nobody acknowledged", measured: null });
      expect(v[ASSESS]).to.include({ reason: "nobody completed the assessment", measured: null });
      expect(v[ALERT]).to.include({ reason: "nobody sent the incident alert", measured: null });
      expect(v[UPDATES]!.reason).to.match(/no incident alert/);
      expect(v[UPDATES]).to.include({ measured: null, limit: 30 * MIN });
      expect(v[RESOLVED]).to.include({ reason: "nobody marked the incident resolved", measured: null });
    });

    it("measures the longest gap between the incident alert, the updates and the resolution", () => {
      const between = byName([
        event("human.communicated", 4 * MIN, "Lin"),
        event("human.updated", 20 * MIN, "Lin"),
        event("human.updated", 70 * MIN, "Lin"),
        event("human.resolved", 80 * MIN, "Grace"),
      ]);
      expect(between[UPDATES]).to.include({
        passed: false,
        measured: 50 * MIN,
        reason: "2 updates after the incident alert; the longest silence 50m (until the resolution)",
      });
      const beforeResolution = byName([
        event("human.communicated", 4 * MIN, "Lin"),
        event("human.updated", 20 * MIN, "Lin"),
        event("human.resolved", 60 * MIN, "Grace"),
      ]);
      expect(beforeResolution[UPDATES]).to.include({ passed: false, measured: 40 * MIN });
      const noUpdateNeeded = byName([
        event("human.updated", 2 * MIN, "Lin"),
        event("human.communicated", 4 * MIN, "Lin"),
        event("human.resolved", 20 * MIN, "Grace"),
      ]);
      expect(noUpdateNeeded[UPDATES], "an update before the alert does not count").to.include({
        passed: true,
        measured: 16 * MIN,
        reason: "0 updates after the incident alert; the longest silence 16m (until the resolution)",
      });
    });

    it("counts an unresolved incident's silence up to the end of the drill", () => {
      const timeline = [event("human.communicated", 4 * MIN, "Lin"), event("human.updated", 30 * MIN, "Lin")];
      const late = byName(timeline, PAGED + 75 * MIN);
      expect(late[UPDATES]).to.include({
        passed: false,
        measured: 45 * MIN,
        reason: "1 update after the incident alert; the longest silence 45m (unresolved at the end)",
      });
      expect(late[RESOLVED]!.passed).to.equal(false);
      const early = byName(timeline, PAGED + 50 * MIN);
      expect(early[UPDATES]).to.include({ passed: true, measured: 26 * MIN });
    });
  });

  describe("the incident alert", () => {
    const FORM: IncidentForm = {
      severity: "critical",
      time: "2026-12-04T03:04:00Z",
      system: "Stablecoin Operations: price_oracles",
      impact: "Mints paused while the chainlink source is down",
      status: "Investigating",
      actions: ["verified", "team"],
      nextSteps: "Fail over to pyth",
      owner: "Grace",
      timeline: "15m",
    };

    it("follows the playbook's template, the chosen actions checked", () => {
      expect(incidentAlertText(FORM, "30m").split("\n")).to.deep.equal([
        "## INCIDENT ALERT - CRITICAL",
        "**Time**: 2026-12-04T03:04:00Z",
        "**System**: Stablecoin Operations: price_oracles",
        "**Impact**: Mints paused while the chainlink source is down",
        "**Current Status**: Investigating",
        "**Immediate Actions Taken**:",
        "- [x] Primary systems status verified",
        "- [ ] Secondary systems activated",
        "- [x] Team notification sent",
        "- [ ] Regulatory notification prepared (if required)",
        "**Next Steps**:",
        "Fail over to pyth (owner: Grace; timeline: 15m)",
        "**Communication Schedule**: Updates every 30m until resolved",
      ]);
    });

    it("says what is missing from next steps, and uses the given update interval", () => {
      const text = incidentAlertText(
        {
          ...FORM,
          severity: "medium",
          actions: ["secondary", "regulator"],
          nextSteps: " ",
          owner: "",
          timeline: "",
        },
        "6s",
      );
      expect(text).to.match(/^## INCIDENT ALERT - MEDIUM\n/);
      expect(text).to.include(
        "- [ ] Primary systems status verified\n- [x] Secondary systems activated\n- [ ] Team notification sent\n- [x] Regulatory notification prepared (if required)",
      );
      expect(text).to.include("\n(none given) (owner: unassigned; timeline: not given)\n");
      expect(text).to.match(/\n\*\*Communication Schedule\*\*: Updates every 6s until resolved$/);
    });

    it("finds a bad severity, a bad time and an unknown action", () => {
      expect(formProblems(FORM)).to.deep.equal([]);
      expect(formProblems({ severity: "apocalyptic" })).to.deep.equal([
        "severity: one of critical, high, medium, low",
      ]);
      expect(formProblems({ time: "yesterday at three" })).to.deep.equal([
        "time: an ISO 8601 UTC time, e.g. 2026-12-04T03:00:00Z",
      ]);
      expect(formProblems({ actions: ["verified", "prayed"] })).to.deep.equal([
        'actions: "prayed" is not one of verified, secondary, team, regulator',
      ]);
      expect(formProblems({ actions: "prayed" }), "one action given as a string").to.have.length(1);
      expect(formProblems({ severity: "HIGH", time: "", impact: 3 })).to.have.length(3);
    });
  });

  describe("a step from a terminal", () => {
    let dir: string;
    let room: Room | undefined;
    const steps: Step[] = [];

    before(() => {
      dir = mkdtempSync(join(tmpdir(), "firedrill-gameday-step-"));
    });
    afterEach(async () => {
      await stopChildren();
      await room?.close();
      room = undefined;
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs `firedrill gameday <args>` to its end: its exit status and its output's lines. */
    async function gameday(args: string[]) {
      const run = cli(["gameday", ...args]);
      const status = await run.exit;
      const output = run.output();
      expect(output, "no stack trace").not.to.match(/^\s+at /m);
      return { status, output, lines: output.trimEnd().split("\n") };
    }

    /** A room whose handlers record the steps they are given. */
    async function recordingRoom(): Promise<Room> {
      room = await openRoom(
        { host: "127.0.0.1", port: 0, explicit: false },
        {
          state: () => {
            throw new Error("the terminal path does not read the state");
          },
          step(step, input) {
            if (input.who !== "Ada") return new StepRefused(400, `"${input.who}" is not on the team`);
            steps.push(step);
            return {
              at: new Date().toISOString(),
              t_ms: 0,
              kind: "human.acknowledged",
              who: "Ada",
              summary: "Ada acknowledged the page",
            };
          },
        },
      );
      return room;
    }

    it("refuses without a room when no GameDay wrote its link (exit 2, one line)", async () => {
      const file = join(dir, "no-gameday", "room.url");
      const { status, lines, output } = await gameday(["ack", "--as", "Ada", "--room-file", file]);
      expect(status, output).to.equal(2);
      expect(lines).to.deep.equal([
        `firedrill: --room: no GameDay on this machine has a room open (no ${file}); give the link from your page (FD100)`,
      ]);
    });

    it("says no room answers at a closed port (exit 3, FD321, one line)", async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const { status, lines, output } = await gameday([
        "ack",
        "--room",
        `http://127.0.0.1:${port}/?token=abc`,
        "--as",
        "Ada",
      ]);
      expect(status, output).to.equal(3);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(
          `^firedrill: no incident room answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): the drill may have ended \\(FD321\\)$`,
        ),
      );
    });

    it("says the token is wrong when the room answers 401 (exit 2, FD239), and takes the step with the right one", async () => {
      const open = await recordingRoom();
      const wrong = await gameday(["ack", "--room", `${open.url}?token=not-the-token`, "--as", "Ada"]);
      expect(wrong.status, wrong.output).to.equal(2);
      expect(wrong.lines).to.deep.equal([
        "firedrill: the room refused acknowledge (HTTP 401): the room's token is missing or wrong (FD239)",
      ]);
      expect(steps).to.deep.equal([]);
      const right = await gameday(["ack", "--room", open.urlWithToken, "--as", "Ada"]);
      expect(right.status, right.output).to.equal(0);
      expect(right.lines).to.have.length(1);
      expect(right.lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}Ada acknowledged the page$/);
      expect(steps).to.deep.equal(["acknowledge"]);
      expect(right.output).not.to.include(open.token);
    });

    it("refuses a step without --as (exit 2, one line)", async () => {
      const { status, lines, output } = await gameday(["ack", "--room", "http://127.0.0.1:9/?token=abc"]);
      expect(status, output).to.equal(2);
      expect(lines).to.deep.equal(["firedrill: --as: say who you are, as named in team.yml (FD100)"]);
    });
  });
});
