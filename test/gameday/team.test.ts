import { join } from "node:path";
import { expect } from "chai";
import { loadTeam, PAGERDUTY_EVENTS_URL, parseTeam } from "../../harness/gameday/team.ts";
import type { Team } from "../../harness/gameday/types.ts";
import { ROOT } from "../../harness/paths.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "gameday");
const SCENARIO = join(ROOT, "test", "fixtures", "scenarios", "short-oracle-outage.yml");

/** The secrets the fixtures name, as the environment would hold them. */
const SECRETS = {
  GAMEDAY_TEST_SLACK_URL: "https://hooks.slack.com/services/T0001/B0001/slack-url-secret-4f1c",
  GAMEDAY_TEST_ROUTING_KEY: "routing-key-secret-9b2e7d31",
  GAMEDAY_TEST_HOOK_ID: "hook-id-secret-c0ffee",
  GAMEDAY_TEST_WEBHOOK_SECRET: "webhook-secret-5a6b7c8d9e0f",
  GAMEDAY_TEST_SLACK_TOKEN: "slack-token-secret-77aa88bb",
  GAMEDAY_TEST_CHANNEL: "channel-secret-3e3e3e",
} as const;

/** The environment of a run: the secrets set, NOT_SET_VAR certainly not. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...SECRETS, ...extra };
  delete env["NOT_SET_VAR"];
  return env;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("gameday team.yml", () => {
  after(stopChildren);

  it("reads every kind of page, with its variables from the environment; communications default to the communications responders' pages", () => {
    const file = join(FIXTURES, "team-every-channel.yml");
    const team = loadTeam(file, envWith());
    const pagerduty = { kind: "pagerduty", routingKey: SECRETS.GAMEDAY_TEST_ROUTING_KEY } as const;
    const expected: Team = {
      file,
      responders: [
        { name: "Ada", role: "on_call", page: { kind: "slack", url: SECRETS.GAMEDAY_TEST_SLACK_URL } },
        { name: "Grace", role: "incident_lead", page: { ...pagerduty, url: PAGERDUTY_EVENTS_URL } },
        {
          name: "Lin",
          role: "communications",
          page: { ...pagerduty, url: "http://127.0.0.1:9/v2/enqueue" },
        },
        {
          name: "Mo",
          role: "communications",
          page: {
            kind: "webhook",
            url: `https://hooks.example.com/firedrill/${SECRETS.GAMEDAY_TEST_HOOK_ID}`,
            secret: SECRETS.GAMEDAY_TEST_WEBHOOK_SECRET,
          },
        },
        { name: "Kim", role: "on_call", page: { kind: "console" } },
        { name: "Ola", role: "communications", page: { kind: "console" } },
      ],
      communications: [
        { ...pagerduty, url: "http://127.0.0.1:9/v2/enqueue" },
        {
          kind: "webhook",
          url: `https://hooks.example.com/firedrill/${SECRETS.GAMEDAY_TEST_HOOK_ID}`,
          secret: SECRETS.GAMEDAY_TEST_WEBHOOK_SECRET,
        },
        { kind: "console" },
      ],
    };
    expect(team).to.deep.equal(expected);
    expect(PAGERDUTY_EVENTS_URL).to.equal("https://events.pagerduty.com/v2/enqueue");
  });

  it("sends the incident alert where an explicit communications list says, not to the responders' pages", () => {
    const team = loadTeam(join(FIXTURES, "team-communications.yml"), envWith());
    expect(team.responders[1]).to.deep.equal({
      name: "Lin",
      role: "communications",
      page: { kind: "slack", url: SECRETS.GAMEDAY_TEST_SLACK_URL },
    });
    expect(team.communications).to.deep.equal([
      { kind: "slack", url: `https://hooks.slack.com/services/${SECRETS.GAMEDAY_TEST_CHANNEL}` },
      { kind: "console" },
    ]);
    const none = parseTeam(
      "t.yml",
      "version: 1\nresponders:\n  - {name: Lin, role: communications, page: console}\ncommunications: []\n",
      {},
    );
    expect(none.communications).to.deep.equal([]);
  });

  it("takes a variable set to the empty string as not set", () => {
    const text =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: team.yml's own ${NAME}, not a template
      "version: 1\nresponders:\n  - name: Ada\n    role: on_call\n    page: {slack: '${EMPTY_VAR}'}\n";
    expect(() => parseTeam("t.yml", text, { EMPTY_VAR: "" })).to.throw(
      /^t\.yml:5 responders\[0\]\.page\.slack: \$\{EMPTY_VAR\} is not set in the environment$/,
    );
  });

  // Each file is run through the real CLI, which checks its inputs before it starts anything.
  const bad: Array<[string, string, number, string, RegExp, Record<string, string>?]> = [
    [
      "an unknown role, listing the roles",
      "unknown-role.yml",
      8,
      "responders[1].role",
      /expected one of incident_lead, communications, on_call, got "commander"/,
    ],
    [
      "a page naming two channels",
      "two-channels.yml",
      6,
      "responders[0].page",
      /name exactly one of slack, pagerduty, webhook, console/,
    ],
    [
      "a variable that is not set, naming it",
      "unset-variable.yml",
      7,
      "responders[0].page.slack",
      /\$\{NOT_SET_VAR\} is not set in the environment/,
    ],
    [
      "plain http to a host that is not loopback",
      "plain-http.yml",
      7,
      "responders[0].page.slack",
      /plain http to hooks\.example\.com: use https/,
    ],
    [
      "the same name twice, in another case",
      "duplicate-names.yml",
      10,
      "responders[2].name",
      /"ADA" is already responder 0/,
    ],
    ["no responders", "no-responders.yml", 3, "responders", /needs at least 1 item/],
    ["an unknown key", "unknown-key.yml", 6, "responders[0].phone", /unknown key "phone"/],
    [
      "a webhook secret shorter than 16 characters",
      "short-webhook-secret.yml",
      9,
      "responders[0].page.webhook.secret",
      /must be at least 16 characters/,
      { GAMEDAY_TEST_WEBHOOK_SECRET: "short-secret" },
    ],
  ];

  for (const [what, name, line, field, message, extra] of bad) {
    it(`refuses ${what}: exit 2, one line at ${name}:${line} ${field}, nothing started`, async () => {
      const file = join(FIXTURES, "bad", name);
      const run = cli(["gameday", "--team", file, SCENARIO], envWith(extra));
      expect(await run.exit, run.output()).to.equal(2);
      const output = run.output();
      const lines = output.trimEnd().split("\n");
      expect(lines, output).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^firedrill: ${literal(`${file}:${line} ${field}: `)}`));
      expect(lines[0]).to.match(message);
      expect(lines[0]).to.match(/ \(FD2\d\d\)$/);
      expect(output).not.to.match(/^\s+at /m);
      expect(output).not.to.match(/lab:/);
      expect(output).not.to.include("firedrill gameday: seed");
      for (const secret of [...Object.values(SECRETS), ...Object.values(extra ?? {})])
        expect(output).not.to.include(secret);
    });
  }

  it("firedrill validate knows a team file: a line for a good one, the same file:line error and exit 2 for a bad one", async () => {
    const good = cli(["validate", join(FIXTURES, "team.yml")]);
    expect(await good.exit, good.output()).to.equal(0);
    expect(good.output()).to.match(
      /^ok .*team\.yml: GameDay team, 3 responders \(Ada: console, Grace: console, Lin: console\)$/m,
    );
    const file = join(FIXTURES, "bad", "unknown-role.yml");
    const bad = cli(["validate", file]);
    expect(await bad.exit, bad.output()).to.equal(2);
    expect(bad.output().trimEnd()).to.match(new RegExp(`^${literal(`${file}:8 responders[1].role: `)}`));
  });

  it("never repeats a secret of the environment when the file fails on another line", async () => {
    const file = join(FIXTURES, "bad", "secret-elsewhere.yml");
    const run = cli(["gameday", "--team", file, SCENARIO], envWith());
    expect(await run.exit, run.output()).to.equal(2);
    const output = run.output();
    expect(output.trimEnd()).to.match(
      new RegExp(`^firedrill: ${literal(`${file}:16 responders[2].role: `)}.*got "comms" \\(FD201\\)$`),
    );
    for (const secret of Object.values(SECRETS)) expect(output).not.to.include(secret);
  });
});
