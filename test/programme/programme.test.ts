import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import { writeJournal } from "../../harness/runner/journal.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { makeJournalDraft } from "../../harness/testing/journals.ts";

const DAY = 86_400_000;
const AT = "2026-12-01T12:00:00Z";
const FIXTURES = join(ROOT, "test", "fixtures", "scenarios");

/** A minimal valid scenario named `name` with `targets`, for a programme's pool. */
function scenario(name: string, targets: string, fault: string): string {
  return `name: ${name}
targets: [${targets}]
steady_state:
  - probe: http_ok
    url: stack:/health
faults:
${fault}
expect:
  detection: [RPC_FAILOVER]
`;
}

describe("firedrill programme", function () {
  this.timeout(120_000);
  let dir: string;
  let journals: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "firedrill-programme-"));
    journals = join(dir, "reports");
    const pool = join(dir, "pool");
    const rpc = "  - type: rpc_outage\n    chain: ethereum\n    provider: primary\n    for: 5s";
    const reg = "  - type: regulator_outage\n    for: 5s";
    mkdirSync(pool);
    // The fixture journals' scenario names: template 2 is primary-rpc-outage, 3 regulatory-pressure.
    writeFileSync(join(pool, "primary-rpc-outage.yml"), scenario("primary-rpc-outage", "rpc_providers", rpc));
    writeFileSync(
      join(pool, "regulatory-pressure.yml"),
      scenario("regulatory-pressure", "regulator_endpoint", reg),
    );
    writeFileSync(join(pool, "never-drilled.yml"), scenario("never-drilled", "rpc_providers", rpc));
    mkdirSync(journals);
    const at = Date.parse(AT);
    for (const [template, endMs, fail] of [
      [2, at - 40 * DAY, false],
      [2, at - 5 * DAY, true],
      [3, at - 80 * DAY, false],
    ] as const) {
      const draft = makeJournalDraft({ scenario: template, startMs: endMs - 120_000, fail });
      await writeJournal(journals, { ...draft, ended_at: new Date(endMs).toISOString() });
    }
    writeFileSync(
      join(dir, "programme.yml"),
      `version: 1
scenarios: [pool]
cadence:
  tiers:
    1: monthly
    2: quarterly
  scenarios:
    primary-rpc-outage: 14d
rotation:
  from: 2026-11-02
  every: 7d
  people: [alice, bob, carol]
`,
    );
  });
  afterEach(stopChildren);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("status: each scenario's last drill, result and due date, most overdue first; the score; who is on rotation", async () => {
    const run = cli(["programme", "status", join(dir, "programme.yml"), "--journals", journals, "--at", AT]);
    expect(await run.exit, run.output()).to.equal(0);
    const lines = run.output().split("\n");
    expect(lines[0]).to.match(/: 1 overdue, 1 due soon, 1 ok; on rotation: bob until 2026-12-07$/);
    expect(lines[1]).to.match(/^resilience score \d+\.\d\/100 over 16 systems/);
    const rows = lines.filter((l) => /^(never-drilled|primary-rpc-outage|regulatory-pressure) /.test(l));
    expect(rows[0]).to.match(/^never-drilled .* never .* OVERDUE \(never drilled\)$/);
    // Failed 5 days ago, every 14 days: due in 9 days, not yet within the last quarter.
    expect(rows[1]).to.match(/^primary-rpc-outage\s+1\s+14d .* failed .* ok, in 9d$/);
    // Passed 80 days ago, every 91 days: due in 11 days, within the last quarter.
    expect(rows[2]).to.match(/^regulatory-pressure\s+2\s+quarterly .* passed .* due, in 11d$/);
    expect(run.output()).to.match(/\ncompliance_tools\s+2\s+\d+\.\d .* regulatory-pressure\s+passed/);
  });

  it("status --json gives the same standings and scores", async () => {
    const run = cli([
      "programme",
      "status",
      join(dir, "programme.yml"),
      "--journals",
      journals,
      "--at",
      AT,
      "--json",
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    const status = JSON.parse(run.output()) as {
      score: number;
      scenarios: { name: string; state: string }[];
      rotation: { person: string };
    };
    expect(status.scenarios.map((s) => [s.name, s.state])).to.deep.equal([
      ["never-drilled", "overdue"],
      ["primary-rpc-outage", "ok"],
      ["regulatory-pressure", "due"],
    ]);
    expect(status.rotation.person).to.equal("bob");
    expect(status.score).to.be.a("number");
  });

  it("checks the journal chain: a journal changed since it was written counts for nothing, exit 1, and next starts nothing", async () => {
    const copy = join(dir, "edited-reports");
    cpSync(journals, copy, { recursive: true });
    // The failed primary-rpc-outage drill of 5 days ago, turned into a pass after the fact.
    const files = readdirSync(copy)
      .filter((f) => f.endsWith(".journal.json"))
      .sort();
    const latest = files.filter((f) => f.includes("primary-rpc-outage")).at(-1)!;
    expect(latest).to.not.equal(undefined);
    const text = readFileSync(join(copy, latest), "utf8");
    writeFileSync(join(copy, latest), text.replace(/"passed": false/g, '"passed": true'));

    const status = cli(["programme", "status", join(dir, "programme.yml"), "--journals", copy, "--at", AT]);
    expect(await status.exit, status.output()).to.equal(1);
    expect(status.output())
      .to.include(latest)
      .and.to.match(/changed after it was written/);
    // The edited drill is left out: primary-rpc-outage's last drill is the pass of 40 days ago.
    expect(status.output()).to.match(/\nprimary-rpc-outage\s+1\s+14d .* passed .* OVERDUE/);

    const next = cli(["programme", "next", join(dir, "programme.yml"), "--journals", copy, "--at", AT]);
    expect(await next.exit, next.output()).to.equal(1);
    expect(next.output()).to.match(/journal chain of .* is broken; nothing started/);
    expect(readdirSync(copy).filter((f) => f.endsWith(".journal.json"))).to.have.length(files.length);
  });

  it("next: says so and starts nothing when nothing is overdue", async () => {
    const file = join(dir, "calm.yml");
    writeFileSync(
      file,
      `version: 1\nscenarios: [pool/regulatory-pressure.yml]\ncadence:\n  tiers: { 2: quarterly }\n`,
    );
    const run = cli(["programme", "next", file, "--journals", journals, "--at", AT]);
    expect(await run.exit, run.output()).to.equal(0);
    expect(run.output()).to.match(/nothing is overdue; next due: regulatory-pressure in 11d/);
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      "an unknown tier",
      "version: 1\nscenarios: [pool]\ncadence:\n  tiers: { 1: monthly, 2: monthly, 7: monthly }\n",
      /programme\.yml:4 cadence\.tiers\["7"\]: unknown tier 7: .* has tiers 1, 2, 3 \(FD204\)/,
    ],
    [
      "an unknown scenario",
      "version: 1\nscenarios: [pool]\ncadence:\n  tiers: { 1: monthly, 2: monthly }\n  scenarios: { primary-rpc-outag: 7d }\n",
      /programme\.yml:5 cadence\.scenarios\["primary-rpc-outag"\]: unknown scenario "primary-rpc-outag" \(did you mean primary-rpc-outage\?\)/,
    ],
    [
      "a cadence that does not parse",
      "version: 1\ncadence:\n  tiers: { 1: fortnightly }\n",
      /programme\.yml:3 cadence\.tiers\["1"\]: "fortnightly" is not a duration: .*; or one of weekly, monthly, quarterly, yearly/,
    ],
    [
      "a tier with no cadence",
      "version: 1\nscenarios: [pool]\ncadence:\n  tiers: { 1: monthly }\n",
      /scenario regulatory-pressure is tier 2, which has no cadence/,
    ],
    [
      "a rotation with a bad date",
      "version: 1\nscenarios: [pool]\ncadence:\n  tiers: { 1: monthly, 2: monthly }\nrotation: { from: next week, every: 7d, people: [a] }\n",
      /programme\.yml:5 rotation\.from: expected a date such as 2026-12-07/,
    ],
    [
      "a missing folder",
      "version: 1\nscenarios: [nowhere]\ncadence:\n  tiers: { 1: monthly }\n",
      /programme\.yml:2 scenarios\[0\]: no such file or folder/,
    ],
  ];
  for (const [i, [what, text, message]] of bad.entries()) {
    it(`refuses ${what}: file, line and field, exit 2`, async () => {
      // Beside the pool, as programme.yml is.
      const file = join(dir, `programme-${i}.yml`);
      writeFileSync(file, text);
      const run = cli(["programme", "status", file, "--journals", journals, "--at", AT]);
      expect(await run.exit, run.output()).to.equal(2);
      expect(run.output().replace(`programme-${i}.yml`, "programme.yml")).to.match(message);
      expect(run.output()).to.not.match(/\n\s+at /);
    });
  }

  it("next: starts the most overdue drill, and its journal joins the others", async () => {
    const lab = join(dir, "lab");
    const up = cli(["lab", "up", "--detach", "--dir", lab]);
    expect(await up.exit, up.output()).to.equal(0);
    try {
      const file = join(dir, "short.yml");
      writeFileSync(
        file,
        `version: 1\nscenarios: [${join(FIXTURES, "short-rpc-outage.yml")}]\ncadence:\n  tiers: { 1: weekly }\n`,
      );
      const run = cli([
        "programme",
        "next",
        file,
        "--journals",
        journals,
        "--lab-dir",
        lab,
        "--start-jitter",
        "0s",
      ]);
      expect(await run.exit, run.output()).to.equal(0);
      expect(run.output()).to.match(/programme next: short-rpc-outage \(tier 1\), OVERDUE \(never drilled\)/);
      expect(run.output()).to.match(/short-rpc-outage \(seed 42\): COMPLETED/);
      const after = cli(["programme", "status", file, "--journals", journals]);
      expect(await after.exit, after.output()).to.equal(0);
      expect(after.output()).to.match(/short-rpc-outage\s+1\s+weekly .* passed\s+ok, in 7d/);
    } finally {
      await cli(["lab", "down", "--dir", lab]).exit;
    }
  });
});
