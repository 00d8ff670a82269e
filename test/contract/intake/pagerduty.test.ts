import { expect } from "chai";
import { type IntakeRequest, MalformedDelivery } from "../../../harness/contract/intake/format.ts";
import { pagerdutyFormat } from "../../../harness/contract/intake/pagerduty.ts";
import { ReplayGuard } from "../../../harness/contract/webhook.ts";

const SECRET = "pd-routing-key-0123456789abcdef";
const NOW = 1_760_000_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Events shaped as PagerDuty's Events API v2 documents them ("Send an Alert Event", its
 * example request payloads for trigger, acknowledge and resolve):
 * https://developer.pagerduty.com/docs/events-API-v2/trigger-events/
 */
function trigger(): Record<string, unknown> {
  return {
    payload: {
      summary: "Collateral ratio below 110% on ethereum",
      timestamp: "2025-10-09T08:42:58.315+0000",
      source: "monitoringtool:vault-watcher:eth-mainnet:cluster/collateral-prod-003",
      severity: "critical",
      component: "vault",
      group: "prod-treasury",
      class: "collateral",
      custom_details: { "collateral ratio": "108.4%", "vault balance": 1_250_000 },
    },
    routing_key: SECRET,
    dedup_key: "collateral-eth-001",
    images: [
      { src: "https://grafana.example/render/collateral.png", href: "https://example.com/", alt: "ratio" },
    ],
    links: [{ href: "https://runbooks.example/collateral", text: "Runbook" }],
    event_action: "trigger",
    client: "Vault Watcher",
    client_url: "https://monitoring.example.com",
  };
}

function followUp(action: "acknowledge" | "resolve"): Record<string, unknown> {
  return { routing_key: SECRET, dedup_key: "collateral-eth-001", event_action: action };
}

function authenticate(rawBody: string) {
  const request: IntakeRequest = { headers: {}, rest: "", rawBody, receivedAt: NOW };
  return pagerdutyFormat.authenticate(request, SECRET, new ReplayGuard());
}

function malformed(body: unknown): string {
  try {
    pagerdutyFormat.parse(body);
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedDelivery);
    return (error as Error).message;
  }
  return expect.fail("parse accepted a malformed event");
}

function without(event: Record<string, unknown>, field: string): Record<string, unknown> {
  const payload = { ...(event["payload"] as Record<string, unknown>) };
  delete payload[field];
  return { ...event, payload };
}

describe("intake format pagerduty", () => {
  it("turns a trigger into a firing alert named by its summary, never labelled with the routing key", () => {
    const alerts = pagerdutyFormat.parse(trigger());
    expect(alerts).to.deep.equal([
      {
        name: "Collateral ratio below 110% on ethereum",
        status: "firing",
        labels: {
          summary: "Collateral ratio below 110% on ethereum",
          source: "monitoringtool:vault-watcher:eth-mainnet:cluster/collateral-prod-003",
          severity: "critical",
          component: "vault",
          group: "prod-treasury",
          class: "collateral",
          dedup_key: "collateral-eth-001",
        },
        firedAt: "2025-10-09T08:42:58.315+0000",
        key: "collateral-eth-001",
      },
    ]);
    expect(JSON.stringify(alerts)).not.to.contain(SECRET);
  });

  it("answers 202 with PagerDuty's body and the event's dedup_key", () => {
    const answer = pagerdutyFormat.answer!(pagerdutyFormat.parse(trigger()));
    expect(answer.status).to.equal(202);
    expect(answer.contentType).to.equal("application/json");
    expect(JSON.parse(answer.body)).to.deep.equal({
      status: "success",
      message: "Event processed",
      dedup_key: "collateral-eth-001",
    });
    expect(pagerdutyFormat.accepted.status).to.equal(202);
    expect(pagerdutyFormat.path).to.equal("/alerts/pagerduty");
  });

  it("draws a dedup_key for a trigger without one, keys the alert by it and answers it", () => {
    const { dedup_key: _d, ...keyless } = trigger();
    const [alert] = pagerdutyFormat.parse(keyless);
    expect(alert!.key).to.match(UUID);
    expect(alert!.labels).not.to.have.property("dedup_key");
    expect(JSON.parse(pagerdutyFormat.answer!([alert!]).body).dedup_key).to.equal(alert!.key);
    expect(pagerdutyFormat.parse(keyless)[0]!.key).not.to.equal(alert!.key);
  });

  it("turns an acknowledge and a resolve into alerts named by their dedup_key", () => {
    const labels = { dedup_key: "collateral-eth-001" };
    expect(pagerdutyFormat.parse(followUp("acknowledge"))).to.deep.equal([
      {
        name: "collateral-eth-001",
        status: "acknowledged",
        labels,
        firedAt: undefined,
        key: "collateral-eth-001",
      },
    ]);
    expect(pagerdutyFormat.parse(followUp("resolve"))).to.deep.equal([
      {
        name: "collateral-eth-001",
        status: "resolved",
        labels,
        firedAt: undefined,
        key: "collateral-eth-001",
      },
    ]);
  });

  it("accepts the run's secret as routing_key", () => {
    expect(authenticate(JSON.stringify(trigger()))).to.deep.equal({ ok: true });
    expect(authenticate(JSON.stringify(followUp("resolve")))).to.deep.equal({ ok: true });
  });

  it("refuses another routing key", () => {
    const wrong = { ok: false, reason: "wrong credentials" };
    expect(authenticate(JSON.stringify({ ...trigger(), routing_key: "samplekeyhere" }))).to.deep.equal(wrong);
    expect(authenticate(JSON.stringify({ ...trigger(), routing_key: `${SECRET} ` }))).to.deep.equal(wrong);
  });

  it("refuses an event without a routing key", () => {
    const missing = { ok: false, reason: "missing credentials" };
    const { routing_key: _k, ...keyless } = trigger();
    expect(authenticate(JSON.stringify(keyless))).to.deep.equal(missing);
    expect(authenticate(JSON.stringify({ ...trigger(), routing_key: " " }))).to.deep.equal(missing);
    expect(authenticate(JSON.stringify({ ...trigger(), routing_key: 42 }))).to.deep.equal(missing);
  });

  it("lets a body that is no event through authentication, for parse to refuse it with 400", () => {
    expect(authenticate("routing_key=x&event_action=trigger")).to.deep.equal({ ok: true });
    expect(authenticate('{"routing_key": ')).to.deep.equal({ ok: true });
    expect(authenticate("[]")).to.deep.equal({ ok: true });
    for (const body of [[], "trigger", null, 7]) expect(malformed(body)).to.match(/expected object/);
  });

  it("refuses a trigger without summary, source or severity, in PagerDuty's words", () => {
    expect(malformed(without(trigger(), "summary"))).to.equal("'payload.summary' is missing or blank");
    expect(malformed(without(trigger(), "source"))).to.equal("'payload.source' is missing or blank");
    expect(malformed(without(trigger(), "severity"))).to.equal("'payload.severity' is missing or blank");
    const { payload: _p, ...bare } = trigger();
    expect(malformed(bare)).to.equal("'payload.summary' is missing or blank");
    const blank = { ...trigger(), payload: { ...(trigger()["payload"] as object), summary: "  " } };
    expect(malformed(blank)).to.equal("'payload.summary' is missing or blank");
  });

  it("refuses an unknown severity or event action, and a follow-up without its dedup_key", () => {
    const loud = { ...trigger(), payload: { ...(trigger()["payload"] as object), severity: "high" } };
    expect(malformed(loud)).to.equal("'payload.severity' must be one of critical, error, warning, info");
    expect(malformed({ ...trigger(), event_action: "escalate" })).to.match(/^event_action: /);
    const { dedup_key: _d, ...keyless } = followUp("resolve");
    expect(malformed(keyless)).to.equal("'dedup_key' is missing or blank");
  });
});
