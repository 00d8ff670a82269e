/**
 * The runner: validate -> lab up (or attach) -> steady state -> optional load -> faults on
 * their schedule -> phase times from verified alerts and probes -> heal every fault ->
 * wait for steady state -> invariants -> verdicts -> journal.
 *
 * Healing happens always: on success, on a failed verdict, on an exception, on an abort
 * condition and on interruption. Every acquired resource pushes its release on one LIFO
 * list, emptied in `finally`.
 *
 * The parts: bring-up.ts (lab, alert sink), watch.ts (steady state, abort conditions),
 * fault-context.ts and schedule.ts (the faults over time), phases.ts (the phase clock),
 * recovery.ts, load.ts, verdicts.ts and journal-draft.ts; record.ts is what they write to.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { INTAKE_FORMATS } from "../contract/intake/index.ts";
import { formatDuration } from "../duration.ts";
import { FiredrillError, releaseAll } from "../errors.ts";
import type { LabConfig } from "../lab/config.ts";
import type { LabInfo } from "../lab/index.ts";
import { REPORTS_DIR } from "../paths.ts";
import { sleep } from "../process.ts";
import { type Random, seededRandom } from "../random.ts";
import { redact } from "../redact.ts";
import type { AlertMap } from "./alert-map.ts";
import { drillsAlertPath, openAlertPath } from "./alert-path.ts";
import type { AlertsEndpoint } from "./alert-sink.ts";
import { openLab, startAlerts } from "./bring-up.ts";
import { chainReader, teamReadings } from "./chain-reader.ts";
import { faultContext } from "./fault-context.ts";
import { checkInvariants } from "./invariants.ts";
import type { Invariant, Journal, LoadSummary as JournalLoad, TimelineEvent, Verdict } from "./journal.ts";
import { writeJournal } from "./journal.ts";
import { journalDraft } from "./journal-draft.ts";
import { readKpis } from "./kpi-snapshot.ts";
import { startLoad } from "./load.ts";
import type { People } from "./people.ts";
import { PhaseClock } from "./phases.ts";
import type { ProbeTarget } from "./probe-check.ts";
import { RunRecord } from "./record.ts";
import { awaitRecovery } from "./recovery.ts";
import type { Scenario } from "./scenario.ts";
import { FaultSchedule } from "./schedule.ts";
import { runSecrets, type SutChoice, startSut } from "./sut.ts";
import type { SystemsMap } from "./systems-map.ts";
import { abortedVerdict, interruptedVerdict, judge, steadyStateVerdict } from "./verdicts.ts";
import { waitSteady, watchFaults } from "./watch.ts";

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
  /** Maps what a team's own monitoring sends onto firedrill's events; without it only the native format is accepted. */
  alertMap?: AlertMap | undefined;
  /** Where the alert receiver listens and the URL the SUT is given. @default loopback, a free port */
  alerts?: AlertsEndpoint | undefined;
  /**
   * The most the first injection may be put off after the steady state holds, ms: the
   * delay is drawn from the run's seed, so that repeated drills meet the SUT at different
   * points of its own cycles (polling, scrapes). 0 or absent: no delay.
   */
  startJitterMs?: number | undefined;
  /** A GameDay's people: paged at the first injection, their steps timed and judged. */
  people?: People | undefined;
}

export interface RunResult {
  journal: Journal;
  path: string;
  status: RunStatus;
  passed: boolean;
}

/** Steady state must hold within this long before the faults start. */
const STEADY_STATE_TIMEOUT_MS = 30_000;

/** What the parts of one run share; the outcomes are filled in as the run goes. */
interface Drill {
  scenario: Scenario;
  options: RunOptions;
  seed: number;
  random: Random;
  record: RunRecord;
  /** Phase times are fixed in the clock only, which keeps them in phase order. */
  clock: PhaseClock;
  faults: FaultSchedule;
  releases: Array<() => unknown>;
  log: (line: string) => void;
  interrupt: AbortController;
  verdicts: Verdict[];
  /** The abort condition that tripped, with what it saw. */
  aborted: string | undefined;
  invariants: Invariant[];
  load: JournalLoad | null;
  lab: LabInfo | undefined;
  sutName: string;
  kpis: Journal["kpis"];
  deviated: boolean;
  startJitter: { maxMs: number; drawnMs: number } | null;
}

/** Runs one scenario end to end and writes its journal. */
export async function runScenario(
  scenario: Scenario,
  map: SystemsMap,
  options: RunOptions = {},
): Promise<RunResult> {
  const seed = options.seed ?? scenario.seed ?? 42;
  const random = seededRandom(seed);
  const people = options.people;
  const record = new RunRecord(new Date(), (event, context) => {
    options.onEvent?.(event, context);
    people?.event(event);
  });
  const interrupt = new AbortController();
  options.interrupt?.addEventListener("abort", () => interrupt.abort(), { once: true });
  if (options.interrupt?.aborted) interrupt.abort();
  const clock = new PhaseClock(scenario.expect);
  const drill: Drill = {
    scenario,
    options,
    seed,
    random,
    record,
    clock,
    faults: new FaultSchedule(scenario, record, clock),
    releases: [],
    log: options.onLog ?? (() => {}),
    interrupt,
    verdicts: [],
    aborted: undefined,
    invariants: [],
    load: null,
    lab: undefined,
    sutName: "none",
    kpis: [],
    deviated: false,
    startJitter: null,
  };
  let status: RunStatus = "completed";

  try {
    await drillScenario(drill);
  } catch (error) {
    if (error instanceof StopRun) status = error.status;
    else if (interrupt.signal.aborted && !drill.aborted) status = "interrupted";
    else {
      // Nothing was injected yet (the lab or the SUT could not be brought up): nothing was
      // drilled, so there is no journal; the error itself says what went wrong.
      if (record.t0 === undefined) {
        await releaseAll(drill.releases).catch((e: Error) => drill.log(`teardown: ${e.message}`));
        throw error instanceof FiredrillError
          ? error
          : new FiredrillError("FD300", `setting up the drill: ${(error as Error).message}`, {
              cause: error,
            });
      }
      status = "failed";
      record.notes.push(`the run failed: ${redact((error as Error).message)}`);
    }
  } finally {
    // Heal and stop everything, whatever happened above; errors are gathered, never hidden.
    try {
      await releaseAll(drill.releases);
    } catch (error) {
      record.notes.push(`teardown: ${(error as Error).message}`);
    }
  }

  const { verdicts } = drill;
  if (status === "aborted") verdicts.push(abortedVerdict(drill.aborted));
  if (status === "interrupted") verdicts.push(interruptedVerdict());
  if (status === "completed" || status === "failed")
    verdicts.push(
      ...judge({
        scenario,
        clock,
        seen: record.seen,
        early: record.alertsBefore(record.t0),
        faults: drill.faults.records,
        invariants: drill.invariants,
        load: drill.load,
        deviated: drill.deviated,
        injected: record.t0 !== undefined,
      }),
    );
  // The people's verdicts, when a GameDay got as far as paging them.
  if (people && (status === "completed" || status === "failed"))
    verdicts.push(...people.verdicts(record.t0 ?? null));
  const passed = verdicts.length > 0 && verdicts.every((v) => v.passed);
  if (status === "completed" && !passed) status = "failed";

  const journalDir = options.journalDir ?? REPORTS_DIR;
  const draft = await journalDraft({
    scenario,
    map,
    seed,
    status,
    deviated: drill.deviated,
    record,
    clock,
    faults: drill.faults.records,
    verdicts,
    invariants: drill.invariants,
    load: drill.load,
    kpis: drill.kpis,
    lab: drill.lab,
    sutName: drill.sutName,
    startJitter: drill.startJitter,
  });
  if (people) {
    draft.gameday = people.journal(people.wantsPostmortem(draft) ? `${draft.id}.postmortem.md` : null);
    await people.close();
  }
  mkdirSync(journalDir, { recursive: true });
  const { journal, path } = await writeJournal(journalDir, draft);
  return { journal, path, status, passed };
}

/**
 * The drill itself, from bringing the lab up to the invariants. Throws `StopRun` to end the
 * run early with a status; whatever it acquired is released by the caller.
 */
async function drillScenario(drill: Drill): Promise<void> {
  const { scenario, options, record, releases, interrupt } = drill;
  const lab = await openLab(options, drill.seed, record.startedAt, releases, drill.log);
  drill.lab = lab;
  const labFile = join(lab.dir, "lab.json");
  const reader = chainReader(lab);

  // Alerts: the SUT's own signals, verified.
  const secrets = runSecrets();
  // A scenario that drills the alert path puts a proxy where the receiver would listen.
  const proxied = drillsAlertPath(scenario);
  const sink = await startAlerts(secrets.webhookSecret, record, drill.clock, releases, {
    alertMap: options.alertMap,
    formats: INTAKE_FORMATS,
    listen: proxied ? undefined : options.alerts,
    required: scenario.expect.required,
  });
  const alertPath = proxied ? await openAlertPath(lab, sink.url, options.alerts, releases) : undefined;
  if (alertPath) drill.log(`alert path: through proxy ${alertPath.proxy} at ${alertPath.url}`);

  const sut = await startSut(options.sut ?? { kind: "reference" }, lab, labFile, {
    webhookUrl: alertPath?.webhookUrl ?? sink.url,
    webhookSecret: secrets.webhookSecret,
    gatewayToken: secrets.gatewayToken,
    // A data folder per run: an attached lab outlives runs, and a stack's queue must not.
    dataDir: join(lab.dir, "stack", String(record.startedAt.getTime())),
  });
  releases.push(() => sut.stop());
  drill.sutName = sut.name;
  drill.log(`system under test: ${sut.name} at ${sut.url}`);
  if (options.people) {
    releases.push(() => options.people?.close());
    await options.people.open({
      scenario,
      lab,
      labFile,
      sutUrl: sut.url,
      timeline: record.timeline,
      emit: record.emit,
      incident: `firedrill-${record.startedAt.getTime()}-${scenario.name}`,
    });
  }
  const target: ProbeTarget = { lab, reader, sutUrl: sut.url };

  // Steady state before anything is injected.
  const steady = await waitSteady(
    scenario,
    target,
    STEADY_STATE_TIMEOUT_MS,
    record.emit,
    interrupt.signal,
    options.hurry,
  );
  drill.verdicts.push(steadyStateVerdict(steady, STEADY_STATE_TIMEOUT_MS));
  if (!steady.ok) throw new StopRun("failed");
  // A team's real contracts, as the drill found them: it must leave them so.
  const teamBefore = await teamReadings(lab);

  // The start jitter: the first injection put off by a delay drawn from the seed.
  if (options.startJitterMs) {
    drill.startJitter = drawStartJitter(options.startJitterMs, drill.random);
    drill.log(
      `start jitter: first injection in ${formatDuration(drill.startJitter.drawnMs)} (drawn from the seed, at most ${formatDuration(options.startJitterMs)})`,
    );
    await sleep(drill.startJitter.drawnMs, interrupt.signal, options.hurry);
    if (interrupt.signal.aborted) throw new StopRun("interrupted");
  }

  // Load all through the faults.
  const load = await startLoad(scenario, sut, record, releases, interrupt.signal, (rows) => {
    drill.load = rows;
  });

  // Faults on their schedule; while they are active, abort conditions and probe transitions.
  const ctx = faultContext(lab, sut, drill.random, interrupt.signal, drill.log, alertPath);
  // On the way out, whatever happened: no fault not yet due is injected, a fault being
  // injected is waited for, and then every fault is healed.
  const stopSchedule = new AbortController();
  const faultsDone = drill.faults.start(
    ctx,
    AbortSignal.any([interrupt.signal, stopSchedule.signal]),
    () => !!drill.aborted,
  );
  releases.push(async () => {
    stopSchedule.abort();
    await faultsDone;
    await drill.faults.healAll();
  });
  await watchFaults(scenario, target, faultsDone, interrupt, record.emit, (reason) => {
    drill.aborted = reason;
  });
  const outcomes = await faultsDone;
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  // Every fault is healed before anything else is judged.
  await drill.faults.healAll();
  if (failed) throw failed.reason;
  if (drill.aborted) throw new StopRun("aborted");
  if (interrupt.signal.aborted) throw new StopRun("interrupted");

  if (!(await awaitRecovery(scenario, target, drill.clock, record, interrupt.signal, options.hurry)))
    drill.deviated = true;
  if (interrupt.signal.aborted) throw new StopRun("interrupted");
  // A GameDay goes on until a responder marks the incident resolved (or nobody answers).
  await options.people?.settle(interrupt.signal);
  if (interrupt.signal.aborted) throw new StopRun("interrupted");

  // The load runs its planned course through recovery: stopping it here would cut the
  // slowest requests, the very ones a budget is about.
  await load.done?.catch((error: Error) => record.notes.push(`load: ${error.message}`));
  drill.invariants = await checkInvariants(lab, reader, sut, record.accepted, 60_000, teamBefore);
  drill.kpis = await readKpis(sut.url);
  for (const rejected of sink.rejected())
    record.notes.push(
      `a ${rejected.format === "native" ? "webhook" : rejected.format} delivery was refused: ${rejected.reason} at ${rejected.at}`,
    );
}

/** The start jitter of a run: a whole number of milliseconds in [0, max], from the run's seed. */
export function drawStartJitter(maxMs: number, random: Random): { maxMs: number; drawnMs: number } {
  return { maxMs, drawnMs: random.fork("start-jitter").int(Math.floor(maxMs) + 1) };
}

class StopRun extends Error {
  readonly status: RunStatus;
  constructor(status: RunStatus) {
    super(status);
    this.status = status;
  }
}
