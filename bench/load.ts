/**
 * Requests per second of the embedded engine against k6 (the anchor), in one run, on the
 * same loopback stand-in gateway (its own process), at 100 VUs: the `normal` profile's
 * mint/redeem mix shrunk to a few seconds.
 *   node bench/load.ts [--seconds 10] [--vus 100] [--latency-ms 0] [--rounds 2]
 * With `--spike`, it then runs the `spike` profile (100 -> 1000 VUs over its full schedule, or
 * shrunk to `--spike-duration`) with `--engine` (auto: k6 when found, as a drill does) against
 * the reference stack's gateway on a lab of its own (or against `--gateway URL`, token from
 * FIREDRILL_GATEWAY_TOKEN), and prints mint and redeem p95 as a share of their budgets
 * (target: at most 70%) and the success rate against its budget; on its own lab, first the
 * chain's own p95 for the same vault call at 1000 concurrent senders (the anchor: no gateway
 * beats its chain). `--rounds 0` skips the engine comparison.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { releaseAll } from "../harness/errors.ts";
import { defaultLabConfig } from "../harness/lab/config.ts";
import { labChain, startLab } from "../harness/lab/index.ts";
import { runEmbedded } from "../harness/loadgen/engine.ts";
import { runLoad } from "../harness/loadgen/index.ts";
import { findK6, runK6 } from "../harness/loadgen/k6.ts";
import type { SummaryData } from "../harness/loadgen/metrics.ts";
import { loadProfile, maxVus, type ProfileData } from "../harness/loadgen/profile.ts";
import { parseThresholdExpression } from "../harness/loadgen/thresholds.ts";
import { startProcess } from "../harness/process.ts";
import { startAlertSink } from "../harness/runner/alert-sink.ts";
import { runSecrets, startSut } from "../harness/runner/sut.ts";
import { rawVaultMints } from "./support.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    vus: { type: "string", default: "100" },
    "latency-ms": { type: "string", default: "0" },
    rounds: { type: "string", default: "2" },
    spike: { type: "boolean", default: false },
    "spike-duration": { type: "string" },
    engine: { type: "string", default: "auto" },
    gateway: { type: "string" },
    "max-mints-in-flight": { type: "string" },
  },
});
/** Alerts the reference stack posted during the spike, by event. */
const alertCounts = new Map<string, number>();

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
    fileURLToPath(new URL("../harness/testing/load-target.ts", import.meta.url)),
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
  if (values.spike) await spikeOnGateway();
} finally {
  await target.stop();
}

/** The limit of the first budget on `metric` in the spike profile, read by the engine's own parser. */
function budgetOf(thresholds: ProfileData["thresholds"], metric: string): number {
  const first = ((thresholds?.[metric] ?? []) as unknown[])[0];
  if (first === undefined) throw new Error(`the spike profile has no budget on ${metric}`);
  const source = typeof first === "string" ? first : (first as { threshold: string }).threshold;
  return parseThresholdExpression(source).value;
}

/** The spike on the reference gateway of a lab of its own (or on `--gateway`), against its budgets. */
async function spikeOnGateway(): Promise<void> {
  const releases: (() => Promise<unknown>)[] = [];
  try {
    let gateway = values.gateway;
    let token = process.env["FIREDRILL_GATEWAY_TOKEN"] ?? "";
    if (gateway === undefined) {
      const dir = mkdtempSync(join(tmpdir(), "firedrill-bench-load-"));
      releases.push(async () => rmSync(dir, { recursive: true, force: true }));
      const lab = await startLab(defaultLabConfig(), { dir: join(dir, "lab") });
      releases.push(() => lab.down());
      // The anchor: the chain alone, 1000 senders each waiting for its receipt, before the
      // gateway's spike grows its state.
      const eth = labChain(lab.info, "ethereum");
      const raw = await rawVaultMints(
        { url: eth.nodeUrl, chainId: eth.chainId, vault: eth.contracts!.vault },
        lab.info.accounts.operator.privateKey,
        lab.info.accounts.users[0]!.address,
        5000,
        1000,
      );
      console.log(
        `raw anvil vault.mint, 1000 concurrent senders (the anchor): ${raw.perSecond.toFixed(0)}/s, ` +
          `p95 ${raw.p95.toFixed(1)} ms, failed ${raw.failed}${raw.firstError ? ` (first: ${raw.firstError})` : ""}`,
      );
      const secrets = runSecrets();
      const sink = await startAlertSink(secrets.webhookSecret, {
        onAlert: (alert) => alertCounts.set(alert.event, (alertCounts.get(alert.event) ?? 0) + 1),
      });
      releases.push(() => sink.close());
      const sut = await startSut(
        {
          kind: "reference",
          ...(values["max-mints-in-flight"]
            ? { maxMintsInFlight: Number(values["max-mints-in-flight"]) }
            : {}),
        },
        lab.info,
        join(lab.info.dir, "lab.json"),
        {
          webhookUrl: sink.url,
          webhookSecret: secrets.webhookSecret,
          gatewayToken: secrets.gatewayToken,
          dataDir: join(dir, "stack"),
        },
      );
      releases.push(() => sut.stop());
      gateway = sut.url;
      token = sut.token;
    }
    const spike = loadProfile("spike").data;
    alertCounts.clear();
    const duration = values["spike-duration"];
    const summary = await runLoad({
      profile: "spike",
      target: gateway,
      token,
      engine: values.engine as "auto" | "k6" | "embedded",
      ...(duration === undefined ? {} : { duration }),
    });
    const row = (name: string) => summary.byScenario.find((r) => r.name === name)!;
    const all = row("all");
    console.log(
      `spike (${duration ?? "the profile's full schedule"}, up to ${maxVus(spike)} VUs, ${summary.engine}) on ` +
        `${values.gateway ? gateway : "the reference gateway, lab of its own"}: ${all.requests} requests ` +
        `in ${(summary.durationMs / 1000).toFixed(0)} s, ${summary.requestsPerSecond.toFixed(0)} req/s`,
    );
    for (const name of ["mint", "redeem"]) {
      const budget = budgetOf(spike.thresholds, `http_req_duration{scenario:${name}}`);
      const p95 = row(name).p95Ms;
      const share = p95 / budget;
      console.log(
        `  ${name.padEnd(6)} p95 ${p95.toFixed(0).padStart(6)} ms of its ${budget} ms budget: ${(share * 100).toFixed(1)}% ` +
          `(target <= 70%: ${share <= 0.7 ? "met" : "MISSED"}), p50 ${row(name).p50Ms.toFixed(0)} ms, ` +
          `p99 ${row(name).p99Ms.toFixed(0)} ms, ${row(name).requests} requests, ${row(name).failures} failed`,
      );
    }
    const floor = budgetOf(spike.thresholds, "success");
    const success = all.successRate ?? Number.NaN;
    console.log(
      `  success ${(success * 100).toFixed(3)}% against the budget > ${(floor * 100).toFixed(1)}% ` +
        `(${success > floor ? "met" : "MISSED"})`,
    );
    if (!values.gateway) {
      // A healthy stack under load alerts on nothing: each alert here is a false alarm the
      // load raised (a busy chain taken for a dead one), and a likely cause of failed requests.
      const alerts = [...alertCounts].map(([event, n]) => `${n} ${event}`).join(", ");
      console.log(`  alerts during the spike: ${alerts || "none"}`);
    }
  } finally {
    // Every step runs, last started first; a failing one does not hide the numbers printed.
    await releaseAll(releases).catch(() => undefined);
  }
}
