/**
 * Requests per second of the embedded engine against k6 (the anchor), in one run, on the
 * same loopback stand-in gateway (its own process), at 100 VUs: the `normal` profile's
 * mint/redeem mix shrunk to a few seconds.
 *   node bench/load.ts [--seconds 10] [--vus 100] [--latency-ms 0] [--rounds 2]
 * With `--spike`, it then runs the `spike` profile (100 -> 1000 -> 100 VUs, shrunk to
 * `--spike-duration`) with the embedded engine against `--gateway URL` (default: the
 * stand-in) and prints mint and redeem p95 against the 1 s target.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startProcess } from "../harness/lab/process.ts";
import { parseDurationMs } from "../harness/loadgen/duration.ts";
import { runEmbedded } from "../harness/loadgen/engine.ts";
import { findK6, runK6 } from "../harness/loadgen/k6.ts";
import type { SummaryData } from "../harness/loadgen/metrics.ts";
import { loadProfile, type ProfileData, withDuration } from "../harness/loadgen/profile.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    vus: { type: "string", default: "100" },
    "latency-ms": { type: "string", default: "0" },
    rounds: { type: "string", default: "2" },
    spike: { type: "boolean", default: false },
    "spike-duration": { type: "string", default: "30s" },
    gateway: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const vus = Number(values.vus);

const base = loadProfile("normal").data;
const profile: ProfileData = {
  ...base,
  scenarios: {
    mint: {
      executor: "constant-vus",
      exec: "mint",
      vus: vus / 2,
      duration: `${seconds}s`,
      gracefulStop: "5s",
    },
    redeem: {
      executor: "constant-vus",
      exec: "redeem",
      vus: vus / 2,
      duration: `${seconds}s`,
      gracefulStop: "5s",
    },
  },
};

const target = await startProcess({
  name: "bench-target",
  command: process.execPath,
  args: [
    fileURLToPath(new URL("../harness/loadgen/testing-target.ts", import.meta.url)),
    "--latency-ms",
    String(values["latency-ms"]),
  ],
  ready: /listening on (http:\/\/\S+)/,
});
const url = target.readyMatch![1]!;

const line = (engine: string, data: SummaryData) => {
  const reqs = data.metrics["http_reqs"]!.values;
  const d = data.metrics["http_req_duration"]!.values;
  console.log(
    `${engine.padEnd(9)} ${String(reqs["count"]).padStart(8)} requests  ${reqs["rate"]!.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${d["med"]!.toFixed(2)} ms  p95 ${d["p(95)"]!.toFixed(2)} ms`,
  );
  return reqs["rate"]!;
};

try {
  console.log(
    `load bench: ${vus} VUs, ${seconds}s each, stand-in gateway at ${url} (latency ${values["latency-ms"]} ms)`,
  );
  const bin = findK6();
  // Warm the stand-in gateway up, then alternate the engines so neither gets a warmer server.
  await runEmbedded({
    profile: {
      ...profile,
      scenarios: { warm: { executor: "constant-vus", exec: "mint", vus: vus / 2, duration: "1s" } },
    },
    target: url,
  });
  const rounds = Number(values.rounds);
  const k6Rates: number[] = [];
  const embeddedRates: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    if (bin === undefined) console.log("k6        not found (PATH, K6_BIN, .tools/bin/k6): no anchor");
    else k6Rates.push(line("k6", (await runK6({ bin, profile, target: url })).data));
    embeddedRates.push(line("embedded", (await runEmbedded({ profile, target: url })).data));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (k6Rates.length > 0) {
    console.log(
      `embedded/k6 requests per second: ${(mean(embeddedRates) / mean(k6Rates)).toFixed(2)}x ` +
        `(${mean(embeddedRates).toFixed(0)} vs ${mean(k6Rates).toFixed(0)} req/s, mean of ${rounds} rounds; target >= 1.0x)`,
    );
  }
  if (values.spike) {
    const gateway = values.gateway ?? url;
    const spike = withDuration(
      loadProfile("spike").data,
      parseDurationMs(values["spike-duration"]) ?? 30_000,
    );
    const result = await runEmbedded({
      profile: spike,
      target: gateway,
      token: process.env["FIREDRILL_GATEWAY_TOKEN"] ?? "",
    });
    const p95 = (key: string) => result.data.metrics[key]?.values["p(95)"] ?? Number.NaN;
    const reqs = result.data.metrics["http_reqs"]!.values;
    console.log(
      `spike (${values["spike-duration"]}, up to 1000 VUs) on ${values.gateway ? gateway : "the stand-in"}: ` +
        `${reqs["count"]} requests, mint p95 ${p95("http_req_duration{scenario:mint}").toFixed(1)} ms, ` +
        `redeem p95 ${p95("http_req_duration{scenario:redeem}").toFixed(1)} ms (target < 1000 ms)`,
    );
  }
} finally {
  await target.stop();
}
