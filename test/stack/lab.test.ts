import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { defaultLabConfig } from "../../harness/lab/config.ts";
import { type Lab, startLab, sutEnvironment } from "../../harness/lab/index.ts";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { type Receiver, startReceiver } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack against the real lab (Toxiproxy in front of every endpoint)", function () {
  this.timeout(120_000);
  let dir: string;
  let lab: Lab;
  let receiver: Receiver;
  let stack: RunningStack;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "firedrill-stack-lab-"));
    lab = await startLab(defaultLabConfig(), { dir: join(dir, "lab") });
    receiver = await startReceiver("lab-test-webhook-secret-0123");
    stack = await startStack(
      sutEnvironment(lab.info, lab.file, {
        webhookUrl: receiver.url,
        webhookSecret: receiver.secret,
        gatewayToken: "lab-test-gateway-token",
        port: 0,
      }),
      { dataDir: join(dir, "stack") },
    );
    await until(
      "first reads",
      () => stack.status().chains["arbitrum"]?.collateralRatio !== undefined,
      20_000,
    );
  });

  after(async () => {
    await stack?.close();
    await receiver?.close();
    await lab?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Turns a Toxiproxy proxy off or on, real or embedded server alike. */
  async function setProxy(listenUrl: string, enabled: boolean): Promise<void> {
    const listen = new URL(listenUrl).host;
    const proxy = lab.info.proxies.find(
      (p) => p.listen === listen || p.listen.endsWith(`:${new URL(listenUrl).port}`),
    );
    if (!proxy) throw new Error(`no proxy listens on ${listen}`);
    const res = await fetch(`${lab.info.toxiproxy.url}/proxies/${proxy.name}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ enabled }),
    });
    expect(res.ok, `toxiproxy ${res.status}`).to.equal(true);
  }

  it("holds steady: healthy, and no alert while nothing is wrong", async () => {
    const since = Date.now();
    const health = await fetch(`http://127.0.0.1:${stack.port}/health`);
    expect(health.status).to.equal(200);
    await new Promise((r) => setTimeout(r, 2000));
    const noisy = receiver.alerts.filter((a) => a.receivedAtMs >= since && a.event !== "RECOVERED");
    expect(noisy.map((a) => `${a.event}:${a.chain}`)).to.deep.equal([]);
  });

  it("detects a price source outage and fails over an RPC provider, through Toxiproxy", async () => {
    const since = Date.now();
    await setProxy(lab.info.oracles.sources.chainlink, false);
    try {
      await receiver.waitFor(
        (a) => a.event === "ORACLE_STALE" && a.details["source"] === "chainlink" && a.receivedAtMs >= since,
        3000,
      );
      await receiver.waitFor(
        (a) => a.event === "SECONDARY_ORACLE_ACTIVATED" && a.receivedAtMs >= since,
        3000,
      );
    } finally {
      await setProxy(lab.info.oracles.sources.chainlink, true);
    }
    await setProxy(lab.info.chains.ethereum!.rpc.primary, false);
    try {
      const alert = await receiver.waitFor(
        (a) => a.event === "RPC_FAILOVER" && a.receivedAtMs >= since,
        3000,
      );
      expect(alert.details).to.include({ from: "primary", to: "secondary" });
    } finally {
      await setProxy(lab.info.chains.ethereum!.rpc.primary, true);
    }
    await receiver.waitFor((a) => a.event === "RPC_FAILBACK" && a.receivedAtMs >= since, 15_000);
  });
});
