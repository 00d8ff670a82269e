/**
 * `firedrill load`: runs a load profile against the gateway with k6 (when found) or the
 * embedded engine, prints the budgets and exits like k6 (99 when a threshold failed);
 * `--emit k6-operator` writes the Kubernetes manifests to run it distributed instead.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../duration.ts";
import { usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { checkTarget, type Engine, type LoadProgress, prepareProfile, runLoad } from "./index.ts";
import { K6_THRESHOLDS_FAILED } from "./k6.ts";
import { writeK6OperatorManifests } from "./operator.ts";
import { profileNames } from "./profile.ts";

/** A run's length to the second (to the millisecond under a second), like k6 prints it. */
const roughly = (ms: number): string => formatDuration(ms < 1000 ? ms : Math.round(ms / 1000) * 1000);

const HELP = [
  "usage: firedrill load [--profile NAME|FILE] [--engine k6|embedded] [--target URL] [--duration D]",
  "                      [--summary FILE] [--allow-remote]",
  "       firedrill load --emit k6-operator --parallelism N [--out DIR] [--profile NAME] [--target URL]",
  "",
  "  --profile       a profile of load/profiles/ or a .json file (default smoke)",
  "  --engine        k6 or embedded (default: k6 when found on PATH, K6_BIN or .tools/bin, else embedded)",
  "  --target        gateway base URL (default http://127.0.0.1:$FIREDRILL_SUT_PORT); loopback only",
  "  --duration      stretch or shrink the profile's schedule to this duration (30s, 5m)",
  "  --summary       write the summary JSON (k6 handleSummary shape) to FILE",
  "  --allow-remote  allow a target that is not loopback",
  "  --emit          k6-operator: write a TestRun and its ConfigMap to --out (default reports/k6-operator)",
  "Exit: 0 every threshold held, 99 a threshold failed, 2 bad input, 3 target not answering.",
];

/** `firedrill load ...`; returns the exit status. */
export async function command(args: string[], io: Io): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        profile: { type: "string", default: "smoke" },
        engine: { type: "string" },
        target: { type: "string" },
        duration: { type: "string" },
        summary: { type: "string" },
        "allow-remote": { type: "boolean", default: false },
        emit: { type: "string" },
        parallelism: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError(`load: ${(error as Error).message}`);
  }
  if (values["help"]) {
    for (const line of HELP) io.out(line);
    io.out(`Profiles: ${profileNames().join(", ")}`);
    return 0;
  }
  const profileName = values["profile"] as string;
  const port = process.env["FIREDRILL_SUT_PORT"];
  const target = (values["target"] as string | undefined) ?? (port ? `http://127.0.0.1:${port}` : undefined);
  const allowRemote = values["allow-remote"] === true;

  if (values["emit"] !== undefined) {
    if (values["emit"] !== "k6-operator") throw usageError(`--emit ${values["emit"]}: only k6-operator`);
    const parallelism = Number(values["parallelism"] ?? "1");
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 1000) {
      throw usageError(`--parallelism ${values["parallelism"]}: a whole number from 1 to 1000`);
    }
    const profile = prepareProfile(profileName, values["duration"] as string | undefined);
    const outDir = resolve((values["out"] as string | undefined) ?? "reports/k6-operator");
    const files = writeK6OperatorManifests(
      { profile, parallelism, target: target ?? "http://firedrill-gateway:8080" },
      outDir,
    );
    for (const file of files) io.out(`wrote ${file}`);
    io.out(`apply: kubectl apply -f ${files[0]} -f ${files[1]}  (see load/README.md)`);
    return 0;
  }

  if (target === undefined) throw usageError("load: --target URL is needed (or FIREDRILL_SUT_PORT)");
  const engine = values["engine"] as string | undefined;
  if (engine !== undefined && engine !== "k6" && engine !== "embedded") {
    throw usageError(`--engine ${engine}: k6 or embedded`);
  }
  checkTarget(target, allowRemote);

  const live = process.stderr.isTTY === true;
  const onProgress = (p: LoadProgress) => {
    if (p.kind === "line") {
      if (p.line.trim()) io.out(p.line);
      return;
    }
    if (!live) return;
    const line =
      `  ${roughly(p.elapsedMs).padStart(6)}  VUs ${String(p.vus).padStart(5)}  ` +
      `${p.rps.toFixed(0).padStart(7)} req/s  p95 ${p.p95Ms.toFixed(1)} ms  ${p.requests} requests`;
    process.stderr.write(`\r${line}\x1b[K`);
  };
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let summary: Awaited<ReturnType<typeof runLoad>>;
  try {
    summary = await runLoad({
      profile: profileName,
      target,
      engine: (engine as Engine | undefined) ?? "auto",
      allowRemote,
      signal: controller.signal,
      onProgress,
      ...(values["duration"] === undefined ? {} : { duration: values["duration"] as string }),
    });
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    if (live) process.stderr.write("\r\x1b[K");
  }

  if (values["summary"] !== undefined) {
    writeFileSync(resolve(values["summary"] as string), `${JSON.stringify(summary.data, null, 2)}\n`);
  }
  const trend = (key: string) => summary.data.metrics[key]?.values;
  io.out(
    `load ${summary.profile} on ${summary.engine}: ${summary.requests} requests in ` +
      `${roughly(summary.durationMs)} (${summary.requestsPerSecond.toFixed(0)}/s)` +
      (summary.aborted ? ", stopped early" : ""),
  );
  for (const key of ["http_req_duration{scenario:mint}", "http_req_duration{scenario:redeem}"]) {
    const v = trend(key);
    if (v) io.out(`  ${key}  p50 ${v["med"]?.toFixed(2)} ms  p95 ${v["p(95)"]?.toFixed(2)} ms`);
  }
  for (const t of summary.thresholds) io.out(`  ${t.ok ? "ok  " : "FAIL"} ${t.metric} ${t.expression}`);
  if (!summary.thresholdsOk) {
    io.err("firedrill: load thresholds failed (exit 99, like k6)");
    return K6_THRESHOLDS_FAILED;
  }
  return 0;
}
