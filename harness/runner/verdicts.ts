/**
 * The verdicts of a run, each with its reason: faults took effect, phases within their
 * limits, required alerts seen, the RTO, invariants and load budgets; and the verdicts of
 * a run that could not be judged (steady state, abort, interruption). Phase verdicts name
 * what reached the phase.
 */
import { formatDuration } from "../duration.ts";
import type { Invariant, JournalDraft, LoadSummary as JournalLoad, Verdict } from "./journal.ts";
import type { Phase, PhaseClock, PhaseTimes } from "./phases.ts";
import type { Scenario } from "./scenario.ts";

/** The limit a phase is held to: the scenario's `within` for it, or else the RTO. */
export function phaseLimit(scenario: Scenario, phase: Phase): number {
  return scenario.expect.within[phase] ?? scenario.rtoMs;
}

export interface JudgeOptions {
  scenario: Scenario;
  clock: PhaseClock;
  /** Every alert event received. */
  seen: ReadonlySet<string>;
  /** The alert events received before the first injection. */
  early?: ReadonlySet<string>;
  faults: JournalDraft["faults"];
  invariants: Invariant[];
  load: JournalLoad | null;
  /** The steady state did not hold again. */
  deviated: boolean;
  /** The fault schedule started; without it there is nothing to judge. */
  injected: boolean;
}

const fmt = (ms: number) => formatDuration(Math.round(ms));

/** Every verdict of a finished run. */
export function judge(options: JudgeOptions): Verdict[] {
  if (!options.injected) return [];
  const phases = options.clock.times();
  return [
    ...faultVerdicts(options.faults),
    ...phaseVerdicts(options, phases),
    rtoVerdict(options, phases.recovery),
    ...options.invariants.map((inv) => ({
      name: inv.name,
      kind: "invariant" as const,
      passed: inv.passed,
      reason: inv.detail,
      limit: null,
      measured: null,
    })),
    ...budgetVerdicts(options.load),
  ];
}

/** The verdict on the steady state before the faults. */
export function steadyStateVerdict(
  steady: { ok: true } | { ok: false; failing: string[] },
  timeoutMs: number,
): Verdict {
  return {
    name: "steady state before the faults",
    kind: "steady_state",
    passed: steady.ok,
    reason: steady.ok
      ? "every steady-state probe held"
      : `did not hold within ${timeoutMs / 1000} s: ${steady.failing.join("; ")}`,
    limit: null,
    measured: null,
  };
}

/** The verdict of a run stopped by an abort condition. */
export function abortedVerdict(reason: string | undefined): Verdict {
  return {
    name: "abort conditions",
    kind: "steady_state",
    passed: false,
    reason: `aborted: ${reason}`,
    limit: null,
    measured: null,
  };
}

/** The verdict of an interrupted run. */
export function interruptedVerdict(): Verdict {
  return {
    name: "run completed",
    kind: "steady_state",
    passed: false,
    reason: "interrupted before it could be judged; every fault was healed",
    limit: null,
    measured: null,
  };
}

/** What reached a phase, after its time: ` (CROSS_CHAIN_FAILOVER, via response)`. */
function sourceOf(clock: PhaseClock, phase: Phase): string {
  const text = clock.source(phase);
  return text === "" ? "" : ` ${text}`;
}

function faultVerdicts(faults: JournalDraft["faults"]): Verdict[] {
  return faults.map((fault, index) => ({
    name: `fault ${fault.id ?? index} took effect`,
    kind: "invariant",
    passed: fault.proof?.ok === true,
    reason: fault.proof ? fault.proof.summary : "not injected",
    limit: null,
    measured: null,
  }));
}

/**
 * Why an expected alert may have been missed: it was already raised before the first
 * injection (a system still alarmed by an earlier incident does not raise it again).
 */
function raisedBefore(wanted: readonly string[], early: ReadonlySet<string> | undefined): string {
  const before = wanted.filter((event) => early?.has(event));
  if (before.length === 0) return "";
  return ` after the first injection; ${before.join(", ")} came before it: the system was not in its steady state when the faults began`;
}

/** Alert phases within their limits, required alerts seen, and recovery within its own limit if it has one. */
function phaseVerdicts({ scenario, clock, seen, early }: JudgeOptions, phases: PhaseTimes): Verdict[] {
  const out: Verdict[] = [];
  for (const phase of ["detection", "response", "mitigation"] as const) {
    const wanted = scenario.expect[phase];
    if (!wanted) continue;
    const limit = phaseLimit(scenario, phase);
    const measured = phases[phase];
    out.push({
      name: `${phase} within ${fmt(limit)}`,
      kind: "phase",
      passed: measured !== null && measured <= limit,
      reason:
        measured === null
          ? `none of ${wanted.join(", ")} was received${raisedBefore(wanted, early)}`
          : `${fmt(measured)} after the first injection${sourceOf(clock, phase)}${measured <= limit ? "" : `, over the limit of ${fmt(limit)}`}`,
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
          : `${fmt(recovery)} after the first injection${sourceOf(clock, "recovery")}`,
      limit,
      measured: recovery,
      unit: "ms",
    });
  }
  return out;
}

function rtoVerdict({ scenario, clock, deviated }: JudgeOptions, recovery: number | null): Verdict {
  return {
    name: `RTO ${fmt(scenario.rtoMs)} (tier ${scenario.tier})`,
    kind: "rto",
    passed: recovery !== null && recovery <= scenario.rtoMs && !deviated,
    reason:
      recovery === null
        ? "not recovered: the steady state did not hold again"
        : `recovered in ${fmt(recovery)}${sourceOf(clock, "recovery")}${recovery <= scenario.rtoMs ? "" : `, over the RTO of ${fmt(scenario.rtoMs)}`}${scenario.replay_compression !== 1 ? ` (a replay compressed ${scenario.replay_compression}x; measured times are real)` : ""}`,
    limit: scenario.rtoMs,
    measured: recovery,
    unit: "ms",
  };
}

function budgetVerdicts(load: JournalLoad | null): Verdict[] {
  const out: Verdict[] = [];
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
