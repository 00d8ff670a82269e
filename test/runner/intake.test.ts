import { expect } from "chai";
import { INTAKE_FORMATS } from "../../harness/contract/intake/index.ts";
import { parseAlertMap } from "../../harness/runner/alert-map.ts";
import {
  type Alert,
  type AlertSink,
  startAlertSink,
  type Unmapped,
} from "../../harness/runner/alert-sink.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";
import {
  alertmanagerBody,
  amAlert as documentedAlert,
  grafanaBody,
  ozMonitorSignature,
} from "../../harness/testing/senders.ts";

// Deliveries shaped as each sender documents them, posted over HTTP to a real receiver.
const SECRET = "intake-secret-0123456789abcdef";
const MAPPING = `version: 1
rules:
  - match: { alertname: EthereumRpcDown }
    event: RPC_FAILOVER
    system: rpc_providers
    chain: ethereum
  - match: { alertname: OracleStale }
    event: ORACLE_STALE
    system: price_oracles
    chain_label: chain
  - from: pagerduty
    match: { summary: /collateral ratio/ }
    event: CRITICAL_COLLATERAL_LOW
    system: collateral_management
  - from: slack
    match: { text: /gas/i }
    event: GAS_SPIKE
    system: chains
  - from: oz-monitor
    match: { title: /paused/ }
    event: EMERGENCY_PAUSE
    system: collateral_management
`;

/** An Alertmanager alert as the tests below use it. */
const amAlert = (
  alertname: string,
  status: "firing" | "resolved",
  startsAt: string,
  extra: Record<string, string> = {},
) =>
  documentedAlert({ name: alertname, status, startsAt, labels: extra, summary: `${alertname} on ethereum` });

const alertmanager = alertmanagerBody;

describe("alert intake, end to end over HTTP", () => {
  let sink: AlertSink;
  let received: Alert[] = [];
  let ignored: Unmapped[] = [];
  const map = parseAlertMap("alerts.yml", MAPPING, loadSystemsMap(SHIPPED_MAP));

  beforeEach(async () => {
    received = [];
    ignored = [];
    sink = await startAlertSink(SECRET, {
      onAlert: (a) => received.push(a),
      onUnmapped: (u) => ignored.push(u),
      alertMap: map,
      formats: INTAKE_FORMATS,
    });
  });
  afterEach(() => sink.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${sink.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  it("Alertmanager: counts a mapped alert of a group, records the unmapped one, with both clocks", async () => {
    const startsAt = new Date(Date.now() - 4000).toISOString();
    const body = alertmanager("firing", [
      amAlert("EthereumRpcDown", "firing", startsAt),
      amAlert("DiskFull", "firing", startsAt),
    ]);
    const answer = await post("/alertmanager", body, { authorization: `Bearer ${SECRET}` });
    expect(answer.status).to.be.within(200, 299);
    expect(received).to.have.length(1);
    expect(received[0]).to.include({
      event: "RPC_FAILOVER",
      system: "rpc_providers",
      chain: "ethereum",
      severity: "critical",
      at: startsAt,
    });
    expect(received[0]!.sender).to.deep.include({
      format: "alertmanager",
      name: "EthereumRpcDown",
      firedAt: startsAt,
    });
    expect(received[0]!.receivedAt - Date.parse(startsAt)).to.be.at.least(4000);
    expect(ignored.map((u) => [u.name, u.reason])).to.deep.equal([
      ["DiskFull", 'no rule of alerts.yml matches "DiskFull"'],
    ]);
  });

  it("Alertmanager: a resolved alert counts as RECOVERED only after it fired in the run", async () => {
    const startsAt = new Date().toISOString();
    const basic = `Basic ${Buffer.from(`alertmanager:${SECRET}`).toString("base64")}`;
    await post(
      "/alertmanager",
      alertmanager("resolved", [amAlert("OracleStale", "resolved", startsAt, { chain: "polygon" })]),
      { authorization: basic },
    );
    expect(received).to.have.length(0);
    expect(ignored[0]!.reason).to.equal('"OracleStale" resolved without having fired in this run');
    await post(
      "/alertmanager",
      alertmanager("firing", [amAlert("OracleStale", "firing", startsAt, { chain: "polygon" })]),
      { authorization: basic },
    );
    await post(
      "/alertmanager",
      alertmanager("resolved", [amAlert("OracleStale", "resolved", startsAt, { chain: "polygon" })]),
      { authorization: basic },
    );
    expect(received.map((a) => [a.event, a.chain])).to.deep.equal([
      ["ORACLE_STALE", "polygon"],
      ["RECOVERED", "polygon"],
    ]);
  });

  it("refuses wrong or missing credentials (401), malformed bodies (400) and huge ones (413), recording nothing", async () => {
    const body = alertmanager("firing", [amAlert("EthereumRpcDown", "firing", new Date().toISOString())]);
    expect((await post("/alertmanager", body, { authorization: "Bearer not-the-secret" })).status).to.equal(
      401,
    );
    expect((await post("/alertmanager", body)).status).to.equal(401);
    expect((await post("/alertmanager", "{not json", { authorization: `Bearer ${SECRET}` })).status).to.equal(
      400,
    );
    const wrongVersion = body.replace('"version":"4"', '"version":"3"');
    expect(
      (await post("/alertmanager", wrongVersion, { authorization: `Bearer ${SECRET}` })).status,
    ).to.equal(400);
    const huge = JSON.stringify({ version: "4", alerts: [], pad: "x".repeat(300 * 1024) });
    expect((await post("/alertmanager", huge, { authorization: `Bearer ${SECRET}` })).status).to.equal(413);
    expect(received).to.have.length(0);
    expect(ignored).to.have.length(0);
    const reasons = sink.rejected().map((r) => [r.format, r.reason.split(":")[0]]);
    expect(reasons).to.deep.equal([
      ["alertmanager", "wrong credentials"],
      ["alertmanager", "missing credentials"],
      ["alertmanager", "malformed alertmanager delivery"],
      ["alertmanager", "malformed alertmanager delivery"],
      ["alertmanager", "body too large"],
    ]);
  });

  it("Grafana: basic auth, the Alertmanager-like alerts with Grafana's own fields", async () => {
    const startsAt = new Date().toISOString();
    const body = grafanaBody({
      name: "OracleStale",
      status: "firing",
      startsAt,
      labels: { chain: "arbitrum" },
    });
    const basic = `Basic ${Buffer.from(`admin:${SECRET}`).toString("base64")}`;
    expect((await post("/grafana", body, { authorization: basic })).status).to.be.within(200, 299);
    expect(received.map((a) => [a.event, a.chain, a.sender?.format])).to.deep.equal([
      ["ORACLE_STALE", "arbitrum", "grafana"],
    ]);
  });

  it("PagerDuty Events v2: the routing key in the body, on its own path and on /v2/enqueue", async () => {
    const event = (action: string) =>
      JSON.stringify({
        routing_key: SECRET,
        event_action: action,
        dedup_key: "ratio-ethereum",
        ...(action === "trigger"
          ? {
              payload: {
                summary: "collateral ratio 0.98 on ethereum",
                source: "monitor-1",
                severity: "critical",
                timestamp: new Date().toISOString(),
              },
            }
          : {}),
      });
    const first = await post("/pagerduty", event("trigger"));
    expect(first.status).to.equal(202);
    expect(await first.json()).to.deep.include({ status: "success", dedup_key: "ratio-ethereum" });
    const base = sink.url.replace(/\/alerts$/, "");
    const resolve = await fetch(`${base}/v2/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: event("resolve"),
    });
    expect(resolve.status).to.equal(202);
    expect((await post("/pagerduty", event("trigger").replace(SECRET, "wrong-key"))).status).to.equal(401);
    expect(received.map((a) => a.event)).to.deep.equal(["CRITICAL_COLLATERAL_LOW", "RECOVERED"]);
  });

  it("Slack: the secret is the path token; the text is what rules match", async () => {
    const body = JSON.stringify({ text: "Gas spike on ethereum: base fee 950 gwei" });
    const ok = await post(`/slack/${SECRET}`, body);
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.equal("ok");
    expect((await post("/slack/services/T000/B000/wrong", body)).status).to.equal(401);
    expect(received.map((a) => [a.event, a.sender?.name])).to.deep.equal([
      ["GAS_SPIKE", "Gas spike on ethereum: base fee 950 gwei"],
    ]);
  });

  it("OpenZeppelin Monitor: signed over the body and the millisecond timestamp", async () => {
    const body = JSON.stringify({ body: "Paused() on 0xvault", title: "Vault paused" });
    const signed = ozMonitorSignature(SECRET, body);
    expect((await post("/oz-monitor", body, signed)).status).to.equal(200);
    expect((await post("/oz-monitor", body, { ...signed, "x-signature": "0".repeat(64) })).status).to.equal(
      401,
    );
    expect(received.map((a) => a.event)).to.deep.equal(["EMERGENCY_PAUSE"]);
  });

  it("without an alert mapping, a sender path says how to enable it", async () => {
    const bare = await startAlertSink(SECRET, { onAlert: () => {}, formats: INTAKE_FORMATS });
    try {
      const answer = await fetch(`${bare.url}/alertmanager`, { method: "POST", body: "{}" });
      expect(answer.status).to.equal(404);
      expect(((await answer.json()) as { error: string }).error).to.match(/--alerts alerts\.yml/);
    } finally {
      await bare.close();
    }
  });
});
