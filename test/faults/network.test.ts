import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { SIGNATURE_HEADER, signWebhook } from "../../harness/contract/webhook.ts";
import { releaseAll } from "../../harness/errors.ts";
import { alertDelivery } from "../../harness/faults/alert_delivery.ts";
import { oracleOutage } from "../../harness/faults/oracle_outage.ts";
import { regulatorOutage } from "../../harness/faults/regulator_outage.ts";
import { regulatoryPressure } from "../../harness/faults/regulatory_pressure.ts";
import { rpcLatency } from "../../harness/faults/rpc_latency.ts";
import { rpcOutage } from "../../harness/faults/rpc_outage.ts";
import { findToxiproxyServer } from "../../harness/proxy/server.ts";
import { openAlertPath } from "../../harness/runner/alert-path.ts";
import { startAlertSink } from "../../harness/runner/alert-sink.ts";
import {
  expectProof,
  expectSteady,
  type FaultLab,
  faultContext,
  healLeftovers,
  healTwice,
  startFaultLab,
  track,
} from "./support.ts";

/** A stand-in for the SUT's gateway that records report demands. */
async function demandRecorder(): Promise<{
  gateway: { url: string; token: string };
  demands: { auth?: string; body: unknown }[];
  close(): Promise<void>;
}> {
  const demands: { auth?: string; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => {
      text += d;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/reports") {
        const auth = req.headers.authorization;
        demands.push({ ...(auth ? { auth } : {}), body: JSON.parse(text) });
        res.writeHead(202, { "content-type": "application/json" }).end("{}");
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    gateway: { url: `http://127.0.0.1:${port}`, token: "demand-test-token" },
    demands,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const server of ["embedded", "real"] as const)
  describe(`network faults (${server} Toxiproxy)`, function () {
    this.timeout(30_000);
    let lab: FaultLab;

    before(async function () {
      if (server === "real" && !findToxiproxyServer()) {
        console.log("    skipped: no toxiproxy-server on PATH, at TOXIPROXY_BIN or in .tools/bin");
        this.skip();
      }
      lab = await startFaultLab({ toxiproxy: { server } });
      expect(lab.info.toxiproxy.kind).to.equal(server);
    });
    after(async () => {
      await lab?.down();
    });
    const recorders: { close(): Promise<void> }[] = [];
    afterEach(async () => {
      await Promise.all(recorders.splice(0).map((r) => r.close()));
      await healLeftovers();
      await expectSteady(lab.info);
    });

    it("oracle_outage refuse: the source's proxy refuses, then answers again", async () => {
      const ctx = faultContext(lab.info);
      const injected = track(
        await oracleOutage.inject(ctx, {
          ...oracleOutage.params.parse({ source: "chainlink" }),
          at: 0,
          for: 10_000,
        }),
      );
      expectProof(injected.proof);
      expect(injected.proof.evidence["probe"]).to.include({ ok: false });
      expect((injected.proof.evidence["probe"] as { error: string }).error).to.not.equal("TIMEOUT");
      const healed = await healTwice(injected);
      expect(healed.evidence["probe"]).to.include({ ok: true, status: 200 });
    });

    it("oracle_outage timeout: requests to the source hang with no answer", async () => {
      const ctx = faultContext(lab.info);
      const injected = track(
        await oracleOutage.inject(ctx, {
          ...oracleOutage.params.parse({ source: "pyth", mode: "timeout" }),
          at: 0,
        }),
      );
      expectProof(injected.proof);
      expect(injected.proof.evidence["probe"]).to.include({ ok: false, error: "TIMEOUT" });
      await healTwice(injected);
    });

    it("rpc_outage: one provider refuses while the node goes on", async () => {
      const ctx = faultContext(lab.info);
      const injected = track(
        await rpcOutage.inject(ctx, {
          ...rpcOutage.params.parse({ chain: "polygon", provider: "primary" }),
          at: 0,
        }),
      );
      expectProof(injected.proof);
      expect(injected.proof.evidence["nodeHead"]).to.be.a("number");
      // The other providers of the chain still answer.
      const secondary = await fetch(lab.info.chains.polygon!.rpc.secondary, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
      });
      expect(secondary.status).to.equal(200);
      await healTwice(injected);
    });

    it("rpc_latency: answers come no sooner than latency - jitter, and fast again after the heal", async () => {
      const ctx = faultContext(lab.info);
      const injected = track(
        await rpcLatency.inject(ctx, {
          ...rpcLatency.params.parse({
            chain: "ethereum",
            provider: "secondary",
            latency: "300ms",
            jitter: "50ms",
          }),
          at: 0,
        }),
      );
      expectProof(injected.proof);
      const probe = injected.proof.evidence["probe"] as { ms: number };
      expect(probe.ms).to.be.at.least(240);
      const healed = await healTwice(injected);
      expect((healed.evidence["probe"] as { ms: number }).ms).to.be.below(150);
    });

    it("regulator_outage slow and refuse", async () => {
      const ctx = faultContext(lab.info);
      const slow = track(
        await regulatorOutage.inject(ctx, {
          ...regulatorOutage.params.parse({ mode: "slow", latency: "250ms" }),
          at: 0,
        }),
      );
      expectProof(slow.proof);
      expect((slow.proof.evidence["probe"] as { ms: number }).ms).to.be.at.least(237);
      await healTwice(slow);
      const refuse = track(await regulatorOutage.inject(ctx, { ...regulatorOutage.params.parse({}), at: 0 }));
      expectProof(refuse.proof);
      await healTwice(refuse);
    });

    it("alert_delivery: a stack's signed alert is refused, held, then delayed through the alert path; the proxy goes with the run", async () => {
      const received: number[] = [];
      const releases: Array<() => unknown> = [];
      const secret = "alert-path-test-secret";
      try {
        const sink = await startAlertSink(secret, { onAlert: (a) => received.push(a.receivedAt) });
        releases.push(() => sink.close());
        const path = await openAlertPath(lab.info, sink.url, undefined, releases);
        expect(new URL(path.webhookUrl).port).to.not.equal(new URL(sink.url).port);
        const ctx = { ...faultContext(lab.info), alertPath: { proxy: path.proxy, url: path.url } };
        const send = async (event: string) => {
          const body = JSON.stringify({
            event,
            severity: "high",
            system: "alert_path",
            at: new Date().toISOString(),
          });
          const response = await fetch(path.webhookUrl, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              [SIGNATURE_HEADER]: signWebhook(secret, body, Date.now()),
            },
            body,
            signal: AbortSignal.timeout(3000),
          }).catch((error: Error) => error);
          return response instanceof Error ? response.name : response.status;
        };
        expect(await send("RPC_FAILOVER")).to.equal(202);

        const refuse = track(await alertDelivery.inject(ctx, { ...alertDelivery.params.parse({}), at: 0 }));
        expectProof(refuse.proof);
        expect(await send("RPC_FAILOVER")).to.equal("TypeError");
        await healTwice(refuse);

        const hold = track(
          await alertDelivery.inject(ctx, { ...alertDelivery.params.parse({ mode: "timeout" }), at: 0 }),
        );
        expectProof(hold.proof);
        expect(hold.proof.evidence["probe"]).to.include({ error: "TIMEOUT" });
        expect(await send("RPC_FAILOVER")).to.equal("TimeoutError");
        await healTwice(hold);

        const slow = track(
          await alertDelivery.inject(ctx, {
            ...alertDelivery.params.parse({ mode: "slow", latency: "400ms" }),
            at: 0,
          }),
        );
        expectProof(slow.proof);
        const sent = performance.now();
        expect(await send("RPC_FAILOVER")).to.equal(202);
        expect(performance.now() - sent).to.be.at.least(380);
        await healTwice(slow);
        expect(await send("RECOVERED")).to.equal(202);
        // The first, the slow one and the last: nothing refused or held got through.
        expect(received).to.have.length(3);

        const listed = (await (await fetch(`${lab.info.toxiproxy.url}/proxies`)).json()) as object;
        expect(Object.keys(listed)).to.include(path.proxy);
        await releaseAll(releases.splice(0));
        const after = (await (await fetch(`${lab.info.toxiproxy.url}/proxies`)).json()) as object;
        expect(Object.keys(after)).to.not.include(path.proxy);
      } finally {
        await releaseAll(releases);
      }
    });

    it("the alert path takes the address the receiver was given; the stack's URL stays the public one", async () => {
      const releases: Array<() => unknown> = [];
      try {
        const sink = await startAlertSink("alert-path-test-secret", { onAlert: () => {} });
        releases.push(() => sink.close());
        const path = await openAlertPath(lab.info, sink.url, { host: "127.0.0.2", port: 0 }, releases);
        expect(path.url).to.match(/^http:\/\/127\.0\.0\.2:\d+$/);
        expect(path.webhookUrl).to.equal(`${path.url}/alerts`);
        // The proxy carries a delivery to the receiver, which still demands its credentials.
        expect((await fetch(path.webhookUrl, { method: "POST", body: "{}" })).status).to.equal(401);
        const behind = await openAlertPath(
          lab.info,
          sink.url,
          { host: "127.0.0.1", port: 0, publicUrl: "https://alerts.example.org/alerts" },
          releases,
        );
        expect(behind.webhookUrl).to.equal("https://alerts.example.org/alerts");
      } finally {
        await releaseAll(releases);
      }
    });

    it("alert_delivery in a run with no alert path says so", async () => {
      let error: unknown;
      await alertDelivery
        .inject(faultContext(lab.info), { ...alertDelivery.params.parse({}), at: 0 })
        .catch((e) => {
          error = e;
        });
      expect((error as Error).message).to.match(/no proxy in front of its alert receiver/);
    });

    it("regulatory_pressure delivers the demand to the stack and records its deadline while the endpoint times out", async () => {
      const logs: string[] = [];
      const recorder = await demandRecorder();
      recorders.push(recorder);
      const ctx = faultContext(lab.info, { logs, gateway: recorder.gateway });
      const before = Date.now();
      const injected = track(
        await regulatoryPressure.inject(ctx, {
          ...regulatoryPressure.params.parse({ deadline: "60s", degrade: "timeout" }),
          at: 0,
          for: 30_000,
        }),
      );
      expectProof(injected.proof);
      const demand = injected.proof.evidence["demand"] as {
        demandedAt: string;
        deadlineAt: string;
        report: string;
      };
      expect(demand.report).to.equal("incident_report");
      const demandedAt = Date.parse(demand.demandedAt);
      expect(demandedAt).to.be.within(before, Date.now());
      expect(Date.parse(demand.deadlineAt) - demandedAt).to.equal(60_000);
      expect(injected.proof.evidence["probe"]).to.include({ error: "TIMEOUT" });
      expect(logs.join("\n")).to.include("demanded");
      expect(recorder.demands).to.deep.equal([
        { auth: "Bearer demand-test-token", body: { report: "incident_report", deadline_ms: 60_000 } },
      ]);
      const healed = await healTwice(injected);
      expect(healed.evidence["demand"]).to.deep.equal(demand);
    });

    it("regulatory_pressure with a healthy endpoint is still a demand", async () => {
      const recorder = await demandRecorder();
      recorders.push(recorder);
      const ctx = faultContext(lab.info, { gateway: recorder.gateway });
      const injected = track(
        await regulatoryPressure.inject(ctx, {
          ...regulatoryPressure.params.parse({ deadline: "5s", degrade: "none", report: "reserve_report" }),
          at: 0,
        }),
      );
      expectProof(injected.proof);
      expect(injected.proof.evidence["probe"]).to.include({ ok: true, status: 200 });
      expect(recorder.demands).to.have.length(1);
      await healTwice(injected);
    });
  });
