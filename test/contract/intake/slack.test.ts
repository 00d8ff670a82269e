import { expect } from "chai";
import { type IntakeRequest, MalformedDelivery } from "../../../harness/contract/intake/format.ts";
import { slackFormat } from "../../../harness/contract/intake/slack.ts";
import { ReplayGuard } from "../../../harness/contract/webhook.ts";

const SECRET = "slack-token-0123456789abcdef";
const NOW = 1_760_000_000_000;

/**
 * What Alertmanager's slack_config posts to an incoming webhook: one attachment whose title
 * is the default `[FIRING:n] ...` / `[RESOLVED] ...` subject (template/default.tmpl) and
 * whose fields are notify/slack/types.go's request and attachment, in
 * github.com/prometheus/alertmanager;
 * https://prometheus.io/docs/alerting/latest/configuration/#slack_config
 */
function alertmanagerMessage(status: "FIRING:2" | "RESOLVED", color: string): Record<string, unknown> {
  return {
    channel: "#treasury-alerts",
    username: "Alertmanager",
    attachments: [
      {
        title: `[${status}] OracleStale (arbitrum critical)`,
        title_link: "http://alertmanager.example:9093/#/alerts?receiver=slack",
        text: "",
        fallback: `[${status}] OracleStale (arbitrum critical) | http://alertmanager.example:9093/#/alerts?receiver=slack`,
        callback_id: "",
        footer: "",
        color,
        mrkdwn_in: ["fallback", "pretext", "text"],
      },
    ],
  };
}

/**
 * Messages as Slack's incoming webhook docs show them: a plain `text`, and `blocks` with a
 * header and a section:
 * https://api.slack.com/messaging/webhooks
 */
const PLAIN = { text: "Redemption backlog above 500\nqueue: usdx-redemptions" };
const BLOCKS = {
  blocks: [
    { type: "divider" },
    { type: "header", text: { type: "plain_text", text: "Chain halted: base", emoji: true } },
    { type: "section", text: { type: "mrkdwn", text: "No block for *120s* on base." } },
  ],
};

function authenticate(rest: string) {
  const request: IntakeRequest = { headers: {}, rest, rawBody: JSON.stringify(PLAIN), receivedAt: NOW };
  return slackFormat.authenticate(request, SECRET, new ReplayGuard());
}

function malformed(body: unknown): string {
  try {
    slackFormat.parse(body);
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedDelivery);
    return (error as Error).message;
  }
  return expect.fail("parse accepted a malformed message");
}

describe("intake format slack", () => {
  it("reads Alertmanager's firing attachment by its title, named without the status", () => {
    const title = "[FIRING:2] OracleStale (arbitrum critical)";
    expect(slackFormat.parse(alertmanagerMessage("FIRING:2", "danger"))).to.deep.equal([
      {
        name: "OracleStale (arbitrum critical)",
        status: "firing",
        labels: { text: title, title, color: "danger" },
      },
    ]);
  });

  it("reads Alertmanager's [RESOLVED] title as the resolution of the same alert", () => {
    const title = "[RESOLVED] OracleStale (arbitrum critical)";
    expect(slackFormat.parse(alertmanagerMessage("RESOLVED", "good"))).to.deep.equal([
      {
        name: "OracleStale (arbitrum critical)",
        status: "resolved",
        labels: { text: title, title, color: "good" },
      },
    ]);
    // A title that is nothing but the status keeps it as its name.
    expect(slackFormat.parse({ text: "[FIRING:1]" })[0]!.name).to.equal("[FIRING:1]");
  });

  it("names a plain message by its first line and keeps all of its text", () => {
    expect(slackFormat.parse(PLAIN)).to.deep.equal([
      { name: "Redemption backlog above 500", status: "firing", labels: { text: PLAIN.text } },
    ]);
    expect(slackFormat.parse({ ...PLAIN, ...alertmanagerMessage("RESOLVED", "good") })[0]!.name).to.equal(
      "Redemption backlog above 500",
    );
  });

  it("falls back to the attachment's fallback, then its text, then the first header or section block", () => {
    const attachment = { fallback: "  ", text: "[RESOLVED] GasSpike\nbase fee back under 50 gwei" };
    expect(slackFormat.parse({ attachments: [attachment] })[0]).to.deep.include({
      name: "GasSpike",
      status: "resolved",
    });
    expect(slackFormat.parse(BLOCKS)).to.deep.equal([
      { name: "Chain halted: base", status: "firing", labels: { text: "Chain halted: base" } },
    ]);
    expect(slackFormat.parse({ blocks: BLOCKS.blocks.slice(2) })[0]!.name).to.equal(
      "No block for *120s* on base.",
    );
  });

  it("accepts the secret as the path token, alone or at the end of a Slack-shaped path", () => {
    expect(authenticate(`/${SECRET}`)).to.deep.equal({ ok: true });
    expect(authenticate(`/services/T00000000/B00000000/${SECRET}`)).to.deep.equal({ ok: true });
    expect(authenticate(`/${encodeURIComponent(SECRET)}`)).to.deep.equal({ ok: true });
  });

  it("refuses a wrong token", () => {
    const wrong = { ok: false, reason: "wrong credentials" };
    expect(authenticate("/XXXXXXXXXXXXXXXXXXXXXXXX")).to.deep.equal(wrong);
    expect(authenticate("/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")).to.deep.equal(wrong);
    expect(authenticate(`/services/T00000000/${SECRET}`)).to.deep.equal(wrong);
    expect(authenticate(`/${SECRET}/`)).to.deep.equal(wrong);
    expect(authenticate(`/services/T00000000/B00000000/${SECRET}/extra`)).to.deep.equal(wrong);
    expect(authenticate("/%E0%A4%A")).to.deep.equal(wrong);
  });

  it("refuses a delivery without a token", () => {
    const missing = { ok: false, reason: "missing credentials" };
    expect(authenticate("")).to.deep.equal(missing);
    expect(authenticate("/")).to.deep.equal(missing);
  });

  it("refuses a message with no text to read as no_text", () => {
    expect(malformed({})).to.equal("no_text");
    expect(malformed({ text: "", attachments: [{ title: "", fallback: "", text: "" }] })).to.equal("no_text");
    expect(malformed({ blocks: [{ type: "divider" }, { type: "section", fields: [] }] })).to.equal("no_text");
  });

  it("refuses a body that is not an object, or fields of the wrong type", () => {
    for (const body of [[], "hello", null]) expect(malformed(body)).to.match(/expected object/);
    expect(malformed({ text: 42 })).to.match(/^text: /);
    expect(malformed({ attachments: { title: "x" } })).to.match(/^attachments: /);
  });

  it("answers 200 ok as text/html, as Slack does", () => {
    expect(slackFormat.path).to.equal("/alerts/slack");
    expect(slackFormat.accepted).to.deep.equal({ status: 200, contentType: "text/html", body: "ok" });
  });
});
