import { createServer, type IncomingMessage, type Server } from "node:http";
import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import { amountText, MAX_IN_FLIGHT, redemptionRun } from "../../harness/faults/redemption_run.ts";
import { labAccounts } from "../../harness/lab/deploy.ts";
import type { LabInfo } from "../../harness/lab/index.ts";
import { until } from "../../harness/testing/until.ts";
import { expectProof, faultContext, healTwice } from "./support.ts";

interface Recorded {
  at: number;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

/** A stand-in gateway on loopback: records every request; answers 202 with an id, or `status`. */
async function fakeGateway(options: { delayMs?: number; status?: (n: number) => number } = {}) {
  const requests: Recorded[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const n = requests.push({
        at: Date.now(),
        headers: req.headers,
        body: JSON.parse(raw) as Record<string, unknown>,
      });
      setTimeout(() => {
        inFlight -= 1;
        const status = req.headers.authorization === "Bearer t0ken" ? (options.status?.(n) ?? 202) : 401;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(status < 300 ? { id: `r-${n}`, status: "queued" } : { error: "no" }));
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// redemption_run only reads the lab's user accounts.
const info = { accounts: labAccounts() } as unknown as LabInfo;

describe("redemption_run", function () {
  this.timeout(20_000);

  it("sends the surge paced over its duration, each request with a bearer token and its own Idempotency-Key", async () => {
    const gateway = await fakeGateway({ status: (n) => (n % 5 === 0 ? 503 : 202) });
    try {
      const ctx = faultContext(info, { gateway: { url: gateway.url, token: "t0ken" } });
      const fault = {
        ...redemptionRun.params.parse({ requests: 20, amount: 250.5, chain: "polygon" }),
        at: 0,
        for: 1_000,
      };
      const injected = await redemptionRun.inject(ctx, fault);
      expectProof(injected.proof);
      // The runner heals after `for`; by then the paced surge has been sent.
      await until("the whole surge", async () => gateway.requests.length === 20, 5_000);
      const healed = await healTwice(injected);
      expect(gateway.requests).to.have.length(20);
      expect(healed.evidence).to.include({ requested: 20, sent: 20, answered: 20, accepted: 16 });
      expect(healed.evidence["statuses"]).to.deep.equal({ "202": 16, "503": 4 });
      expect(healed.evidence["acceptedIds"]).to.have.length(16);
      const keys = new Set(gateway.requests.map((r) => r.headers["idempotency-key"]));
      expect(keys.size).to.equal(20);
      const holders = new Set(info.accounts.users.map((u) => u.address));
      for (const r of gateway.requests) {
        expect(r.headers.authorization).to.equal("Bearer t0ken");
        expect(r.body).to.include({ amount: "250.5", collateral_type: "USDC", chain: "polygon" });
        expect(holders.has(r.body["holder"] as string)).to.equal(true);
      }
      // Paced: 20 requests over 1 s arrive over most of that second, not at once.
      const span = gateway.requests.at(-1)!.at - gateway.requests[0]!.at;
      expect(span).to.be.within(800, 1_500);
    } finally {
      await gateway.close();
    }
  });

  it("keeps at most MAX_IN_FLIGHT requests open and stops sending when healed early", async () => {
    const gateway = await fakeGateway({ delayMs: 300 });
    try {
      const ctx = faultContext(info, { gateway: { url: gateway.url, token: "t0ken" } });
      const fault = { ...redemptionRun.params.parse({ requests: 5_000 }), at: 0, for: 1_000 };
      const injected = await redemptionRun.inject(ctx, fault);
      expectProof(injected.proof);
      const healed = await healTwice(injected);
      expect(gateway.maxInFlight()).to.be.at.most(MAX_IN_FLIGHT);
      const sent = healed.evidence["sent"] as number;
      expect(sent).to.be.below(5_000);
      expect(gateway.requests.length).to.equal(sent);
      const count = gateway.requests.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(gateway.requests.length, "nothing sent after the heal").to.equal(count);
    } finally {
      await gateway.close();
    }
  });

  it("stops when the run is interrupted", async () => {
    const gateway = await fakeGateway();
    try {
      const interrupt = new AbortController();
      const ctx = faultContext(info, {
        gateway: { url: gateway.url, token: "t0ken" },
        signal: interrupt.signal,
      });
      const injected = await redemptionRun.inject(ctx, {
        ...redemptionRun.params.parse({ requests: 1_000 }),
        at: 0,
        for: 10_000,
      });
      interrupt.abort();
      await new Promise((r) => setTimeout(r, 100));
      const count = gateway.requests.length;
      expect(count).to.be.below(1_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(gateway.requests.length).to.equal(count);
      await injected.heal();
    } finally {
      await gateway.close();
    }
  });

  it("does not take effect when the gateway refuses every request", async () => {
    const gateway = await fakeGateway();
    try {
      const ctx = faultContext(info, { gateway: { url: gateway.url, token: "wrong" } });
      const injected = await redemptionRun.inject(ctx, {
        ...redemptionRun.params.parse({ requests: 3 }),
        at: 0,
        for: 100,
      });
      expectProof(injected.proof, false);
      expect(injected.proof.evidence["statuses"]).to.deep.equal({ "401": 3 });
      await injected.heal();
    } finally {
      await gateway.close();
    }
  });

  it("needs a gateway: a clear error without one", async () => {
    const ctx = faultContext(info);
    const error = await redemptionRun
      .inject(ctx, { ...redemptionRun.params.parse({ requests: 1 }), at: 0 })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FiredrillError);
    expect((error as FiredrillError).message).to.match(/ops gateway/);
  });

  it("writes amounts as plain decimals", () => {
    expect(amountText(100)).to.equal("100");
    expect(amountText(0.5)).to.equal("0.5");
    expect(amountText(1_000_000)).to.equal("1000000");
    expect(amountText(12.000001)).to.equal("12.000001");
  });
});
