/**
 * The phase clock: where the runner fixes when each phase (detection, response,
 * mitigation, recovery) was reached, counted from the first injection.
 *
 * Phases are monotonic. An alert that reaches a later phase also reaches every earlier
 * phase not reached yet, at the same time: a stack that fails over has detected the
 * fault, whether or not it posted an alert from the detection list first. So detection is
 * never later than response, response never later than mitigation, and mitigation never
 * later than recovery, in every journal the runner writes.
 *
 * Recovery is reached by the steady-state probes, not by an alert. It is fixed once, after
 * the runner has waited for alerts that trail the steady state; when such an alert
 * reached an earlier phase after the steady state held again, recovery is counted from
 * that alert instead, so that it is never earlier than the phases before it. Once
 * recovery is fixed, no alert reaches a phase any more.
 */
import { formatDuration } from "../duration.ts";
import { bugError } from "../errors.ts";
import { PHASES, type Phase } from "./journal.ts";
import type { Scenario } from "./scenario.ts";

export type { Phase };

/** The phases that alerts reach, in order; recovery is reached by the steady-state probes. */
export const ALERT_PHASES = ["detection", "response", "mitigation"] as const;
export type AlertPhase = (typeof ALERT_PHASES)[number];

export type PhaseTimes = Record<Phase, number | null>;

/** How and when one phase was reached. */
export interface PhaseMark {
  phase: Phase;
  /** Milliseconds from the first injection. */
  ms: number;
  /** Wall-clock time (epoch milliseconds) the phase was reached; always the first injection plus `ms`. */
  atMs: number;
  /** The alert that reached the phase; null for recovery. */
  alert: string | null;
  /**
   * The later phase whose `expect` list names the alert, when the phase's own list does
   * not: the phase was reached because a later one was.
   */
  via: AlertPhase | null;
  /**
   * Recovery only: when the steady state held again (epoch milliseconds), if an earlier
   * phase was reached after that and recovery is counted from it instead; null otherwise.
   */
  steadyAtMs: number | null;
  /** Recovery only: the earlier phase recovery is counted from, when `steadyAtMs` is set. */
  countedFrom: Phase | null;
}

/** What one alert did to the phases. */
export interface AlertOutcome {
  /** The phases the alert reached, in phase order. */
  reached: PhaseMark[];
  /**
   * Why an alert that names a phase not reached yet reached nothing (it came after
   * recovery was fixed); null otherwise, and for later alerts of the same event.
   */
  ignored: string | null;
}

type ExpectLists = Pick<Scenario["expect"], AlertPhase>;

const fmt = (ms: number) => formatDuration(Math.round(ms));

export class PhaseClock {
  readonly #expect: ExpectLists;
  readonly #marks = new Map<Phase, PhaseMark>();
  /** Events already reported as reaching no phase after recovery; each is reported once. */
  readonly #ignored = new Set<string>();
  #origin: number | undefined;

  constructor(expect: ExpectLists) {
    this.#expect = expect;
  }

  /** Starts the clock at the first injection (epoch milliseconds); later calls are ignored. */
  start(firstInjectionMs: number): void {
    this.#origin ??= firstInjectionMs;
  }

  /** The first injection (epoch milliseconds), or undefined before it. */
  get origin(): number | undefined {
    return this.#origin;
  }

  /** Whether any phase list names `event`. */
  expects(event: string): boolean {
    return ALERT_PHASES.some((phase) => this.#expect[phase]?.includes(event) === true);
  }

  /**
   * Takes one verified alert, received at `receivedAtMs`. An alert received before the
   * first injection reaches no phase. Otherwise the alert reaches the latest phase whose
   * list names it and that is not reached yet, and with it every earlier phase not
   * reached yet.
   */
  alert(event: string, receivedAtMs: number): AlertOutcome {
    const none: AlertOutcome = { reached: [], ignored: null };
    if (this.#origin === undefined || receivedAtMs < this.#origin) return none;
    const named = ALERT_PHASES.filter((phase) => this.#expect[phase]?.includes(event) === true);
    const target = named.filter((phase) => !this.#marks.has(phase)).pop();
    if (target === undefined) return none;
    const recovery = this.#marks.get("recovery");
    if (recovery !== undefined) {
      if (this.#ignored.has(event)) return none;
      this.#ignored.add(event);
      return {
        reached: [],
        ignored: `${event} came ${fmt(receivedAtMs - this.#origin)} after the first injection, after recovery was fixed at ${fmt(recovery.ms)}, and reached no phase`,
      };
    }
    const reached: PhaseMark[] = [];
    for (const phase of ALERT_PHASES.slice(0, ALERT_PHASES.indexOf(target) + 1)) {
      if (this.#marks.has(phase)) continue;
      const via = named.includes(phase)
        ? null
        : named.find((later) => ALERT_PHASES.indexOf(later) > ALERT_PHASES.indexOf(phase))!;
      reached.push(this.#fix(phase, receivedAtMs, { alert: event, via }));
    }
    return { reached, ignored: null };
  }

  /**
   * Fixes recovery: the steady state held again at `steadyAtMs`. When an earlier phase was
   * reached after that, recovery is counted from the latest such phase. Afterwards no alert
   * reaches a phase.
   */
  recover(steadyAtMs: number): PhaseMark {
    const existing = this.#marks.get("recovery");
    if (existing !== undefined) return existing;
    const latest = this.#latestBefore("recovery");
    if (latest !== undefined && latest.atMs > steadyAtMs)
      return this.#fix("recovery", latest.atMs, { steadyAtMs, countedFrom: latest.phase });
    return this.#fix("recovery", steadyAtMs, {});
  }

  /**
   * What reached a phase, for a verdict or a timeline line: `(CROSS_CHAIN_FAILOVER, via
   * response)` for an alert phase; for a recovery counted from an earlier phase that was
   * reached after the steady state held again, when the steady state held and which phase
   * recovery is counted from. Empty for a recovery reached by the steady state alone, and
   * for a phase not reached.
   */
  source(phase: Phase): string {
    const mark = this.#marks.get(phase);
    if (mark === undefined || this.#origin === undefined) return "";
    if (mark.alert !== null) return `(${mark.alert}${mark.via === null ? "" : `, via ${mark.via}`})`;
    if (mark.steadyAtMs === null || mark.countedFrom === null) return "";
    const from = this.#marks.get(mark.countedFrom);
    return `(the steady state held again at ${fmt(mark.steadyAtMs - this.#origin)}; counted from ${mark.countedFrom}, reached later by ${from?.alert ?? "an alert"})`;
  }

  /** How the phase was reached, or null when it was not. */
  mark(phase: Phase): PhaseMark | null {
    return this.#marks.get(phase) ?? null;
  }

  /** Milliseconds from the first injection until each phase was reached; null when it was not. */
  times(): PhaseTimes {
    return {
      detection: this.mark("detection")?.ms ?? null,
      response: this.mark("response")?.ms ?? null,
      mitigation: this.mark("mitigation")?.ms ?? null,
      recovery: this.mark("recovery")?.ms ?? null,
    };
  }

  /** The latest phase reached before `phase` in phase order, if any. */
  #latestBefore(phase: Phase): PhaseMark | undefined {
    let latest: PhaseMark | undefined;
    for (const earlier of PHASES.slice(0, PHASES.indexOf(phase))) {
      const mark = this.#marks.get(earlier);
      if (mark !== undefined && (latest === undefined || mark.ms >= latest.ms)) latest = mark;
    }
    return latest;
  }

  /**
   * The one place a phase time is fixed. It is never earlier than a phase before it:
   * alerts are taken in the order they were received, so this holds by itself unless the
   * wall clock steps back, and then the phase takes the earlier phase's time.
   */
  #fix(
    phase: Phase,
    atMs: number,
    how: Partial<Pick<PhaseMark, "alert" | "via" | "steadyAtMs" | "countedFrom">>,
  ): PhaseMark {
    const origin = this.#origin;
    if (origin === undefined) throw bugError(`phase ${phase} fixed before the first injection`);
    const floor = this.#latestBefore(phase)?.ms ?? 0;
    const ms = Math.max(atMs - origin, floor);
    const mark: PhaseMark = {
      phase,
      ms,
      atMs: origin + ms,
      alert: how.alert ?? null,
      via: how.via ?? null,
      steadyAtMs: how.steadyAtMs ?? null,
      countedFrom: how.countedFrom ?? null,
    };
    this.#marks.set(phase, mark);
    return mark;
  }
}
