import { createHmac } from "node:crypto";
import { expect } from "chai";
import { type IntakeRequest, MalformedDelivery } from "../../../harness/contract/intake/format.ts";
import { grafanaFormat, signGrafana } from "../../../harness/contract/intake/grafana.ts";
import { ReplayGuard } from "../../../harness/contract/webhook.ts";

const SECRET = "grafana-test-secret-42";
const NOW = 1_760_000_000_000;
const NOW_S = NOW / 1000;

/**
 * A delivery shaped as Grafana documents its webhook contact point (payload version "1"):
 * https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
 * (its example JSON body), with receivers/webhook/v1/webhook.go's webhookMessage in
 * github.com/grafana/alerting.
 */
function delivery(): Record<string, unknown> {
  return {
    receiver: "firedrill webhook",
    status: "firing",
    orgId: 1,
    alerts: [
      {
        status: "firing",
        labels: { alertname: "Collateral ratio low", team: "treasury", chain: "ethereum" },
        annotations: {
          description: "Collateral ratio under 110%",
          runbook_url: "https://runbooks.example/collateral",
          summary: "This alert was triggered for chain ethereum",
        },
        startsAt: "2025-10-09T09:51:03.157076+02:00",
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "https://grafana.example/alerting/1afz29v7z/edit",
        fingerprint: "c6eadffa33fcdf37",
        silenceURL:
          "https://grafana.example/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2",
        dashboardURL: "",
        panelURL: "",
        values: { B: 104.2, C: 1 },
        valueString: "[ var='B' labels={chain=ethereum} value=104.2 ]",
      },
      {
        status: "resolved",
        labels: { alertname: "RPC failover", team: "infra", chain: "base" },
        annotations: {},
        startsAt: "2025-10-09T09:40:03+02:00",
        endsAt: "2025-10-09T09:56:03+02:00",
        generatorURL: "https://grafana.example/alerting/d1rdpdv7k/edit",
        fingerprint: "bc97ff14869b13e3",
        silenceURL:
          "https://grafana.example/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1",
        dashboardURL: "",
        panelURL: "",
        imageURL: "https://grafana.example/public/img/attachments/abc.png",
        values: null,
      },
    ],
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "https://grafana.example/",
    version: "1",
    groupKey: "{}:{}",
    truncatedAlerts: 0,
    title: "[FIRING:1]  (treasury ethereum)",
    state: "alerting",
    message: "**Firing**\n\nLabels:\n - alertname = Collateral ratio low\n",
  };
}

const BODY = JSON.stringify(delivery());

function request(headers: Record<string, string>, rawBody = BODY, receivedAt = NOW): IntakeRequest {
  return { headers, rest: "", rawBody, receivedAt };
}

/** Headers as Grafana's HMAC option sets them, computed here as its docs describe: HMAC(timestamp + ":" + body). */
function signed(seconds: number, rawBody = BODY, secret = SECRET): Record<string, string> {
  const signature = createHmac("sha256", secret).update(`${seconds}:${rawBody}`).digest("hex");
  return { "x-grafana-alerting-signature": signature, "x-grafana-alerting-timestamp": String(seconds) };
}

function authenticate(headers: Record<string, string>, guard = new ReplayGuard()) {
  return grafanaFormat.authenticate(request(headers), SECRET, guard);
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function malformed(body: unknown): string {
  try {
    grafanaFormat.parse(body);
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedDelivery);
    return (error as Error).message;
  }
  return expect.fail("parse accepted a malformed delivery");
}

describe("intake format grafana", () => {
  it("turns each alert of the group into a sender alert, with its own status", () => {
    expect(grafanaFormat.parse(delivery())).to.deep.equal([
      {
        name: "Collateral ratio low",
        status: "firing",
        labels: { alertname: "Collateral ratio low", team: "treasury", chain: "ethereum" },
        firedAt: "2025-10-09T09:51:03.157076+02:00",
        key: "c6eadffa33fcdf37",
      },
      {
        name: "RPC failover",
        status: "resolved",
        labels: { alertname: "RPC failover", team: "infra", chain: "base" },
        firedAt: "2025-10-09T09:40:03+02:00",
        key: "bc97ff14869b13e3",
      },
    ]);
  });

  it("accepts Basic Authentication with the secret as password, for any user", () => {
    expect(authenticate({ authorization: basic("grafana", SECRET) })).to.deep.equal({ ok: true });
    expect(authenticate({ authorization: basic("", SECRET) })).to.deep.equal({ ok: true });
  });

  it("accepts the Authorization header with any scheme and the secret as credentials", () => {
    expect(authenticate({ authorization: `Bearer ${SECRET}` })).to.deep.equal({ ok: true });
    expect(authenticate({ authorization: `Token ${SECRET}` })).to.deep.equal({ ok: true });
    expect(authenticate({ authorization: `basic ${SECRET}` })).to.deep.equal({ ok: true });
  });

  it("signs as Grafana's HMAC option does: hex HMAC-SHA256 of `<seconds>:<body>`", () => {
    // Computed apart from this code base (Python's hmac module) for this secret and body.
    expect(signGrafana(SECRET, '{"a":1}', 1_760_000_000)).to.equal(
      "3f4eff2fefe7ff30c7e93e2897ba1ecbb8a8224c78e185dc8ea463deea7e8584",
    );
    expect(signGrafana(SECRET, BODY, NOW_S)).to.equal(signed(NOW_S)["x-grafana-alerting-signature"]);
  });

  it("accepts a signature over the exact body with a recent timestamp, in either timestamp header", () => {
    expect(authenticate(signed(NOW_S - 30))).to.deep.equal({ ok: true });
    const { "x-grafana-alerting-timestamp": seconds, ...rest } = signed(NOW_S + 30);
    expect(authenticate({ ...rest, "x-grafana-alerting-signature-timestamp": seconds! })).to.deep.equal({
      ok: true,
    });
    expect(authenticate({ ...signed(NOW_S), authorization: `Bearer ${SECRET}` })).to.deep.equal({ ok: true });
  });

  it("refuses a signature made with another key or over another body", () => {
    const mismatch = { ok: false, reason: "signature mismatch" };
    expect(authenticate(signed(NOW_S, BODY, "another-secret"))).to.deep.equal(mismatch);
    expect(authenticate(signed(NOW_S, BODY.replace("firing", "resolved")))).to.deep.equal(mismatch);
    expect(authenticate(signed(NOW_S, `${BODY}\n`))).to.deep.equal(mismatch);
    const headers = signed(NOW_S);
    headers["x-grafana-alerting-timestamp"] = String(NOW_S - 1);
    expect(authenticate(headers)).to.deep.equal(mismatch);
  });

  it("refuses a signature without a timestamp, with a malformed one, or one older than 5 minutes", () => {
    const { "x-grafana-alerting-timestamp": _t, ...untimed } = signed(NOW_S);
    expect(authenticate(untimed)).to.deep.equal({ ok: false, reason: "missing timestamp header" });
    expect(authenticate({ ...untimed, "x-grafana-alerting-timestamp": "soon" })).to.deep.equal({
      ok: false,
      reason: "malformed timestamp",
    });
    const outside = { ok: false, reason: "timestamp outside the 5 minute tolerance" };
    expect(authenticate(signed(NOW_S - 301))).to.deep.equal(outside);
    expect(authenticate(signed(NOW_S + 301))).to.deep.equal(outside);
    expect(authenticate(signed(NOW_S - 300))).to.deep.equal({ ok: true });
  });

  it("refuses a replayed signature, and only for the receiver that accepted it", () => {
    const guard = new ReplayGuard();
    expect(authenticate(signed(NOW_S), guard)).to.deep.equal({ ok: true });
    expect(authenticate(signed(NOW_S), guard)).to.deep.equal({ ok: false, reason: "replayed delivery" });
    expect(authenticate(signed(NOW_S), new ReplayGuard())).to.deep.equal({ ok: true });
  });

  it("refuses wrong credentials, even beside a good signature", () => {
    const wrong = { ok: false, reason: "wrong credentials" };
    expect(authenticate({ authorization: "Bearer not-the-secret" })).to.deep.equal(wrong);
    expect(authenticate({ authorization: basic("grafana", "not-the-secret") })).to.deep.equal(wrong);
    expect(authenticate({ ...signed(NOW_S), authorization: "Bearer not-the-secret" })).to.deep.equal(wrong);
    expect(authenticate({ authorization: `Bearer ${SECRET}`, ...signed(NOW_S, BODY, "x") })).to.deep.equal({
      ok: false,
      reason: "signature mismatch",
    });
  });

  it("refuses a delivery without credentials", () => {
    const missing = { ok: false, reason: "missing credentials" };
    expect(authenticate({})).to.deep.equal(missing);
    expect(authenticate({ authorization: "Bearer" })).to.deep.equal(missing);
    expect(authenticate({ "x-grafana-alerting-signature": "" })).to.deep.equal(missing);
  });

  it("refuses another payload version, naming it", () => {
    expect(malformed({ ...delivery(), version: "4" })).to.equal(
      'payload version "4": only Grafana\'s version "1" is read',
    );
    const { version: _v, ...unversioned } = delivery();
    expect(malformed(unversioned)).to.match(/^no payload version/);
  });

  it("refuses a body that is not an object, or a group or alert without its required fields", () => {
    for (const body of [[], "ok", null]) expect(malformed(body)).to.match(/expected object/);
    const { receiver: _r, ...noReceiver } = delivery();
    expect(malformed(noReceiver)).to.match(/^receiver: /);
    const body = delivery();
    const alerts = body["alerts"] as Record<string, unknown>[];
    alerts[0]!["values"] = { B: "104.2" };
    expect(malformed(body)).to.match(/^alerts\.0\.values\.B: /);
    alerts[0]!["values"] = {};
    alerts[0]!["labels"] = { team: "treasury" };
    expect(malformed(body)).to.equal("alerts.0.labels: no alertname label");
  });

  it("answers 200 ok as text", () => {
    expect(grafanaFormat.path).to.equal("/alerts/grafana");
    expect(grafanaFormat.accepted).to.deep.equal({ status: 200, contentType: "text/plain", body: "ok" });
  });
});
