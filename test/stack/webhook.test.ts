import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ReplayGuard, verifyWebhook } from "../../harness/contract/webhook.ts";
import { WebhookPoster } from "../../harness/stack/webhook.ts";
import { until } from "../../harness/testing/until.ts";

const SECRET = "whsec-test-0123456789";

describe("stack webhook delivery", () => {
  it("posts in the background and retries a failing receiver with backoff", async () => {
    let calls = 0;
    const received: string[] = [];
    const guard = new ReplayGuard();
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
          guard,
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

  it("keeps retrying a refused path until it answers, and gives up what is still retrying on close", async () => {
    // A port with nothing on it refuses; the receiver comes up on it later.
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const gaveUp: string[] = [];
    const poster = new WebhookPoster({
      url: `http://127.0.0.1:${port}`,
      secret: SECRET,
      backoffMs: 10,
      maxBackoffMs: 50,
      onGiveUp: (_body, reason) => gaveUp.push(reason),
    });
    const started = Date.now();
    poster.post({ event: "RPC_FAILOVER" });
    // Well past what six attempts with doubling backoff from 10 ms would last (630 ms).
    await until(
      "a give-up, or 1.5 s of retries",
      () => poster.failed > 0 || Date.now() - started > 1500,
      5000,
    );
    expect(poster.failed, "a delivery given up while its path was down").to.equal(0);
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    await until("the delivery, once the receiver is up", () => poster.delivered > 0, 5000);
    expect(poster.delivered).to.equal(1);

    // Down again: a delivery still retrying when the stack stops is given up, not left behind.
    await new Promise<void>((r) => server.close(() => r()));
    poster.post({ event: "RECOVERED" });
    const closing = performance.now();
    await poster.close(100);
    expect(performance.now() - closing, "close waited for the retries").to.be.below(1000);
    expect(poster.failed).to.equal(1);
    expect(gaveUp).to.have.length(1);
  });

  it("gives up a delivery when its retry time is over", async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(503).end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gaveUp: string[] = [];
    const poster = new WebhookPoster({
      url,
      secret: SECRET,
      retryForMs: 1000,
      backoffMs: 10,
      maxBackoffMs: 100,
      onGiveUp: (_body, reason) => gaveUp.push(reason),
    });
    poster.post({ event: "RPC_FAILOVER" });
    await until("the give-up", () => poster.failed > 0, 5000);
    server.close();
    expect(gaveUp).to.deep.equal(["HTTP 503"]);
    expect(poster.delivered).to.equal(0);
  });
});
