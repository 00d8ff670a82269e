/**
 * `firedrill run <files...>` and `firedrill drill`: run scenarios against the system
 * under test and gate on their verdicts.
 *
 * Exit: 0 every verdict passed; 1 a verdict failed (or the run was aborted by a safety
 * stop); 2 bad input; 3 the lab or the SUT could not be brought up; 4 firedrill itself
 * failed (a bug, or it could not write its journal or reports); 130 interrupted (every
 * fault healed, journal written).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { durationProblem, formatDuration, parseDuration } from "../duration.ts";
import { FiredrillError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { chainSetOf, fixedPorts, type LabConfig, loadLabConfig } from "../lab/config.ts";
import { chainSetOfLab, readLabInfo } from "../lab/index.ts";
import { EMBEDDED_CHAINS, type LabChainSet } from "../names.ts";
import { REPORTS_DIR, SCENARIOS_DIR } from "../paths.ts";
import { seededRandom } from "../random.ts";
import { junitFromJournals } from "../report/junit.ts";
import { markdownSummary } from "../report/markdown.ts";
import { loadAlertMap } from "./alert-map.ts";
import type { AlertsEndpoint } from "./alert-sink.ts";
import type { Journal, TimelineEvent } from "./journal.ts";
import type { People } from "./people.ts";
import { type RunResult, runScenario } from "./run.ts";
import { loadScenario, type Scenario, scheduledMs } from "./scenario.ts";
import type { SutChoice } from "./sut.ts";
import { defaultMapPath, loadSystemsMap, type SystemsMap } from "./systems-map.ts";

const RUN_USAGE = `usage: firedrill run <scenario.yml...> [--seed N] [--junit FILE] [--summary FILE] [--journal-dir DIR]
                     [--sut "<command>" | --sut-url URL] [--lab-dir DIR | --lab-config lab.yml] [--map FILE] [--dry-run]
                     [--alerts alerts.yml] [--alerts-listen HOST:PORT] [--alerts-url URL]
                     [--start-jitter DURATION] [--parallel N] [--detection-delay-ms N] [--gateway-delay-ms N]`;
const DRILL_USAGE = `usage: firedrill drill [--seed N] [--tier N] [--junit FILE] [--journal-dir DIR]
                       [--sut "<command>" | --sut-url URL] [--lab-dir DIR | --lab-config lab.yml] [--alerts alerts.yml]
                       [--alerts-listen HOST:PORT] [--alerts-url URL] [--start-jitter DURATION]`;

/** `drill`'s start jitter unless told otherwise: a drill is unannounced, its moment too. */
export const DRILL_START_JITTER_MS = 10_000;

/** The most a start jitter may be: it delays every drill by up to that much. */
const MAX_START_JITTER_MS = 10 * 60_000;

export const OPTIONS = {
  seed: { type: "string" },
  junit: { type: "string" },
  summary: { type: "string" },
  "journal-dir": { type: "string" },
  sut: { type: "string" },
  "sut-url": { type: "string" },
  "lab-dir": { type: "string" },
  "lab-config": { type: "string" },
  map: { type: "string" },
  alerts: { type: "string" },
  "alerts-listen": { type: "string" },
  "alerts-url": { type: "string" },
  "start-jitter": { type: "string" },
  parallel: { type: "string" },
  tier: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  "detection-delay-ms": { type: "string" },
  "gateway-delay-ms": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

function parse(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(`${(error as Error).message}\n${usage}`);
  }
}

export function wholeNumber(name: string, text: string | undefined, max = 2 ** 32 - 1): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw usageError(`--${name}: expected a whole number from 0 to ${max}, got "${text}"`);
  return n;
}

/**
 * `--parallel N`: how many scenarios run at once, each on a lab, a SUT and an alert
 * receiver of its own. What every run would share is refused: an attached lab or SUT, and
 * a fixed address for the alert receiver.
 */
export function parallelRuns(values: ReturnType<typeof parse>["values"], scenarios: number): number {
  const n = wholeNumber("parallel", values.parallel, 64) ?? 1;
  if (n === 0) throw usageError("--parallel: at least 1");
  if (n === 1) return 1;
  if (n > scenarios)
    throw usageError(
      `--parallel ${n} for ${scenarios} scenario${scenarios === 1 ? "" : "s"}: at most ${scenarios}`,
    );
  const shared: [string, boolean][] = [
    ["--lab-dir (each run brings up a lab of its own)", values["lab-dir"] !== undefined],
    ["--sut-url (each run starts a system under test of its own)", values["sut-url"] !== undefined],
    [
      "--alerts-listen with a port (each run's receiver needs a port of its own)",
      values["alerts-listen"] !== undefined && !/:0$/.test(values["alerts-listen"]),
    ],
    ["--alerts-url (each run's receiver has a URL of its own)", values["alerts-url"] !== undefined],
  ];
  const clash = shared.find(([, given]) => given);
  if (clash) throw usageError(`--parallel ${n} cannot share ${clash[0]}`);
  return n;
}

/**
 * `--start-jitter DURATION`: the most the first injection is put off, drawn from the seed;
 * `0s` turns it off. `fallback` when the option is absent.
 */
export function startJitter(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const problem = durationProblem(text);
  if (problem !== undefined) throw usageError(`--start-jitter: ${problem}`);
  const ms = parseDuration(text);
  if (ms > MAX_START_JITTER_MS)
    throw usageError(`--start-jitter: at most ${formatDuration(MAX_START_JITTER_MS)}, got ${text}`);
  return ms;
}

/**
 * Where the alert receiver listens, and the URL the system under test is given for it:
 * loopback on a free port by default; `--alerts-listen HOST:PORT` for a stack running
 * elsewhere (every delivery must still carry the run's credentials), and `--alerts-url` when
 * the stack reaches that address by another name (a tunnel, a load balancer).
 */
export function alertsEndpoint(values: {
  "alerts-listen"?: string | undefined;
  "alerts-url"?: string | undefined;
}): AlertsEndpoint {
  const endpoint: AlertsEndpoint = { host: "127.0.0.1", port: 0 };
  const listen = values["alerts-listen"];
  if (listen !== undefined) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
    const port = match === null ? Number.NaN : Number(match[2]);
    if (match === null || port > 65_535) {
      throw usageError(`--alerts-listen: expected HOST:PORT (e.g. 0.0.0.0:9700), got "${listen}"`);
    }
    endpoint.host = match[1]!.replace(/^\[|\]$/g, "");
    endpoint.port = port;
  }
  const url = values["alerts-url"];
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usageError(`--alerts-url: not a URL: "${url}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw usageError(`--alerts-url: expected an http or https URL, got "${url}"`);
    }
    if (parsed.username !== "" || parsed.password !== "") {
      throw usageError(
        "--alerts-url: credentials do not belong in the URL: the run's secret authenticates deliveries",
      );
    }
    endpoint.publicUrl = url.replace(/\/+$/, "");
  }
  return endpoint;
}

export function sutChoice(values: ReturnType<typeof parse>["values"]): SutChoice {
  if (values.sut !== undefined && values["sut-url"] !== undefined)
    throw usageError("--sut and --sut-url exclude each other");
  if (values.sut !== undefined) {
    if (values.sut.trim() === "") throw usageError("--sut: the command is empty");
    return { kind: "command", command: values.sut };
  }
  if (values["sut-url"] !== undefined) {
    let url: URL;
    try {
      url = new URL(values["sut-url"]);
    } catch {
      throw usageError(`--sut-url: not a URL: "${values["sut-url"]}"`);
    }
    return { kind: "url", url: url.toString() };
  }
  return {
    kind: "reference",
    // Both slow the reference stack down on purpose, to show that a verdict can fail.
    detectionDelayMs: wholeNumber("detection-delay-ms", values["detection-delay-ms"], 600_000),
    gatewayDelayMs: wholeNumber("gateway-delay-ms", values["gateway-delay-ms"], 600_000),
  };
}

/** One line per timeline event: what a CI log shows. On a terminal, phases also show against the RTO. */
function progress(
  io: Io,
  scenario: Scenario,
): (event: TimelineEvent, context: { beforeInjection: boolean }) => void {
  const tty = process.stderr.isTTY === true;
  const rto = formatDuration(scenario.rtoMs);
  return (event, { beforeInjection }) => {
    const t = beforeInjection ? "setup" : `+${(event.t_ms / 1000).toFixed(2)}s`;
    const line = `${t.padStart(9)}  ${event.kind.padEnd(14)}  ${event.summary}`;
    io.err(tty && event.kind === "phase.reached" ? `\x1b[1m${line}  (RTO ${rto})\x1b[0m` : line);
  };
}

/**
 * Progress of one of several runs at once: a line per fault injected or healed, per phase
 * reached and per alert, named by its scenario; the full timeline is in its journal.
 */
function compactProgress(
  io: Io,
  prefix: string,
): (event: TimelineEvent, context: { beforeInjection: boolean }) => void {
  const shown = new Set([
    "fault.injected",
    "fault.healed",
    "phase.reached",
    "alert.received",
    "probe.failed",
  ]);
  return (event, { beforeInjection }) => {
    if (beforeInjection || !shown.has(event.kind)) return;
    io.err(`${prefix}+${(event.t_ms / 1000).toFixed(2)}s  ${event.kind.padEnd(14)}  ${event.summary}`);
  };
}

function verdictLines(journal: Journal): string[] {
  const lines = journal.verdicts.map((v) => `  ${v.passed ? "PASS" : "FAIL"}  ${v.name}: ${v.reason}`);
  const passed = journal.verdicts.filter((v) => v.passed).length;
  const ph = journal.phases;
  const fmt = (ms: number | null) => (ms === null ? "-" : formatDuration(Math.round(ms)));
  return [
    `${journal.scenario.name} (seed ${journal.seed}): ${journal.status.toUpperCase()}, ${passed}/${journal.verdicts.length} verdicts passed`,
    `  detection ${fmt(ph.detection_ms)}  response ${fmt(ph.response_ms)}  mitigation ${fmt(ph.mitigation_ms)}  recovery ${fmt(ph.recovery_ms)}  (RTO ${formatDuration(journal.systems.rto_seconds * 1000)}, ${journal.systems.rto_system})`,
    ...lines,
    ...humanLines(journal),
  ];
}

/** A GameDay's people in the summary: every page and step, with who and when. */
function humanLines(journal: Journal): string[] {
  if (!journal.gameday) return [];
  const events = journal.timeline.filter((e) => /^(page|human)\./.test(e.kind));
  return [
    "  people:",
    ...(events.length === 0
      ? ["    nobody was paged"]
      : events.map((e) => `    +${(e.t_ms / 1000).toFixed(1)}s  ${e.kind.padEnd(18)}  ${e.summary}`)),
  ];
}

/** What a GameDay adds to a run: its people, and what it does with each finished run. */
export interface RunExtras {
  people?: (scenario: Scenario) => People;
  after?: (result: RunResult, io: Io) => void;
}

/** Runs scenarios one after another; stops early only when interrupted. */
export async function runAll(
  scenarios: Scenario[],
  map: SystemsMap,
  values: ReturnType<typeof parse>["values"],
  io: Io,
  seed: number | undefined,
  startJitterMs: number,
  lab: LabChoice,
  parallel = 1,
  extras: RunExtras = {},
): Promise<number> {
  const sut = sutChoice(values);
  const alertMap = values.alerts === undefined ? undefined : loadAlertMap(values.alerts, map);
  const alerts = alertsEndpoint(values);
  if (!/^(127\.|::1$|localhost$)/.test(alerts.host)) {
    io.err(
      `firedrill: the alert receiver listens on ${alerts.host}:${alerts.port}, beyond this machine; every delivery must still carry the run's credentials`,
    );
  }
  const journalDir = resolve(values["journal-dir"] ?? REPORTS_DIR);
  const interrupt = new AbortController();
  const hurry = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      io.err(
        `firedrill: ${signal}: healing every fault and stopping (again to skip waiting; the healing always runs)`,
      );
      interrupt.abort();
    } else {
      io.err(`firedrill: ${signal} again: skipping every wait; still healing`);
      hurry.abort();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  const results: (RunResult | undefined)[] = [];
  const runOne = async (scenario: Scenario, i: number, prefix: string): Promise<void> => {
    io.err(
      `${prefix}firedrill: ${scenario.name}: tier ${scenario.tier}, RTO ${formatDuration(scenario.rtoMs)} (${scenario.blastRadius.length} systems in the blast radius)`,
    );
    const result = await runScenario(scenario, map, {
      seed,
      journalDir,
      sut,
      labDir: values["lab-dir"],
      ...(lab.config === undefined ? {} : { labConfig: lab.config }),
      alertMap,
      alerts,
      startJitterMs,
      interrupt: interrupt.signal,
      hurry: hurry.signal,
      onEvent: parallel > 1 ? compactProgress(io, prefix) : progress(io, scenario),
      onLog: parallel > 1 ? () => {} : (line) => io.err(`  ${line}`),
      people: extras.people?.(scenario),
    });
    results[i] = result;
    extras.after?.(result, io);
    // A finished run's verdicts come out as one block, whatever the others are doing.
    io.out(
      [...verdictLines(result.journal), `  journal ${result.path}`].map((l) => `${prefix}${l}`).join("\n"),
    );
  };
  try {
    if (parallel <= 1) {
      for (const [i, scenario] of scenarios.entries()) {
        if (interrupt.signal.aborted) break;
        await runOne(scenario, i, "");
      }
    } else {
      // A pool of `parallel` workers, each taking the next scenario, the longest fault
      // schedules first; each run has a lab, a SUT and an alert receiver of its own, and the
      // first signal interrupts them all. Results stay in the scenarios' order.
      const width = Math.max(...scenarios.map((s) => s.name.length));
      const order = scenarios
        .map((_, i) => i)
        .sort((a, b) => scheduledMs(scenarios[b]!) - scheduledMs(scenarios[a]!));
      let next = 0;
      const worker = async () => {
        while (next < order.length && !interrupt.signal.aborted) {
          const i = order[next++]!;
          await runOne(scenarios[i]!, i, `[${scenarios[i]!.name.padEnd(width)}] `);
        }
      };
      const settled = await Promise.allSettled(Array.from({ length: parallel }, worker));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
  }
  const finished = results.filter((r): r is RunResult => r !== undefined);
  const journals = finished.map((r) => r.journal);
  if (values.junit) writeReport(values.junit, junitFromJournals(journals));
  if (values.summary) writeReport(values.summary, journals.map(markdownSummary).join("\n\n"));
  if (finished.some((r) => r.status === "interrupted") || interrupt.signal.aborted) return 130;
  return finished.every((r) => r.passed) ? 0 : 1;
}

/** Writes a report file (--junit, --summary) after the drills; its directory is made first. */
function writeReport(file: string, text: string): void {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, text);
  } catch (error) {
    throw new FiredrillError("FD511", `could not write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The lab the runs use: attached, brought up from a lab.yml, or the embedded one; and its chains. */
export interface LabChoice {
  chains: LabChainSet;
  config?: LabConfig;
}

export function labChoice(values: ReturnType<typeof parse>["values"]): LabChoice {
  const file = values["lab-config"];
  const dir = values["lab-dir"];
  if (file !== undefined && dir !== undefined)
    throw usageError("--lab-dir and --lab-config exclude each other: an attached lab has its configuration");
  if (file !== undefined) {
    const config = loadLabConfig(file);
    return { chains: chainSetOf(config, file), config };
  }
  if (dir !== undefined)
    return { chains: chainSetOfLab(readLabInfo(join(dir, "lab.json")), `the lab in ${dir}`) };
  return { chains: EMBEDDED_CHAINS };
}

/** `firedrill run`. */
export async function command(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, RUN_USAGE);
  if (values.help) {
    io.out(RUN_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw usageError(`no scenario given\n${RUN_USAGE}`);
  const seed = wholeNumber("seed", values.seed);
  // Everything is validated before anything starts.
  const files = positionals.flatMap((p) =>
    p.endsWith(".yml") || p.endsWith(".yaml")
      ? [p]
      : readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f) && !/^(systems-map|kpis)\.ya?ml$/.test(f))
          .map((f) => join(p, f)),
  );
  const map = loadSystemsMap(values.map ?? defaultMapPath(files[0]));
  const parallel = parallelRuns(values, files.length);
  const lab = labChoice(values);
  const scenarios = files.map((file) => loadScenario(file, map, lab.chains));
  sutChoice(values);
  alertsEndpoint(values);
  const jitter = startJitter(values["start-jitter"], 0);
  const fixed = lab.config === undefined ? [] : fixedPorts(lab.config);
  if (parallel > 1 && fixed.length > 0)
    throw usageError(
      `--parallel ${parallel} cannot share the ports ${values["lab-config"]} fixes (${fixed[0]![0].join(".")}: ${fixed[0]![1]}): each run brings up a lab of its own`,
    );
  if (values["dry-run"]) {
    if (values.alerts !== undefined) {
      const alerts = loadAlertMap(values.alerts, map);
      io.out(`${values.alerts}: valid; ${alerts.rules.length} rules`);
    }
    for (const s of scenarios) {
      io.out(
        `${s.name}: valid; tier ${s.tier}, RTO ${formatDuration(s.rtoMs)}, ${s.faults.length} faults: ${s.faults.map((f) => f.type).join(", ")}`,
      );
    }
    return 0;
  }
  return runAll(scenarios, map, values, io, seed, jitter, lab, parallel);
}

/** Shipped scenarios, by file name. */
export function shippedScenarios(): string[] {
  const dir = SCENARIOS_DIR;
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^(systems-map|kpis)\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** `firedrill drill`: an unannounced drill, a scenario picked at random with a seed that replays it. */
export async function drillCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, DRILL_USAGE);
  if (values.help) {
    io.out(DRILL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`drill takes no scenario: it picks one\n${DRILL_USAGE}`);
  if (values.parallel !== undefined) throw usageError("drill runs one scenario: --parallel is for run");
  const seed = wholeNumber("seed", values.seed) ?? Math.floor(Math.random() * 2 ** 31);
  const tier = wholeNumber("tier", values.tier, 9);
  const jitter = startJitter(values["start-jitter"], DRILL_START_JITTER_MS);
  const map = loadSystemsMap(values.map ?? defaultMapPath());
  const lab = labChoice(values);
  const pick = pickShipped(map, lab, seed, tier);
  io.out(
    `firedrill drill: seed ${seed} picked ${pick.name} (tier ${pick.tier}); replay with \`firedrill drill --seed ${seed}${tier === undefined ? "" : ` --tier ${tier}`}${values["start-jitter"] === undefined ? "" : ` --start-jitter ${values["start-jitter"]}`}\``,
  );
  return runAll([pick], map, values, io, seed, jitter, lab);
}

/** The shipped scenario an unannounced drill runs: drawn from the seed among those of `tier` that fit the lab. */
export function pickShipped(
  map: SystemsMap,
  lab: LabChoice,
  seed: number,
  tier: number | undefined,
): Scenario {
  const candidates = shippedScenarios()
    .map((file) => loadScenario(file, map))
    .filter((s) => tier === undefined || s.tier === tier)
    .flatMap((s) => {
      // A shipped scenario fits the embedded lab; one naming a chain this lab lacks is left out.
      try {
        return [loadScenario(s.file, map, lab.chains)];
      } catch (error) {
        if (error instanceof FiredrillError) return [];
        throw error;
      }
    });
  if (candidates.length === 0)
    throw usageError(
      `no shipped scenario${tier === undefined ? "" : ` of tier ${tier}`} fits the chains of ${lab.chains.from} (${lab.chains.names.join(", ")})`,
    );
  return candidates[seededRandom(seed).fork("drill").int(candidates.length)]!;
}
