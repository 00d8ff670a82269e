/**
 * Alert intake: 1,000 Alertmanager deliveries of 10 alerts each against the runner's
 * receiver on loopback, then 1,000 deliveries in firedrill's own signed format (the anchor,
 * measured in the same run), one at a time on a kept-alive connection. Prints the round
 * trip per delivery (the receiver's handling plus loopback HTTP, the same for both), p50
 * and p95, whether any alert was lost, and the ratio Alertmanager / native.
 * Targets: ratio at most 1.5x; Alertmanager p95 under 2 ms.
 *
 *   node bench/intake.ts [--deliveries 1000] [--rounds 3]
 */
import { parseArgs } from "node:util";
import { INTAKE_FORMATS } from "../harness/contract/intake/index.ts";
import { signWebhook } from "../harness/contract/webhook.ts";
import { parseAlertMap } from "../harness/runner/alert-map.ts";
import { startAlertSink } from "../harness/runner/alert-sink.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../harness/runner/systems-map.ts";
import { percentile } from "../harness/stats.ts";

const { values } = parseArgs({
  options: { deliveries: { type: "string", default: "1000" }, rounds: { type: "string", default: "3" } },
});
const DELIVERIES = Number(values.deliveries);
const ROUNDS = Number(values.rounds);
const ALERTS_PER_DELIVERY = 10;
const SECRET = "bench-intake-secret-0123456789abcdef";

const MAPPING = `version: 1
rules:
  - match: { alertname: /^RpcProviderDown/ }
    event: RPC_FAILOVER
    system: rpc_providers
    chain_label: chain
`;

let counted = 0;
const sink = await startAlertSink(SECRET, {
  onAlert: () => {
    counted += 1;
  },
  alertMap: parseAlertMap("bench-alerts.yml", MAPPING, loadSystemsMap(SHIPPED_MAP)),
  formats: INTAKE_FORMATS,
});

/** Delivery `i` from Alertmanager: 10 firing alerts of one group, each its own instance. */
function alertmanagerBody(i: number): string {
  const startsAt = new Date().toISOString();
  return JSON.stringify({
    version: "4",
    groupKey: `{}:{alertname="RpcProviderDown${i}"}`,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "firedrill",
    groupLabels: { alertname: `RpcProviderDown${i}` },
    commonLabels: { alertname: `RpcProviderDown${i}`, severity: "critical" },
    commonAnnotations: {},
    externalURL: "http://127.0.0.1:9093",
    alerts: Array.from({ length: ALERTS_PER_DELIVERY }, (_, k) => ({
      status: "firing",
      labels: {
        alertname: `RpcProviderDown${i}`,
        severity: "critical",
        chain: "ethereum",
        instance: `primary-${k}`,
        job: "blackbox",
      },
      annotations: { summary: `primary RPC provider ${k} down` },
      startsAt,
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://127.0.0.1:9090/graph",
      fingerprint: `${i.toString(16).padStart(8, "0")}${k.toString(16).padStart(8, "0")}`,
    })),
  });
}

function nativeBody(i: number): string {
  return JSON.stringify({
    event: "RPC_FAILOVER",
    severity: "critical",
    system: "rpc_providers",
    chain: "ethereum",
    at: new Date().toISOString(),
    details: { delivery: i, from: "primary", to: "secondary" },
  });
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const answer = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  await answer.arrayBuffer();
  if (answer.status >= 300) throw new Error(`${url}: ${answer.status}`);
  return performance.now() - started;
}

async function alertmanagerRound(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < DELIVERIES; i++) {
    times.push(
      await post(`${sink.url}/alertmanager`, alertmanagerBody(i), { authorization: `Bearer ${SECRET}` }),
    );
  }
  return times;
}

async function nativeRound(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < DELIVERIES; i++) {
    const body = nativeBody(i);
    times.push(await post(sink.url, body, { "Firedrill-Signature": signWebhook(SECRET, body, Date.now()) }));
  }
  return times;
}

try {
  // A warm-up of each, so that neither pays for the first compilations.
  await alertmanagerRound();
  await nativeRound();
  const am: number[] = [];
  const native: number[] = [];
  let amLost = 0;
  let nativeLost = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let before = counted;
    am.push(...(await alertmanagerRound()));
    amLost += DELIVERIES * ALERTS_PER_DELIVERY - (counted - before);
    before = counted;
    native.push(...(await nativeRound()));
    nativeLost += DELIVERIES - (counted - before);
  }
  const line = (name: string, times: number[], lost: number, alerts: number) =>
    `${name.padEnd(13)} ${times.length} deliveries (${alerts} alert${alerts === 1 ? "" : "s"} each): p50 ${percentile(times, 50).toFixed(3)} ms  p95 ${percentile(times, 95).toFixed(3)} ms  lost ${lost}`;
  console.log(
    `alert intake on loopback, ${ROUNDS} rounds of ${DELIVERIES} deliveries, one at a time, node ${process.versions.node}`,
  );
  console.log(line("alertmanager", am, amLost, ALERTS_PER_DELIVERY));
  console.log(line("native", native, nativeLost, 1));
  const p50 = percentile(am, 50) / percentile(native, 50);
  const p95 = percentile(am, 95) / percentile(native, 95);
  console.log(
    `alertmanager / native round trip: p50 ${p50.toFixed(2)}x  p95 ${p95.toFixed(2)}x  (target <= 1.5x)${p95 <= 1.5 ? "" : "  MISSED"}`,
  );
  console.log(
    `alertmanager p95 ${percentile(am, 95).toFixed(3)} ms (target < 2 ms)${percentile(am, 95) < 2 ? "" : "  MISSED"}; lost ${amLost + nativeLost} (target 0)`,
  );
  process.exitCode = amLost + nativeLost === 0 ? 0 : 1;
} finally {
  await sink.close();
}
