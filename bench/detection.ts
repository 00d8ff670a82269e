/**
 * Detection latency of the reference stack: from a fault to its alert at the webhook, for
 * an oracle outage (a price source stops answering) and an RPC outage (the primary
 * provider refuses connections), over 20+ runs each. The anchor is the BCP's monitor, a
 * 5 s health-check poll, run side by side against the same faults in the same run.
 *
 *   node bench/detection.ts [runs]
 */
import { startStack } from "../harness/stack/index.ts";
import { percentile } from "../harness/stats.ts";
import { type ReceivedAlert, startTestLab } from "../harness/testing/stack-lab.ts";
import { until } from "../harness/testing/until.ts";

const RUNS = Math.max(20, Number(process.argv[2] ?? 20));
const HEALTH_CHECK_MS = 5000;
const BLOCK_MS = 1000;

/** The BCP's collateral monitor loop: one check every 5 s, an error means failure. */
function healthCheckPoller(check: () => Promise<void>): {
  detectedAfter(sinceMs: number): Promise<number>;
  stop(): void;
} {
  let failures: number[] = [];
  const timer = setInterval(() => {
    check().catch(() => failures.push(Date.now()));
  }, HEALTH_CHECK_MS);
  return {
    async detectedAfter(sinceMs) {
      const hit = await until(
        "5 s poll detection",
        () => failures.find((t) => t >= sinceMs),
        HEALTH_CHECK_MS * 3,
      );
      failures = [];
      return hit! - sinceMs;
    },
    stop: () => clearInterval(timer),
  };
}

const lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: BLOCK_MS });
const stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
const results: Record<string, { stack: number[]; poll: number[] }> = {
  "oracle outage": { stack: [], poll: [] },
  "rpc outage": { stack: [], poll: [] },
};
try {
  await until("stack warmed up", () => stack.status().oracles.every((o) => o.primaryActive), 15_000);
  const firstAfter = (pred: (a: ReceivedAlert) => boolean, sinceMs: number) =>
    lab.receiver.waitFor((a) => a.receivedAtMs >= sinceMs && pred(a), 10_000);

  const source = lab.sources[0]!;
  const pollOracle = healthCheckPoller(async () => {
    const res = await fetch(`${source.url}/prices`, { signal: AbortSignal.timeout(2000) });
    await res.json();
  });
  for (let i = 0; i < RUNS; i++) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
    const t0 = Date.now();
    source.mode = "down";
    const alert = await firstAfter(
      (a) => a.event === "ORACLE_STALE" && a.details["source"] === source.name,
      t0,
    );
    results["oracle outage"]!.stack.push(alert.receivedAtMs - t0);
    results["oracle outage"]!.poll.push(await pollOracle.detectedAfter(t0));
    source.mode = "live";
    await firstAfter(
      (a) => a.event === "RECOVERED" && a.details["condition"] === "SECONDARY_ORACLE_ACTIVATED",
      t0,
    );
    process.stdout.write(".");
  }
  pollOracle.stop();

  const primary = lab.chains[0]!.providers[0]!;
  const pollRpc = healthCheckPoller(async () => {
    const res = await fetch(primary.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
      signal: AbortSignal.timeout(2000),
    });
    await res.json();
  });
  for (let i = 0; i < RUNS; i++) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
    const t0 = Date.now();
    primary.setMode("down");
    const alert = await firstAfter((a) => a.event === "RPC_FAILOVER", t0);
    results["rpc outage"]!.stack.push(alert.receivedAtMs - t0);
    results["rpc outage"]!.poll.push(await pollRpc.detectedAfter(t0));
    primary.setMode("up");
    await firstAfter((a) => a.event === "RPC_FAILBACK", t0);
    process.stdout.write(".");
  }
  pollRpc.stop();
  process.stdout.write("\n");
} finally {
  await stack.close();
  await lab.close();
}

const target = BLOCK_MS + 250;
console.log(
  `detection latency, fault to alert at the webhook, ${RUNS} runs each (block interval ${BLOCK_MS} ms)`,
);
for (const [name, r] of Object.entries(results)) {
  const p50 = percentile(r.stack, 50);
  const p95 = percentile(r.stack, 95);
  const s50 = percentile(r.poll, 50);
  const s95 = percentile(r.poll, 95);
  console.log(
    `${name.padEnd(14)} stack p50 ${p50} ms  p95 ${p95} ms  | 5 s poll p50 ${s50} ms  p95 ${s95} ms  | ` +
      `poll/stack p50: ${(s50 / Math.max(1, p50)).toFixed(1)}x, p95: ${(s95 / Math.max(1, p95)).toFixed(1)}x  | ` +
      `target p95 <= ${target} ms: ${p95 <= target ? "met" : "MISSED"}`,
  );
}
