import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { expect } from "chai";
import { type Alert, sendAlert, signature } from "../examples/send-alert.ts";
import {
  type AlertSink,
  type ReceivedAlert,
  signWebhook,
  startAlertSink,
} from "../harness/docs/contract-sources.ts";
import { CLIENTS } from "../harness/docs/sut-contract.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "examples-test-secret";

function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

const onPath = (tool: string) =>
  (process.env["PATH"] ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, tool)));

describe("the minimal alert clients of docs/sut-contract.md", function () {
  this.timeout(30_000);
  let sink: AlertSink;
  const received: ReceivedAlert[] = [];

  before(async () => {
    sink = await startAlertSink(SECRET, { onAlert: (alert) => received.push(alert) });
  });
  after(async () => {
    await sink?.close();
  });
  beforeEach(() => {
    received.length = 0;
  });

  const env = () => ({ FIREDRILL_ALERT_WEBHOOK: sink.url, FIREDRILL_WEBHOOK_SECRET: SECRET });

  it(`${CLIENTS.typescript} posts an alert the runner's receiver accepts`, async () => {
    const result = await run(
      process.execPath,
      [CLIENTS.typescript, "RPC_FAILOVER", "high", "rpc_providers", "ethereum", '{"from":"primary"}'],
      env(),
    );
    expect(result.code, result.output).to.equal(0);
    expect(received).to.have.length(1);
    expect(received[0]).to.include({
      event: "RPC_FAILOVER",
      severity: "high",
      system: "rpc_providers",
      chain: "ethereum",
    });
    expect(received[0]!.details).to.deep.equal({ from: "primary" });
  });

  it(`${CLIENTS.shell} posts an alert the runner's receiver accepts (needs sh, curl, openssl)`, async function () {
    const missing = ["sh", "curl", "openssl"].filter((tool) => !onPath(tool));
    if (missing.length > 0) {
      console.log(`      skipped: ${missing.join(", ")} not on PATH`);
      this.skip();
    }
    const result = await run("sh", [CLIENTS.shell, "CHAIN_HALTED", "critical", "chains", "arbitrum"], env());
    expect(result.code, result.output).to.equal(0);
    expect(result.output.trim()).to.equal("202");
    expect(received).to.have.length(1);
    expect(received[0]).to.include({
      event: "CHAIN_HALTED",
      severity: "critical",
      system: "chains",
      chain: "arbitrum",
    });
    expect(sink.rejected()).to.deep.equal([]);
  });

  it("signs exactly as the harness does", () => {
    const body = '{"event":"RECOVERED"}';
    expect(signature("k", body, 1_700_000_000_000)).to.equal(signWebhook("k", body, 1_700_000_000_000));
  });

  it("is refused as the page says: another secret, a replay, a signed non-alert, another method", async () => {
    const alert: Alert = {
      event: "GAS_SPIKE",
      severity: "high",
      system: "chains",
      at: new Date().toISOString(),
    };
    expect((await sendAlert(sink.url, "another-secret", alert)).status).to.equal(401);

    const body = JSON.stringify(alert);
    const header = signature(SECRET, body, Date.now());
    const post = (text: string, signed: string) =>
      fetch(sink.url, {
        method: "POST",
        headers: { "content-type": "application/json", "Firedrill-Signature": signed },
        body: text,
      });
    expect((await post(body, header)).status).to.equal(202);
    const replay = await post(body, header);
    expect(replay.status).to.equal(401);
    expect(await replay.json()).to.deep.equal({ error: "replayed delivery" });

    const notAnAlert = '{"event":"GAS_SPIKE"}';
    expect((await post(notAnAlert, signature(SECRET, notAnAlert, Date.now()))).status).to.equal(400);
    expect((await fetch(sink.url)).status).to.equal(405);
    expect(received.map((a) => a.event)).to.deep.equal(["GAS_SPIKE"]);
  });
});
