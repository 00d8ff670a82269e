import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ReplayGuard, verifyWebhook } from "../../harness/contract/webhook.ts";
import { WebhookPoster } from "../../harness/stack/webhook.ts";

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
});
