import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { renderJournalHtml } from "../../harness/report/html.ts";
import { junitFromJournal } from "../../harness/report/junit.ts";
import { markdownSummary } from "../../harness/report/markdown.ts";
import { postmortemMarkdown } from "../../harness/report/postmortem.ts";
import {
  type Gameday,
  type Journal,
  type JournalDraft,
  journalHashMatches,
  sealJournal,
  type TimelineEvent,
  type Verdict,
} from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { makeJournal, writeJournalFiles } from "../../harness/testing/journals.ts";

/** A responder whose name would run as script in a report that did not escape it. */
const HOSTILE = `Ada <script>alert("pwned")</script> & Co`;
const ROOM = "http://127.0.0.1:43117/room/firedrill-gameday";
const ALERT_TEXT = [
  "## INCIDENT ALERT - CRITICAL",
  "**Impact**: mints paused while the primary oracle is down",
  '<img src="https://evil.example.com/x.png" onerror="alert(1)">',
  "```",
  "ORACLE_STALE on ethereum",
  "```",
  "**Communication Schedule**: Updates every 30 minutes until resolved",
].join("\n");

const MIN = 60_000;

/** The fixture journal of seed 42 as a GameDay: its people's pages, steps, verdicts and messages. */
function gamedayJournal(): Journal {
  const { integrity: _, ...base } = makeJournal({ seed: 42 });
  const t0 = Date.parse(base.first_injection_at!);
  const at = (tMs: number): string => new Date(t0 + tMs).toISOString();
  const event = (tMs: number, e: Omit<TimelineEvent, "at" | "t_ms">): TimelineEvent => ({
    at: at(tMs),
    t_ms: tMs,
    ...e,
  });
  // Recorded out of order, as the room and the pager may report them: the reports sort them.
  const people: TimelineEvent[] = [
    event(7 * MIN + 40_000, {
      kind: "human.assessed",
      who: "Grace",
      summary: "Grace assessed the incident",
      details: { note: "collateral <b>ok</b> & chainlink stale" },
    }),
    event(200, {
      kind: "page.sent",
      who: HOSTILE,
      summary: `paged ${HOSTILE} via slack`,
      details: { channel: "slack", message: "page", attempts: 1 },
    }),
    event(5 * MIN + 200, {
      kind: "page.failed",
      who: "Grace",
      summary: "escalation to Grace via webhook failed",
      details: { channel: "webhook", message: "escalation", attempts: 3, error: "HTTP 503" },
    }),
    event(7 * MIN + 20_000, {
      kind: "human.acknowledged",
      who: HOSTILE,
      summary: `${HOSTILE} acknowledged the page`,
    }),
    event(9 * MIN, {
      kind: "human.communicated",
      who: "Lin",
      summary: "Lin sent the incident alert",
    }),
    event(9 * MIN + 300, {
      kind: "page.sent",
      who: "communications",
      summary: "incident alert to communications via console",
      details: { channel: "console", message: "incident_alert", attempts: 1 },
    }),
    event(20 * MIN, { kind: "human.updated", who: "Lin", summary: "Lin sent an update" }),
    event(22 * MIN, {
      kind: "human.mitigated",
      who: "Grace",
      summary: "Grace marked the incident mitigated",
      details: { note: "secondary oracle active" },
    }),
    event(25 * MIN, { kind: "human.resolved", who: "Grace", summary: "Grace resolved the incident" }),
  ];
  const human: Verdict[] = [
    {
      name: "acknowledged within 5m",
      kind: "human",
      passed: false,
      reason: `${HOSTILE} acknowledged 7m20s after the first page; limit 5m`,
      limit: 5 * MIN,
      measured: 7 * MIN + 20_000,
      unit: "ms",
    },
    {
      name: "assessment within 2m",
      kind: "human",
      passed: true,
      reason: "assessed 20 s after the acknowledgement",
      limit: 2 * MIN,
      measured: 20_000,
      unit: "ms",
    },
    // No unit: a human verdict's numbers are milliseconds all the same.
    {
      name: "updates at most every 30m",
      kind: "human",
      passed: true,
      reason: "the longest silence was 11 min",
      limit: 30 * MIN,
      measured: 11 * MIN,
    },
  ];
  const gameday: Gameday = {
    team: [
      { name: HOSTILE, role: "on_call" },
      { name: "Grace", role: "incident_lead" },
      { name: "Lin", role: "communications" },
    ],
    blind: true,
    room: ROOM,
    paged_at: at(200),
    incident_alert: { at: at(9 * MIN), by: "Lin", text: ALERT_TEXT },
    updates: [{ at: at(20 * MIN), by: "Lin", text: "Mints paused & the secondary oracle is active." }],
    resolution: { at: at(25 * MIN), by: "Grace", text: "Chainlink is back; mints resumed." },
    limits_ms: { acknowledge: 5 * MIN, assessment: 2 * MIN, communication: 5 * MIN, updates_every: 30 * MIN },
    postmortem: `${base.id}.postmortem.md`,
  };
  const draft: JournalDraft = {
    ...base,
    status: "failed",
    timeline: [...base.timeline, ...people],
    verdicts: [...base.verdicts, ...human],
    gameday,
  };
  return sealJournal(draft, null);
}

/** The rows of the first Markdown table after `heading`, as arrays of cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split("\n");
  let i = lines.indexOf(heading);
  expect(i, heading).to.be.greaterThan(-1);
  while (!lines[i]!.startsWith("|")) i++;
  const rows: string[][] = [];
  for (i += 2; lines[i]?.startsWith("|"); i++)
    rows.push(
      lines[i]!.slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
  return rows;
}

/** Milliseconds of a `t+…` cell (`t+7 min 20 s`, `t+200 ms`, `t+12.5 s`). */
function tMs(cell: string): number {
  const m = /^t([+-])(.*)$/.exec(cell)!;
  let ms = 0;
  for (const [, n, unit] of m[2]!.matchAll(/([\d.]+) (ms|s|min|h)/g))
    ms += Number(n) * { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[unit as "ms"];
  return m[1] === "-" ? -ms : ms;
}

describe("gameday reports", () => {
  const journal = gamedayJournal();

  it("the fixture is a valid, sealed GameDay journal", () => {
    expect(journalHashMatches(journal)).to.equal(true);
    expect(journal.gameday?.team).to.have.length(3);
  });

  it("the Markdown summary has a human timeline, in time order, with the human verdicts", () => {
    const md = markdownSummary(journal);
    const heading = md.indexOf("#### Human timeline");
    expect(heading).to.be.greaterThan(md.indexOf("| MTTR |"));
    expect(heading).to.be.lessThan(md.indexOf("| | verdict |"));
    const rows = tableAfter(md, "#### Human timeline");
    expect(rows.map((r) => r[1])).to.deep.equal([
      "page sent: page via slack",
      "page FAILED: escalation via webhook",
      "acknowledged",
      "assessed",
      "communicated",
      "page sent: incident_alert via console",
      "updated",
      "mitigated",
      "resolved",
    ]);
    const times = rows.map((r) => tMs(r[0]!));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(rows[0]![0]).to.equal("t+200 ms");
    expect(rows[2]![0]).to.equal("t+7 min 20 s");
    expect(rows[3]![3]).to.include("(note: collateral &lt;b&gt;ok&lt;/b&gt; & chainlink stale)");
    expect(rows[1]![3]).to.include("3 attempt(s): HTTP 503");
    // The responder's name cannot open a tag where the summary is rendered.
    expect(md).to.include("Ada &lt;script&gt;");
    expect(md).not.to.include("<script>");
    expect(md).to.include("Team: Ada &lt;script&gt;");
    expect(md).to.match(/Grace \(incident lead\), Lin \(communications\)/);
    // The human verdicts, readable: durations, the failed one marked.
    expect(md).to.include("| ❌ | acknowledged within 5m | 5 min | 7 min 20 s |");
    expect(md).to.include("| ✅ | updates at most every 30m | 30 min | 11 min |");
  });

  it("the HTML report shows the team, the human timeline and the post-mortem, escaped and self-contained", () => {
    const html = renderJournalHtml(journal);
    expect(html).to.include("<h2>People (GameDay)</h2>");
    expect(html).to.include("<h3>Human timeline</h3>");
    expect(html).to.include("<h2>Post-mortem draft</h2>");
    // Beside the automated timeline: after its chart, before the phases.
    const people = html.indexOf('<section id="people">');
    expect(people).to.be.greaterThan(html.indexOf("<h2>Timeline</h2>"));
    expect(people).to.be.lessThan(html.indexOf("<h2>Phases and MTTR</h2>"));
    // The team with its roles.
    expect(html).to.include(
      '<li><b>Ada &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; Co</b> <span class="mute">on call</span></li>',
    );
    expect(html).to.include('<li><b>Grace</b> <span class="mute">incident lead</span></li>');
    // Nothing the responders typed is markup.
    expect(html).not.to.include("<script");
    expect(html).not.to.include("<img");
    expect(html).not.to.include("<b>ok</b>");
    expect(html).to.include("collateral &lt;b&gt;ok&lt;/b&gt; &amp; chainlink stale");
    expect(html).to.include("&lt;img src=&quot;https://evil.example.com/x.png&quot;");
    // The human timeline in time order.
    const section = html.slice(people, html.indexOf("</section>", people));
    const steps = ["acknowledged", "assessed", "communicated", "updated", "mitigated", "resolved"].map((s) =>
      section.indexOf(`<td>${s}</td>`),
    );
    expect(steps.every((i) => i > 0)).to.equal(true);
    expect(steps).to.deep.equal([...steps].sort((a, b) => a - b));
    expect(section).to.include('<span class="bad">page FAILED: escalation via webhook</span>');
    // The incident alert as sent, the update and the resolution, as preformatted text.
    expect(section).to.include(`<pre>## INCIDENT ALERT - CRITICAL\n**Impact**: mints paused`);
    expect(section).to.include("<pre>Mints paused &amp; the secondary oracle is active.</pre>");
    expect(section).to.include("<pre>Chainlink is back; mints resumed.</pre>");
    // The room's address is text, not a link.
    expect(section).to.include(`<span class="mono">${ROOM}</span>`);
    // The post-mortem as escaped text.
    expect(html).to.include("# Post-mortem: oracle-failure-during-depeg");
    expect(html).to.include("| Action | Owner | Due | Status |");
    // Self-contained: nothing fetched from anywhere.
    expect(html).not.to.match(/\b(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.to.match(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.to.match(/<(?:script|link|iframe|object|embed|img)\b/i);
    expect(html).to.include(`content="default-src 'none'`);
  });

  it("the post-mortem draft lists the targets missed, what was sent, and the sections to fill in", () => {
    const md = postmortemMarkdown(journal);
    expect(postmortemMarkdown(journal)).to.equal(md);
    // The real scenario, though the responders were not told it.
    expect(md.split("\n")[0]).to.equal("# Post-mortem: oracle-failure-during-depeg (2026-11-02)");
    expect(md).to.include("| Blind | yes: the responders did not know the scenario until the end |");
    expect(md).to.match(/\| Status \| FAILED: 1 of \d+ verdicts failed; the run ended failed \|/);
    expect(md).to.match(
      /\| MTTR \| \d+s(\d+ms)?: within the RTO of 15m for price_oracles \(\d+\.\d % of it\) \|/,
    );
    // The team and their roles.
    expect(tableAfter(md, "### Team")).to.deep.equal([
      ['Ada &lt;script&gt;alert("pwned")&lt;/script&gt; & Co', "on call"],
      ["Grace", "incident lead"],
      ["Lin", "communications"],
    ]);
    // One timeline: faults, alerts and phases with the pages and steps, in time order.
    const timeline = tableAfter(md, "## Timeline");
    const kinds = timeline.map((r) => r[1]);
    expect(kinds).to.include.members(["fault.injected", "fault.healed", "alert.received", "phase.reached"]);
    expect(kinds).not.to.include("probe.ok");
    expect(kinds).not.to.include("fault.proof");
    expect(kinds.indexOf("fault.injected")).to.be.lessThan(kinds.indexOf("acknowledged"));
    expect(kinds.indexOf("phase.reached")).to.be.lessThan(kinds.indexOf("acknowledged"));
    expect(kinds.indexOf("acknowledged")).to.be.lessThan(kinds.indexOf("resolved"));
    const times = timeline.map((r) => tMs(r[0]!));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(timeline.find((r) => r[1] === "acknowledged")?.[2]).to.equal(
      'Ada &lt;script&gt;alert("pwned")&lt;/script&gt; & Co',
    );
    // The failed human verdict, and by how much it was missed.
    const missed = tableAfter(md, "## Targets missed");
    expect(missed).to.have.length(1);
    expect(missed[0]!.slice(0, 5)).to.deep.equal(["acknowledged within 5m", "human", "5m", "7m20s", "2m20s"]);
    // The incident alert as sent, verbatim in a fence its own backticks cannot close.
    expect(md).to.match(
      /## Incident alert as sent\n\nSent by Lin \(communications\) at \S+ \(t\+9 min\):\n\n````markdown\n## INCIDENT ALERT - CRITICAL\n/,
    );
    expect(md).to.include(`${ALERT_TEXT}\n\`\`\`\`\n`);
    expect(md).to.include("### Update 1\n\nSent by Lin (communications)");
    expect(md).to.include("Mints paused & the secondary oracle is active.");
    expect(md).to.match(/## Resolution\n\nSent by Grace \(incident lead\) at \S+ \(t\+25 min\):/);
    // The team's sections, empty.
    for (const heading of ["## Root cause", "## What went well", "## What went wrong", "## Action items"])
      expect(md).to.include(`\n${heading}\n`);
    expect(md).to.include(
      "| Action | Owner | Due | Status |\n| --- | --- | --- | --- |\n|  |  |  |  |\n|  |  |  |  |\n",
    );
  });

  it("a passing GameDay's post-mortem says no target was missed", () => {
    const { integrity: _, ...draft } = journal;
    const passing = sealJournal(
      { ...draft, status: "completed", verdicts: draft.verdicts.map((v) => ({ ...v, passed: true })) },
      null,
    );
    expect(postmortemMarkdown(passing)).to.include("## Targets missed\n\nNone: every verdict passed.\n");
  });

  it("JUnit has a test case per human verdict, classed firedrill.<scenario>.human", () => {
    const xml = junitFromJournal(journal);
    expect(xml.match(/<testcase /g)).to.have.length(journal.verdicts.length);
    expect(xml.match(/classname="firedrill\.oracle-failure-during-depeg\.human"/g)).to.have.length(3);
    expect(xml).to.include('<failure message="Ada &lt;script&gt;');
    expect(xml).to.include('type="human">limit 5 min, measured 7 min 20 s</failure>');
  });

  it("a journal without a GameDay has no people section in any format", () => {
    const plain = makeJournal({ seed: 42 });
    const md = markdownSummary(plain);
    const html = renderJournalHtml(plain);
    for (const text of ["Human timeline", "People (GameDay)", "Post-mortem draft", "human target"]) {
      expect(md).not.to.include(text);
      expect(html).not.to.include(text);
    }
    expect(junitFromJournal(plain)).not.to.include(".human");
    // The people's section is the only difference the gameday object makes to the summary.
    const { gameday } = journal;
    const withPeople = markdownSummary({ ...plain, gameday: { ...gameday!, paged_at: null } });
    expect(withPeople).to.include("#### Human timeline");
    expect(withPeople.replace(/#### Human timeline\n[\s\S]*?(?=\| \| verdict \|)/, "")).to.equal(md);
  });

  describe("firedrill report --format postmortem", function () {
    this.timeout(60_000);
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "firedrill-gameday-report-"));
    });
    afterEach(async () => {
      await stopChildren();
      await rm(dir, { recursive: true, force: true });
    });

    it("writes <journal id>.postmortem.md next to the other formats", async () => {
      const [file] = await writeJournalFiles(join(dir, "j"), [journal]);
      const out = join(dir, "out");
      const run = cli(["report", file!, "--format", "md,post-mortem", "--out", out]);
      expect(await run.exit, run.output()).to.equal(0);
      const written = join(out, `${journal.id}.postmortem.md`);
      expect(run.output()).to.include("wrote 2 file(s)");
      expect(await readFile(written, "utf8")).to.equal(postmortemMarkdown(journal));
      expect(existsSync(join(out, `${journal.id}.md`))).to.equal(true);
      // Rendered again into the same folder: unchanged, kept.
      const again = cli(["report", file!, "--format", "postmortem", "--out", out]);
      expect(await again.exit, again.output()).to.equal(0);
      expect(again.output()).to.match(/wrote 0 file\(s\).*1 unchanged/);
    });

    it("--help names the format", async () => {
      const run = cli(["report", "--help"]);
      expect(await run.exit).to.equal(0);
      expect(run.output()).to.include("html,pdf,md,junit,json,postmortem");
    });
  });
});
