import { expect } from "chai";
import { alertmanagerFormat } from "../../../harness/contract/intake/alertmanager.ts";
import { type IntakeRequest, MalformedDelivery } from "../../../harness/contract/intake/format.ts";
import { ReplayGuard } from "../../../harness/contract/webhook.ts";

const SECRET = "am-test-secret-0123456789";
const NOW = 1_760_000_000_000;

/**
 * A delivery shaped as Alertmanager's webhook_config documents it (payload version "4"):
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config, the fields of
 * notify/webhook/webhook.go's Message in github.com/prometheus/alertmanager.
 */
function delivery(): Record<string, unknown> {
  return {
    receiver: "firedrill",
    status: "firing",
    alerts: [
      {
        status: "firing",
        labels: { alertname: "OracleStale", chain: "arbitrum", severity: "critical" },
        annotations: { summary: "Chainlink price older than 3 heartbeats" },
        startsAt: "2025-10-09T08:52:26.739266876+02:00",
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.example:9090/graph?g0.expr=oracle_age_seconds+%3E+3600&g0.tab=1",
        fingerprint: "1a30ba71cca2921f",
      },
      {
        status: "resolved",
        labels: { alertname: "GasSpike", chain: "base", severity: "warning" },
        annotations: {},
        startsAt: "2025-10-09T06:40:00Z",
        endsAt: "2025-10-09T06:55:00Z",
        generatorURL: "http://prometheus.example:9090/graph?g0.expr=base_fee_gwei+%3E+50&g0.tab=1",
        fingerprint: "bc97ff14869b13e3",
      },
    ],
    groupLabels: { alertname: "OracleStale" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.example:9093",
    version: "4",
    groupKey: '{}:{alertname="OracleStale"}',
    truncatedAlerts: 0,
  };
}

function request(authorization?: string): IntakeRequest {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return { headers, rest: "", rawBody: JSON.stringify(delivery()), receivedAt: NOW };
}

function authenticate(authorization?: string) {
  return alertmanagerFormat.authenticate(request(authorization), SECRET, new ReplayGuard());
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function malformed(body: unknown): string {
  try {
    alertmanagerFormat.parse(body);
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedDelivery);
    return (error as Error).message;
  }
  return expect.fail("parse accepted a malformed delivery");
}

describe("intake format alertmanager", () => {
  it("turns each alert of the group into a sender alert, with its own status", () => {
    expect(alertmanagerFormat.parse(delivery())).to.deep.equal([
      {
        name: "OracleStale",
        status: "firing",
        labels: { alertname: "OracleStale", chain: "arbitrum", severity: "critical" },
        firedAt: "2025-10-09T08:52:26.739266876+02:00",
        key: "1a30ba71cca2921f",
      },
      {
        name: "GasSpike",
        status: "resolved",
        labels: { alertname: "GasSpike", chain: "base", severity: "warning" },
        firedAt: "2025-10-09T06:40:00Z",
        key: "bc97ff14869b13e3",
      },
    ]);
  });

  it("keys an alert without a fingerprint by the group key and its labels in name order", () => {
    const body = delivery();
    const alerts = body["alerts"] as Record<string, unknown>[];
    delete alerts[0]!["fingerprint"];
    alerts[0]!["labels"] = { severity: "critical", alertname: "OracleStale" };
    expect(alertmanagerFormat.parse(body)[0]!.key).to.equal(
      '{}:{alertname="OracleStale"} {"alertname":"OracleStale","severity":"critical"}',
    );
  });

  it("reads a group without the optional fields older Alertmanagers leave out", () => {
    const { truncatedAlerts: _t, externalURL: _e, groupLabels: _g, ...bare } = delivery();
    expect(alertmanagerFormat.parse(bare)).to.have.length(2);
  });

  it("accepts the secret as Bearer credentials or as the Basic password of any user", () => {
    expect(authenticate(`Bearer ${SECRET}`)).to.deep.equal({ ok: true });
    expect(authenticate(`bearer ${SECRET}`)).to.deep.equal({ ok: true });
    expect(authenticate(basic("alertmanager", SECRET))).to.deep.equal({ ok: true });
    expect(authenticate(basic("", SECRET))).to.deep.equal({ ok: true });
  });

  it("refuses wrong credentials", () => {
    const wrong = { ok: false, reason: "wrong credentials" };
    expect(authenticate("Bearer not-the-secret")).to.deep.equal(wrong);
    expect(authenticate(`Bearer ${SECRET}x`)).to.deep.equal(wrong);
    expect(authenticate(basic("alertmanager", "not-the-secret"))).to.deep.equal(wrong);
    expect(authenticate(basic(SECRET, "password"))).to.deep.equal(wrong);
    expect(authenticate(`Basic ${Buffer.from(SECRET).toString("base64")}`)).to.deep.equal(wrong);
    expect(authenticate(`Token ${SECRET}`)).to.deep.equal(wrong);
  });

  it("refuses a delivery without credentials", () => {
    const missing = { ok: false, reason: "missing credentials" };
    expect(authenticate()).to.deep.equal(missing);
    expect(authenticate("")).to.deep.equal(missing);
    expect(authenticate("Bearer ")).to.deep.equal(missing);
    expect(authenticate(SECRET)).to.deep.equal(missing);
  });

  it("refuses another payload version, naming it", () => {
    expect(malformed({ ...delivery(), version: "3" })).to.equal(
      'payload version "3": only Alertmanager\'s version "4" is read',
    );
    expect(malformed({ ...delivery(), version: 4 })).to.match(/payload version 4:/);
    const { version: _v, ...unversioned } = delivery();
    expect(malformed(unversioned)).to.match(/^no payload version/);
  });

  it("refuses a body that is not an object", () => {
    for (const body of [[], "ok", 4, null, true]) {
      expect(malformed(body)).to.match(/expected object/);
    }
  });

  it("refuses a group or an alert without its required fields", () => {
    const { alerts: _a, ...noAlerts } = delivery();
    expect(malformed(noAlerts)).to.match(/^alerts: /);
    const { groupKey: _k, ...noKey } = delivery();
    expect(malformed(noKey)).to.match(/^groupKey: /);
    const body = delivery();
    const alerts = body["alerts"] as Record<string, unknown>[];
    alerts[1]!["labels"] = { chain: "base" };
    expect(malformed(body)).to.equal("alerts.1.labels: no alertname label");
    alerts[1]!["labels"] = { alertname: "GasSpike" };
    alerts[1]!["startsAt"] = "yesterday";
    expect(malformed(body)).to.match(/^alerts\.1\.startsAt: /);
    alerts[1]!["startsAt"] = "2025-10-09T06:40:00Z";
    alerts[1]!["status"] = "pending";
    expect(malformed(body)).to.match(/^alerts\.1\.status: /);
  });

  it("answers 200 ok as text", () => {
    expect(alertmanagerFormat.path).to.equal("/alerts/alertmanager");
    expect(alertmanagerFormat.accepted).to.deep.equal({ status: 200, contentType: "text/plain", body: "ok" });
  });
});
