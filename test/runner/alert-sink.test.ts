import { expect } from "chai";
import { SIGNATURE_HEADER, signWebhook } from "../../harness/contract/webhook.ts";
import { type Alert, type AlertSink, startAlertSink } from "../../harness/runner/alert-sink.ts";

const SECRET = "sink-secret-0123456789";

describe("runner alert sink", () => {
  let sink: AlertSink;
  const received: Alert[] = [];

  before(async () => {
    sink = await startAlertSink(SECRET, { onAlert: (a) => received.push(a) });
  });
  after(() => sink.close());

  const deliver = (body: string, signature = signWebhook(SECRET, body, Date.now())) =>
    fetch(sink.url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signature },
      body,
    });

  it("counts a signed alert once and refuses its replay", async () => {
    const body = JSON.stringify({
      event: "RPC_FAILOVER",
      severity: "high",
      system: "chains",
      chain: "ethereum",
      at: new Date().toISOString(),
      details: { from: "primary", to: "secondary" },
    });
    const signature = signWebhook(SECRET, body, Date.now());
    expect((await deliver(body, signature)).status).to.equal(202);
    expect((await deliver(body, signature)).status).to.equal(401);
    expect(received.map((a) => a.event)).to.deep.equal(["RPC_FAILOVER"]);
    expect(received[0]!.receivedAt).to.be.a("number");
    expect(sink.rejected().map((r) => r.reason)).to.deep.equal(["replayed delivery"]);
  });

  it("refuses a wrong signature with 401 and a signed body that is not an alert with 400", async () => {
    const before = received.length;
    const alert = JSON.stringify({ event: "GAS_SPIKE", severity: "high", system: "chains", at: "x" });
    const wrong = await deliver(alert, signWebhook("another-secret-000", alert, Date.now()));
    expect(wrong.status).to.equal(401);
    const malformed = await deliver(alert);
    expect(malformed.status).to.equal(400);
    expect(received.length).to.equal(before);
    expect(
      sink
        .rejected()
        .slice(-2)
        .map((r) => r.reason),
    ).to.deep.equal(["signature mismatch", "malformed alert"]);
  });
});
