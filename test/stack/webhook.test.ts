import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { signWebhook, verifyWebhook, WebhookPoster } from "../../harness/stack/webhook.ts";

const SECRET = "whsec-test-0123456789";

describe("stack webhook signing", () => {
  const body = JSON.stringify({
    event: "ORACLE_STALE",
    severity: "high",
    system: "price_oracles",
    chain: null,
  });
  const now = 1_760_000_000_000;

  it("accepts a delivery signed over the exact body", () => {
    const header = signWebhook(SECRET, body, now);
    expect(header).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(SECRET, header, body, now + 1000, new Set())).to.deep.equal({
      ok: true,
      timestampMs: now,
    });
  });

  it("rejects a body changed after signing", () => {
    const header = signWebhook(SECRET, body, now);
    const changed = body.replace("high", "low");
    const result = verifyWebhook(SECRET, header, changed, now, new Set());
    expect(result).to.deep.equal({ ok: false, reason: "signature mismatch" });
  });

  it("rejects a wrong secret, a missing header and a malformed one", () => {
    expect(verifyWebhook("other-secret", signWebhook(SECRET, body, now), body, now, new Set()).ok).to.equal(
      false,
    );
    expect(verifyWebhook(SECRET, undefined, body, now, new Set()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, "v1=abc", body, now, new Set()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, `t=${now}`, body, now, new Set()).ok).to.equal(false);
  });

  it("rejects a timestamp older than 5 minutes and accepts one just inside", () => {
    const header = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, header, body, now + 5 * 60_000 + 1, new Set()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, header, body, now + 5 * 60_000, new Set()).ok).to.equal(true);
  });

  it("rejects a replayed delivery", () => {
    const seen = new Set<string>();
    const header = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, header, body, now, seen).ok).to.equal(true);
    expect(verifyWebhook(SECRET, header, body, now, seen)).to.deep.equal({
      ok: false,
      reason: "replayed delivery",
    });
  });

  it("posts in the background and retries a failing receiver with backoff", async () => {
    let calls = 0;
    const received: string[] = [];
    const seen = new Set<string>();
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (c) => {
        text += c;
      });
      req.on("end", () => {
        calls++;
        if (calls < 3) {
          res.writeHead(503).end();
          return;
        }
        const verdict = verifyWebhook(
          SECRET,
          req.headers["firedrill-signature"] as string,
          text,
          Date.now(),
          seen,
        );
        received.push(verdict.ok ? text : `rejected: ${verdict.ok ? "" : verdict.reason}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const poster = new WebhookPoster({ url, secret: SECRET, backoffMs: 20 });
    poster.post({ event: "RPC_FAILOVER" });
    // The receiver runs in this process: had post() waited for a delivery, it would have one.
    expect(calls, "deliveries made before post() returned").to.equal(0);
    await poster.close(5000);
    server.close();
    expect(calls).to.equal(3);
    expect(received).to.have.length(1);
    expect(JSON.parse(received[0]!)).to.deep.equal({ event: "RPC_FAILOVER" });
  });
});
