import { createHmac } from "node:crypto";
import { expect } from "chai";
import { type IntakeRequest, MalformedDelivery } from "../../../harness/contract/intake/format.ts";
import { ozMonitorFormat as ozMonitor } from "../../../harness/contract/intake/oz-monitor.ts";
import { ReplayGuard } from "../../../harness/contract/webhook.ts";

// Shapes as OpenZeppelin Monitor v1.6.0 sends them: the webhook trigger's templated message
// (https://docs.openzeppelin.com/monitor, "Webhook notifications"), serialized compactly with
// its keys in alphabetical order, and a raw-mode EVM match.
const SECRET = "oz-secret-for-tests";
const NOW = Date.parse("2026-12-03T09:00:00.000Z");
const TEMPLATED = JSON.stringify({
  body: "Large transfer of 2500000 USDC from 0x1111111111111111111111111111111111111111 to 0x2222222222222222222222222222222222222222",
  title: "Large USDC transfer triggered",
});
const RAW = JSON.stringify({
  EVM: {
    monitor: { name: "Vault paused", networks: ["ethereum_mainnet"], paused: false },
    transaction: { hash: "0xabc123", from: "0x1111111111111111111111111111111111111111", value: "0" },
    receipt: null,
    logs: null,
    network_slug: "ethereum_mainnet",
    matched_on: { events: [], functions: [], transactions: [] },
    matched_on_args: null,
  },
});

function signed(body: string, secret = SECRET, at = NOW): IntakeRequest {
  const timestamp = String(at);
  const signature = createHmac("sha256", secret).update(`${body}${timestamp}`).digest("hex");
  return {
    headers: { "content-type": "application/json", "x-signature": signature, "x-timestamp": timestamp },
    rest: "",
    rawBody: body,
    receivedAt: NOW,
  };
}

describe("intake: OpenZeppelin Monitor", () => {
  it("accepts a delivery signed over the raw body followed by the millisecond timestamp", () => {
    expect(ozMonitor.authenticate(signed(TEMPLATED), SECRET, new ReplayGuard())).to.deep.equal({ ok: true });
  });

  it("refuses a wrong secret, a changed body, a stale or missing timestamp, and no credentials", () => {
    expect(ozMonitor.authenticate(signed(TEMPLATED, "other"), SECRET, new ReplayGuard())).to.deep.equal({
      ok: false,
      reason: "signature mismatch",
    });
    const tampered = { ...signed(TEMPLATED), rawBody: TEMPLATED.replace("2500000", "2500001") };
    expect(ozMonitor.authenticate(tampered, SECRET, new ReplayGuard())).to.include({
      ok: false,
      reason: "signature mismatch",
    });
    expect(
      ozMonitor.authenticate(signed(TEMPLATED, SECRET, NOW - 6 * 60_000), SECRET, new ReplayGuard()),
    ).to.deep.equal({
      ok: false,
      reason: "timestamp outside the 5 minute tolerance",
    });
    const noTime = signed(TEMPLATED);
    const { "x-timestamp": _, ...headers } = noTime.headers;
    expect(ozMonitor.authenticate({ ...noTime, headers }, SECRET, new ReplayGuard())).to.include({
      reason: "malformed timestamp",
    });
    expect(ozMonitor.authenticate({ ...noTime, headers: {} }, SECRET, new ReplayGuard())).to.include({
      reason: "missing credentials",
    });
  });

  it("accepts an Authorization: Bearer header when the trigger has no secret", () => {
    const request = {
      headers: { authorization: `Bearer ${SECRET}` },
      rest: "",
      rawBody: TEMPLATED,
      receivedAt: NOW,
    };
    expect(ozMonitor.authenticate(request, SECRET, new ReplayGuard())).to.deep.equal({ ok: true });
    expect(
      ozMonitor.authenticate(
        { ...request, headers: { authorization: "Bearer nope" } },
        SECRET,
        new ReplayGuard(),
      ),
    ).to.include({
      reason: "wrong credentials",
    });
  });

  it("names a templated alert by its title, with title and body to match on", () => {
    expect(ozMonitor.parse(JSON.parse(TEMPLATED))).to.deep.equal([
      {
        name: "Large USDC transfer triggered",
        status: "firing",
        labels: JSON.parse(TEMPLATED),
      },
    ]);
  });

  it("names a raw match by its monitor, keyed by the transaction", () => {
    expect(ozMonitor.parse(JSON.parse(RAW))).to.deep.equal([
      {
        name: "Vault paused",
        status: "firing",
        labels: {
          "monitor.name": "Vault paused",
          chain_family: "EVM",
          "transaction.hash": "0xabc123",
          network_slug: "ethereum_mainnet",
        },
        key: "Vault paused:0xabc123",
      },
    ]);
  });

  it("refuses bodies of another shape", () => {
    for (const body of [
      [],
      "text",
      null,
      { title: "  ", body: "x" },
      { EVM: { transaction: {} } },
      { alerts: [] },
    ]) {
      expect(() => ozMonitor.parse(body), JSON.stringify(body)).to.throw(MalformedDelivery);
    }
  });
});
