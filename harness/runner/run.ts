/**
 * The runner: validate -> lab up (or attach) -> steady state -> optional load -> faults on
 * their schedule -> phase times from verified alerts and probes -> heal every fault ->
 * wait for steady state -> invariants -> verdicts -> journal.
 *
 * Healing happens always: on success, on a failed verdict, on an exception, on an abort
 * condition and on interruption. Every acquired resource pushes its release on one LIFO
 * list, emptied in `finally`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { formatDuration } from "../duration.ts";
import { FiredrillError, releaseAll } from "../errors.ts";
import type { FaultContext, FaultProof, Injected } from "../faults/context.ts";
import { type Fault, faultDefinition } from "../faults/index.ts";
import { anvilBinary, rpcCall } from "../lab/anvil.ts";
import type { LabConfig } from "../lab/config.ts";
import { type LabInfo, readLabInfo, startLab } from "../lab/index.ts";
import { ALL } from "../loadgen/tally.ts";
import { REPORTS_DIR, ROOT, STATE_DIR } from "../paths.ts";
import { isAlive, sleep } from "../process.ts";
import { seededRandom } from "../random.ts";
import { redact } from "../redact.ts";
import { type Alert, startAlertSink } from "./alert-sink.ts";
import { chainReader } from "./chain-reader.ts";
import { incidentAlert, remediationPlan } from "./incident.ts";
import { type AcceptedRedemption, checkInvariants } from "./invariants.ts";
import type {
  Invariant,
  Journal,
  JournalDraft,
  LoadSummary as JournalLoad,
  TimelineEvent,
  Verdict,
} from "./journal.ts";
import { journalId, writeJournal } from "./journal.ts";
import { readKpis } from "./kpi-snapshot.ts";
import { ALERT_PHASES, type Phase, PhaseClock } from "./phases.ts";
import { abortWatch, checkProbe, type ProbeTarget, probeName } from "./probe-check.ts";
import type { Scenario } from "./scenario.ts";
import { runSecrets, type SutChoice, startSut } from "./sut.ts";
import type { SystemsMap } from "./systems-map.ts";

export type RunStatus = Journal["status"];

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number | undefined;
  /** Where the journal goes. @default reports/ */
  journalDir?: string;
  sut?: SutChoice;
  /** Attach to the lab whose lab.json is in this folder instead of starting one. */
  labDir?: string | undefined;
  labConfig?: LabConfig;
  /** First interruption: heal now, skip the rest, journal as `interrupted`. */
  interrupt?: AbortSignal;
  /** Second interruption: also skip every wait (never the healing). */
  hurry?: AbortSignal;
  /** Every timeline event as it happens (progress view, tests). */
  onEvent?: (event: TimelineEvent, context: { beforeInjection: boolean }) => void;
  /** Lines about the run's machinery (lab up, SUT up). */
  onLog?: (line: string) => void;
  /** Folder for this run's scratch data (SUT data dir). */
  workDir?: string;
}

export interface RunResult {
  journal: Journal;
  path: string;
  status: RunStatus;
  passed: boolean;
}

/** Steady state must hold within this long before the faults start. */
const STEADY_STATE_TIMEOUT_MS = 30_000;
/** How often probes and abort conditions are checked while faults are active. */
const WATCH_MS = 250;
/** After recovery, how long the runner still waits for an expected phase alert. */
const LATE_ALERT_GRACE_MS = 10_000;

let anvilVersion: string | undefined;
function versionOfAnvil(): string {
  if (anvilVersion) return anvilVersion;
  try {
    anvilVersion = execFileSync(anvilBinary(), ["--version"], { encoding: "utf8" })
      .split("\n")[0]!
      .replace(/^anvil Version: /, "");
  } catch {
    anvilVersion = "unknown";
  }
  return anvilVersion;
}

/** `k6 v1.8.1 (...)` of the k6 binary the load engine would use; null when none is found. */
async function versionOfK6(): Promise<string | null> {
  const { findK6 } = await import("../loadgen/k6.ts");
  const bin = findK6();
  if (!bin) return null;
  try {
    return execFileSync(bin, ["version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** Runs one scenario end to end and writes its journal. */
export async function runScenario(
  scenario: Scenario,
  map: SystemsMap,
  options: RunOptions = {},
): Promise<RunResult> {
  const seed = options.seed ?? scenario.seed ?? 42;
  const random = seededRandom(seed);
  const startedAt = new Date();
  const timeline: TimelineEvent[] = [];
  const notes: string[] = [];
  const releases: Array<() => unknown> = [];
  const log = options.onLog ?? (() => {});
  let t0: number | undefined;
  // t_ms counts from the first injection; events before it are placed once it is known.
  const emit = (event: Omit<TimelineEvent, "at" | "t_ms"> & { atMs?: number }) => {
    const atMs = event.atMs ?? Date.now();
    const { atMs: _, ...rest } = event;
    const full: TimelineEvent = {
      ...rest,
      at: new Date(atMs).toISOString(),
      t_ms: atMs - (t0 ?? startedAt.getTime()),
    };
    timeline.push(full);
    options.onEvent?.(full, { beforeInjection: t0 === undefined || atMs < t0 });
  };

  const interrupt = new AbortController();
  options.interrupt?.addEventListener("abort", () => interrupt.abort(), { once: true });
  if (options.interrupt?.aborted) interrupt.abort();
  let status: RunStatus = "completed";
  let aborted: string | undefined;
  const verdicts: Verdict[] = [];
  let invariants: Invariant[] = [];
  const faultRecords: JournalDraft["faults"] = scenario.faults.map((fault) => ({
    ...(fault.id ? { id: fault.id } : {}),
    type: fault.type,
    params: paramsOf(fault),
    description: faultDefinition(fault.type)?.describe(fault as never) ?? fault.type,
    scheduled_at_ms: fault.at,
    scheduled_for_ms: fault.for ?? null,
    injected_at: null,
    healed_at: null,
    proof: null,
  }));
  // Phase times are fixed in the clock only, which keeps them in phase order.
  const clock = new PhaseClock(scenario.expect);
  const seen = new Set<string>();
  const accepted: AcceptedRedemption[] = [];
  let load: JournalLoad | null = null;
  let lab: LabInfo | undefined;
  let sutName = "none";
  let kpis: Journal["kpis"] = [];
  let deviated = false;

  try {
    // The lab: attach to a running one, or bring one up for this run.
    if (options.labDir) {
      const file = join(options.labDir, "lab.json");
      lab = readLabInfo(file);
      if (!isAlive(lab.pid))
        throw new FiredrillError("FD300", `lab: the lab in ${options.labDir} is not running`);
      log(`attached to the lab in ${options.labDir}`);
    } else {
      const { labConfigSchema } = await import("../lab/config.ts");
      const config = options.labConfig ?? labConfigSchema.parse({ seed });
      // The run's own lab lives in a scratch folder that goes when the lab does: what an
      // auditor needs of it is in the journal.
      const workDir = options.workDir ?? join(STATE_DIR, "runs", `${process.pid}-${startedAt.getTime()}`);
      releases.push(() => rmSync(workDir, { recursive: true, force: true }));
      const up = await startLab(config, { dir: join(workDir, "lab"), onStep: (line) => log(`lab: ${line}`) });
      releases.push(() => up.down());
      lab = up.info;
    }
    const labFile = join(lab.dir, "lab.json");
    const reader = chainReader(lab);

    // Alerts: the SUT's own signals, verified.
    const secrets = runSecrets();
    const onAlert = (alert: Alert) => {
      seen.add(alert.event);
      emit({
        kind: "alert.received",
        atMs: alert.receivedAt,
        name: alert.event,
        severity: alert.severity,
        system: alert.system,
        ...(alert.chain ? { chain: alert.chain } : {}),
        summary: `${alert.event} (${alert.severity}) from ${alert.system}${alert.chain ? ` on ${alert.chain}` : ""}`,
        details: { sent_at: alert.at, ...(alert.details ?? {}) },
      });
      // The clock starts at the first injection: an alert received before it reaches no phase.
      const outcome = clock.alert(alert.event, alert.receivedAt);
      if (outcome.ignored !== null) notes.push(outcome.ignored);
      for (const mark of outcome.reached) {
        emit({
          kind: "phase.reached",
          atMs: mark.atMs,
          name: mark.phase,
          summary: `${mark.phase} reached by ${mark.alert}${mark.via === null ? "" : ` (via ${mark.via})`}`,
          details: { alert: mark.alert, ...(mark.via === null ? {} : { via: mark.via }) },
        });
      }
    };
    const sink = await startAlertSink(secrets.webhookSecret, onAlert);
    releases.push(() => sink.close());

    const sut = await startSut(options.sut ?? { kind: "reference" }, lab, labFile, {
      webhookUrl: sink.url,
      webhookSecret: secrets.webhookSecret,
      gatewayToken: secrets.gatewayToken,
      // A data folder per run: an attached lab outlives runs, and a stack's queue must not.
      dataDir: join(lab.dir, "stack", String(startedAt.getTime())),
    });
    releases.push(() => sut.stop());
    sutName = sut.name;
    log(`system under test: ${sut.name} at ${sut.url}`);
    const target: ProbeTarget = { lab, reader, sutUrl: sut.url };

    // Steady state before anything is injected.
    const steady = await waitSteady(
      scenario,
      target,
      STEADY_STATE_TIMEOUT_MS,
      emit,
      interrupt.signal,
      options.hurry,
    );
    verdicts.push({
      name: "steady state before the faults",
      kind: "steady_state",
      passed: steady.ok,
      reason: steady.ok
        ? "every steady-state probe held"
        : `did not hold within ${STEADY_STATE_TIMEOUT_MS / 1000} s: ${steady.failing.join("; ")}`,
      limit: null,
      measured: null,
    });
    if (!steady.ok) throw new StopRun("failed");

    // Load all through the faults.
    let loadDone: Promise<void> | undefined;
    const loadStop = new AbortController();
    if (scenario.load) {
      const { runLoad } = await import("../loadgen/index.ts");
      emit({ kind: "load.started", name: scenario.load, summary: `load profile ${scenario.load} started` });
      const maxMs = Math.max(...scenario.faults.map((f) => f.at + (f.for ?? 0))) + 15_000;
      loadDone = runLoad({
        profile: scenario.load,
        target: sut.url,
        token: sut.token,
        engine: "auto",
        duration: `${Math.ceil(maxMs / 1000)}s`,
        signal: loadStop.signal,
      }).then((summary) => {
        load = journalLoad(summary, startedAt);
        emit({
          kind: "load.ended",
          name: scenario.load,
          summary: `load ended: ${summary.requests} requests, thresholds ${summary.thresholdsOk ? "held" : "failed"}`,
        });
      });
      releases.push(async () => {
        loadStop.abort();
        await loadDone?.catch(() => {});
      });
      // Let the load reach its stride before the first fault.
      await sleep(2000, interrupt.signal);
    }

    // Faults on their schedule.
    t0 = Date.now();
    let firstApplied = false;
    const ctx: FaultContext = {
      lab,
      rpc: (chain, method, params) =>
        rpcCall(lab!.chains[chain as keyof LabInfo["chains"]].nodeUrl, method, params),
      async control(path, body) {
        const response = await fetch(`${lab!.control}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const reply = (await response.json()) as unknown;
        if (!response.ok)
          throw new Error(`control ${path}: HTTP ${response.status} ${JSON.stringify(reply)}`);
        return reply as never;
      },
      gateway: { url: sut.url, token: sut.token },
      random: random.fork("faults"),
      signal: interrupt.signal,
      log: (line) => log(line),
    };
    const active = new Map<number, Injected>();
    const heal = async (index: number) => {
      const injected = active.get(index);
      if (!injected) return;
      active.delete(index);
      const proof = await injected.heal();
      // A fault that drives the gateway (redemption_run) reports every accepted id when it ends.
      for (const id of acceptedIds(proof)) if (!accepted.some((a) => a.id === id)) accepted.push({ id });
      faultRecords[index]!.healed_at = new Date().toISOString();
      emit({
        kind: "fault.healed",
        fault: index,
        summary: `${scenario.faults[index]!.type} healed: ${proof.summary}`,
        details: proofDetails(proof),
      });
    };
    releases.push(async () => {
      for (const index of [...active.keys()].reverse()) await heal(index);
    });
    const schedule = scenario.faults.map((fault, index) =>
      (async () => {
        await sleep(fault.at, interrupt.signal);
        if (interrupt.signal.aborted || aborted) return;
        const definition = faultDefinition(fault.type);
        if (!definition) throw new FiredrillError("FD209", `unknown fault type ${fault.type}`);
        // The fault is in effect from the moment it is applied; its proof may take a block to come.
        const appliedAt = Date.now();
        // Phases count from the first injection itself, not from the start of the schedule.
        if (!firstApplied) {
          firstApplied = true;
          t0 = appliedAt;
          clock.start(appliedAt);
        }
        const injected = await definition.inject(ctx, fault as never);
        active.set(index, injected);
        faultRecords[index]!.injected_at = new Date(appliedAt).toISOString();
        faultRecords[index]!.proof = {
          ok: injected.proof.tookEffect,
          at: injected.proof.at,
          summary: injected.proof.summary,
          observed: injected.proof.evidence,
        };
        emit({
          kind: "fault.injected",
          atMs: appliedAt,
          fault: index,
          summary: `${faultRecords[index]!.description}`,
        });
        emit({
          kind: "fault.proof",
          fault: index,
          summary: injected.proof.summary,
          details: proofDetails(injected.proof),
        });
        for (const id of acceptedIds(injected.proof)) accepted.push({ id });
        if (!injected.proof.tookEffect)
          notes.push(
            `fault ${fault.id ?? index} (${fault.type}) could not be shown to take effect: ${injected.proof.summary}`,
          );
        if (fault.for !== undefined) {
          await sleep(fault.for, interrupt.signal);
          await heal(index);
        }
      })(),
    );

    // While faults are active: abort conditions, and probe transitions for the timeline.
    const watches = scenario.abort_if.map((condition) => abortWatch(condition, target));
    const faultsDone = Promise.allSettled(schedule);
    let settled = false;
    void faultsDone.then(() => {
      settled = true;
    });
    const probeState = new Map<string, boolean>();
    while (!settled && !interrupt.signal.aborted) {
      for (const watch of watches) {
        const result = await watch.check();
        if (result.trips) {
          aborted = `${watch.name}: ${result.detail}`;
          emit({
            kind: "probe.failed",
            name: watch.name,
            summary: `abort condition tripped: ${result.detail}`,
          });
          interrupt.abort();
          break;
        }
      }
      await recordProbes(scenario, target, probeState, emit);
      await sleep(WATCH_MS, interrupt.signal);
    }
    const outcomes = await faultsDone;
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    // Every fault is healed before anything else is judged.
    for (const index of [...active.keys()].reverse()) await heal(index);
    if (failed) throw failed.reason;
    if (aborted) throw new StopRun("aborted");
    if (interrupt.signal.aborted) throw new StopRun("interrupted");

    // Recovery: the steady state holds again, within the tightest limit that applies.
    const recoveryLimit = scenario.expect.within.recovery ?? scenario.rtoMs;
    const recoveryDeadline = Math.max(0, t0 + recoveryLimit - Date.now()) + 5000;
    const recovered = await waitSteady(
      scenario,
      target,
      recoveryDeadline,
      emit,
      interrupt.signal,
      options.hurry,
    );
    if (!recovered.ok) {
      deviated = true;
      notes.push(`steady state did not hold again: ${recovered.failing.join("; ")}`);
    }
    // An expected alert may trail recovery by a moment.
    const late = Date.now() + LATE_ALERT_GRACE_MS;
    while (
      Date.now() < late &&
      !options.hurry?.aborted &&
      ALERT_PHASES.some((p) => scenario.expect[p] && clock.mark(p) === null)
    ) {
      await sleep(100, options.hurry);
    }
    // Recovery is fixed only now, so that it is never earlier than a phase reached by an
    // alert that trailed the steady state; from here on no alert reaches a phase.
    if (recovered.ok) {
      const mark = clock.recover(recovered.atMs);
      const from = mark.countedFrom === null ? null : clock.mark(mark.countedFrom);
      emit({
        kind: "phase.reached",
        atMs: mark.atMs,
        name: "recovery",
        ...(from === null
          ? { summary: "recovery: steady state holds again" }
          : {
              summary: `recovery: counted from ${from.phase}, reached by ${from.alert} after the steady state held again at ${formatDuration(Math.round(mark.steadyAtMs! - t0))}`,
              details: {
                steady_state_at: new Date(mark.steadyAtMs!).toISOString(),
                counted_from: from.phase,
                alert: from.alert,
              },
            }),
      });
    }
    if (interrupt.signal.aborted) throw new StopRun("interrupted");

    // The load runs its planned course through recovery: stopping it here would cut the
    // slowest requests, the very ones a budget is about.
    await loadDone?.catch((error: Error) => notes.push(`load: ${error.message}`));
    invariants = await checkInvariants(lab, reader, sut, accepted, 60_000);
    kpis = await readKpis(sut.url);
    for (const rejected of sink.rejected())
      notes.push(`a webhook delivery was refused: ${rejected.reason} at ${rejected.at}`);
  } catch (error) {
    if (error instanceof StopRun) status = error.status;
    else if (interrupt.signal.aborted && !aborted) status = "interrupted";
    else {
      // Nothing was injected yet (the lab or the SUT could not be brought up): nothing was
      // drilled, so there is no journal; the error itself says what went wrong.
      if (t0 === undefined) {
        await releaseAll(releases).catch((e: Error) => log(`teardown: ${e.message}`));
        throw error instanceof FiredrillError
          ? error
          : new FiredrillError("FD300", `setting up the drill: ${(error as Error).message}`, {
              cause: error,
            });
      }
      status = "failed";
      notes.push(`the run failed: ${redact((error as Error).message)}`);
    }
  } finally {
    // Heal and stop everything, whatever happened above; errors are gathered, never hidden.
    try {
      await releaseAll(releases);
    } catch (error) {
      notes.push(`teardown: ${(error as Error).message}`);
    }
  }

  if (status === "aborted") {
    verdicts.push({
      name: "abort conditions",
      kind: "steady_state",
      passed: false,
      reason: `aborted: ${aborted}`,
      limit: null,
      measured: null,
    });
  }
  if (status === "interrupted") {
    verdicts.push({
      name: "run completed",
      kind: "steady_state",
      passed: false,
      reason: "interrupted before it could be judged; every fault was healed",
      limit: null,
      measured: null,
    });
  }
  if (status === "completed" || status === "failed")
    verdicts.push(
      ...judge(scenario, clock, seen, faultRecords, invariants, load, deviated, t0 !== undefined),
    );
  const passed = verdicts.length > 0 && verdicts.every((v) => v.passed);
  if (status === "completed" && !passed) status = "failed";

  const origin = t0 ?? startedAt.getTime();
  for (const event of timeline) event.t_ms = Date.parse(event.at) - origin;
  timeline.sort((a, b) => a.t_ms - b.t_ms);
  const journalDir = options.journalDir ?? REPORTS_DIR;
  const phases = clock.times();
  const draft: JournalDraft = {
    version: 1,
    id: journalId(startedAt.toISOString(), scenario.name, seed),
    scenario: {
      name: scenario.name,
      file: relative(ROOT, scenario.file) || scenario.file,
      sha256: scenario.sha256,
      description: scenario.description ?? scenario.name,
      targets: scenario.targets,
      tier: scenario.tier,
    },
    seed,
    time_factor: scenario.time_factor,
    status,
    deviated,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    first_injection_at: t0 === undefined ? null : new Date(t0).toISOString(),
    versions: {
      firedrill: packageVersion(),
      node: process.versions.node,
      anvil: versionOfAnvil(),
      toxiproxy: { kind: lab?.toxiproxy.kind ?? "embedded", version: lab?.toxiproxy.version ?? "unknown" },
      k6: (load as JournalLoad | null)?.engine === "k6" ? await versionOfK6() : null,
      stack: { name: sutName, version: packageVersion() },
    },
    lab: {
      chains: lab
        ? Object.entries(lab.chains).map(([name, chain]) => ({
            name,
            chain_id: chain.chainId,
            block_time_ms: chain.blockTimeMs,
            providers: Object.keys(chain.rpc),
            fork: null,
          }))
        : [],
      sources: lab ? Object.keys(lab.oracles.sources) : [],
    },
    systems: {
      touched: scenario.blastRadius.map((name) => {
        const system = map.systems.get(name)!;
        return {
          name,
          tier: system.tier,
          rto_seconds: (map.tiers.get(system.tier)?.rtoMs ?? scenario.rtoMs) / 1000,
          via: scenario.targets.includes(name) ? ("target" as const) : ("dependent" as const),
        };
      }),
      rto_seconds: scenario.rtoMs / 1000,
      rto_system:
        scenario.blastRadius.find((s) => map.systems.get(s)?.tier === scenario.tier) ?? scenario.targets[0]!,
    },
    timeline,
    faults: faultRecords,
    phases: {
      detection_ms: phases.detection,
      response_ms: phases.response,
      mitigation_ms: phases.mitigation,
      recovery_ms: phases.recovery,
    },
    phase_limits_ms: {
      detection: scenario.expect.within.detection ?? null,
      response: scenario.expect.within.response ?? null,
      mitigation: scenario.expect.within.mitigation ?? null,
      recovery: scenario.expect.within.recovery ?? null,
    },
    mttr_ms: phases.recovery,
    verdicts,
    invariants,
    load,
    kpis,
    alert: incidentAlert(scenario, timeline, status, phases, clock.origin ?? null),
    remediation: remediationPlan(scenario, verdicts, seen),
    notes,
  };
  mkdirSync(journalDir, { recursive: true });
  const { journal, path } = await writeJournal(journalDir, draft);
  return { journal, path, status, passed };
}

class StopRun extends Error {
  readonly status: RunStatus;
  constructor(status: RunStatus) {
    super(status);
    this.status = status;
  }
}

function paramsOf(fault: Fault): Record<string, unknown> {
  const { type: _t, id: _i, at: _a, for: _f, ...params } = fault as Fault & Record<string, unknown>;
  return params;
}

function proofDetails(proof: FaultProof): Record<string, unknown> {
  return { took_effect: proof.tookEffect, ...proof.evidence };
}

function acceptedIds(proof: FaultProof): string[] {
  const ids = proof.evidence["acceptedIds"];
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
}

type Emit = (event: Omit<TimelineEvent, "at" | "t_ms"> & { atMs?: number }) => void;

/** Polls every steady-state probe until all hold at once, or the deadline passes. */
async function waitSteady(
  scenario: Scenario,
  target: ProbeTarget,
  timeoutMs: number,
  emit: Emit,
  interrupt: AbortSignal,
  hurry: AbortSignal | undefined,
): Promise<{ ok: true; atMs: number } | { ok: false; failing: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let failing: string[] = [];
  for (;;) {
    const atMs = Date.now();
    const results = await Promise.all(scenario.steady_state.map((probe) => checkProbe(probe, target)));
    failing = results.flatMap((r, i) =>
      r.ok ? [] : [`${probeName(scenario.steady_state[i]!)}: ${r.detail}`],
    );
    if (failing.length === 0) {
      results.forEach((r, i) => {
        emit({ kind: "probe.ok", atMs, name: probeName(scenario.steady_state[i]!), summary: r.detail });
      });
      return { ok: true, atMs };
    }
    if (Date.now() >= deadline || interrupt.aborted || hurry?.aborted) {
      for (const line of failing) emit({ kind: "probe.failed", name: line.split(":")[0], summary: line });
      return { ok: false, failing };
    }
    await sleep(WATCH_MS, interrupt, hurry);
  }
}

/** Records when a steady-state probe starts or stops holding while the faults are active. */
async function recordProbes(
  scenario: Scenario,
  target: ProbeTarget,
  state: Map<string, boolean>,
  emit: Emit,
): Promise<void> {
  // chain_advancing waits for a block; while faults run, the cheap probes are enough.
  const probes = scenario.steady_state.filter((p) => p.probe !== "chain_advancing");
  const results = await Promise.all(probes.map((probe) => checkProbe(probe, target)));
  results.forEach((result, i) => {
    const name = probeName(probes[i]!);
    const before = state.get(name);
    state.set(name, result.ok);
    // Only changes are news: the first observation repeats what the steady state showed.
    if (before === undefined || before === result.ok) return;
    emit({ kind: result.ok ? "probe.ok" : "probe.failed", name, summary: `${name}: ${result.detail}` });
  });
}

function journalLoad(summary: import("../loadgen/index.ts").LoadSummary, startedAt: Date): JournalLoad {
  const { scenarios } = loadScenarios(summary);
  return {
    profile: summary.profile,
    engine: summary.engine,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    scenarios,
  };
}

interface MetricValues {
  values?: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/**
 * Rows for the journal: one per k6 scenario and `all`, each with its requests, failures,
 * success rate, latency percentiles and histogram. Every threshold of the profile lands in
 * the row it names (untagged ones in `all`) as a budget.
 */
function loadScenarios(summary: import("../loadgen/index.ts").LoadSummary): {
  scenarios: JournalLoad["scenarios"];
} {
  const metrics = (summary.data as unknown as { metrics: Record<string, MetricValues> }).metrics ?? {};
  const seconds = summary.durationMs / 1000 || 1;
  const value = (metric: string, stat: string) => metrics[metric]?.values?.[stat];
  const budget = (t: import("../loadgen/index.ts").ThresholdVerdict) => {
    const [, stat = "value", limit = "0"] =
      t.expression.match(/^\s*([a-z0-9().]+)\s*[<>=!]+\s*([0-9.]+)/) ?? [];
    const measured =
      value(t.metric, stat) ?? value(t.metric, "rate") ?? value(t.metric, "value") ?? Number.NaN;
    return {
      metric: `${t.metric} ${stat}`,
      threshold: t.expression,
      limit: Number(limit),
      measured,
      passed: t.ok,
    };
  };
  const tagOf = (metric: string) => metric.match(/\{scenario:([^}]+)\}/)?.[1];
  const scenarios = summary.byScenario.map((r) => ({
    name: r.name,
    requests: r.requests,
    failures: r.failures,
    rps: r.requests / seconds,
    // No iteration ended: the share of requests that did not fail.
    success_rate: r.successRate ?? (r.requests > 0 ? 1 - r.failures / r.requests : 1),
    p50_ms: r.p50Ms,
    p95_ms: r.p95Ms,
    p99_ms: r.p99Ms,
    max_ms: r.maxMs,
    budgets: summary.thresholds
      .filter((t) => tagOf(t.metric) === (r.name === ALL ? undefined : r.name))
      .map(budget),
    histogram: r.histogram,
  }));
  return { scenarios };
}

/** Every verdict of a finished run, each with its reason; phase verdicts name what reached the phase. */
export function judge(
  scenario: Scenario,
  clock: PhaseClock,
  seen: ReadonlySet<string>,
  faults: JournalDraft["faults"],
  invariants: Invariant[],
  load: JournalLoad | null,
  deviated: boolean,
  injected: boolean,
): Verdict[] {
  const out: Verdict[] = [];
  if (!injected) return out;
  const fmt = (ms: number) => formatDuration(Math.round(ms));
  const phases = clock.times();
  // What reached a phase, after its time: `(CROSS_CHAIN_FAILOVER, via response)`.
  const source = (phase: Phase) => {
    const text = clock.source(phase);
    return text === "" ? "" : ` ${text}`;
  };
  for (const [index, fault] of faults.entries()) {
    out.push({
      name: `fault ${fault.id ?? index} took effect`,
      kind: "invariant",
      passed: fault.proof?.ok === true,
      reason: fault.proof ? fault.proof.summary : "not injected",
      limit: null,
      measured: null,
    });
  }
  for (const phase of ["detection", "response", "mitigation"] as const) {
    const wanted = scenario.expect[phase];
    if (!wanted) continue;
    const limit = scenario.expect.within[phase] ?? scenario.rtoMs;
    const measured = phases[phase];
    out.push({
      name: `${phase} within ${fmt(limit)}`,
      kind: "phase",
      passed: measured !== null && measured <= limit,
      reason:
        measured === null
          ? `none of ${wanted.join(", ")} was received`
          : `${fmt(measured)} after the first injection${source(phase)}${measured <= limit ? "" : `, over the limit of ${fmt(limit)}`}`,
      limit,
      measured,
      unit: "ms",
    });
  }
  for (const event of scenario.expect.required) {
    out.push({
      name: `${event} seen`,
      kind: "phase",
      passed: seen.has(event),
      reason: seen.has(event) ? `${event} was received` : `${event} was never received`,
      limit: null,
      measured: null,
    });
  }
  const recovery = phases.recovery;
  if (scenario.expect.within.recovery !== undefined) {
    const limit = scenario.expect.within.recovery;
    out.push({
      name: `recovery within ${fmt(limit)}`,
      kind: "phase",
      passed: recovery !== null && recovery <= limit,
      reason:
        recovery === null
          ? "the steady state did not hold again"
          : `${fmt(recovery)} after the first injection${source("recovery")}`,
      limit,
      measured: recovery,
      unit: "ms",
    });
  }
  out.push({
    name: `RTO ${fmt(scenario.rtoMs)} (tier ${scenario.tier})`,
    kind: "rto",
    passed: recovery !== null && recovery <= scenario.rtoMs && !deviated,
    reason:
      recovery === null
        ? "not recovered: the steady state did not hold again"
        : `recovered in ${fmt(recovery)}${source("recovery")}${recovery <= scenario.rtoMs ? "" : `, over the RTO of ${fmt(scenario.rtoMs)}`}${scenario.time_factor !== 1 ? ` (lab time compressed ${scenario.time_factor}x; measured times are real)` : ""}`,
    limit: scenario.rtoMs,
    measured: recovery,
    unit: "ms",
  });
  for (const inv of invariants)
    out.push({
      name: inv.name,
      kind: "invariant",
      passed: inv.passed,
      reason: inv.detail,
      limit: null,
      measured: null,
    });
  for (const s of load?.scenarios ?? []) {
    for (const b of s.budgets) {
      out.push({
        name: `${b.metric.split(" ")[0]} ${b.threshold}`,
        kind: "budget",
        passed: b.passed,
        reason: `${b.metric} measured ${Number.isFinite(b.measured) ? b.measured.toFixed(b.measured < 10 ? 4 : 1) : "nothing"}${s.name === "all" ? ` over ${s.requests} requests` : ""}`,
        limit: b.limit,
        measured: Number.isFinite(b.measured) ? b.measured : null,
      });
    }
  }
  return out;
}
