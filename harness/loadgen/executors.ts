/**
 * k6's executors for the embedded engine: when VUs run and when iterations start.
 * The schedules are pure functions (`rampingVuSteps`, `*ArrivalOffsets`) so that tests
 * can check them without a clock; `runScenario` drives them in real time. Every loop is
 * bounded by the schedule's end plus the graceful stop, and by the caller's signal.
 */
import { parseDuration } from "../duration.ts";
import { sleep } from "../process.ts";
import type { ScenarioConfig } from "./profile.ts";

export interface Stage {
  durationMs: number;
  target: number;
}

const ms = (d: string | undefined, fallback: number): number =>
  d === undefined ? fallback : parseDuration(d);

const stagesOf = (stages: ReadonlyArray<{ duration: string; target: number }>): Stage[] =>
  stages.map((s) => ({ durationMs: ms(s.duration, 0), target: s.target }));

/**
 * The VU count changes of a ramping-vus scenario, like k6's execution steps: going from
 * `a` to `b` over a stage, the count moves one VU at a time at each `i/|b-a|` of the
 * stage (so a ramp up floors, a ramp down ceils the straight line).
 */
export function rampingVuSteps(
  startVUs: number,
  stages: readonly Stage[],
): Array<{ atMs: number; vus: number }> {
  const steps = [{ atMs: 0, vus: startVUs }];
  let from = startVUs;
  let t = 0;
  for (const { durationMs, target } of stages) {
    if (durationMs === 0) {
      if (target !== from) steps.push({ atMs: t, vus: target });
    } else {
      const diff = target - from;
      const n = Math.abs(diff);
      for (let i = 1; i <= n; i++) {
        steps.push({ atMs: t + (durationMs * i) / n, vus: from + Math.sign(diff) * i });
      }
    }
    from = target;
    t += durationMs;
  }
  return steps;
}

/** The number of VUs a ramping-vus schedule wants at `atMs` from its start. */
export function vusAt(steps: ReadonlyArray<{ atMs: number; vus: number }>, atMs: number): number {
  let vus = 0;
  for (const step of steps) {
    if (step.atMs > atMs) break;
    vus = step.vus;
  }
  return vus;
}

/**
 * Start offsets (ms) of a constant-arrival-rate scenario, as k6 v1 schedules them: one
 * every `timeUnit/rate`, from 0 through the end itself (so `rate x duration + 1` in all).
 */
export function* constantArrivalOffsets(
  rate: number,
  timeUnitMs: number,
  durationMs: number,
): Generator<number> {
  const interval = timeUnitMs / rate;
  for (let k = 0; k * interval <= durationMs + 1e-9; k++) yield k * interval;
}

/**
 * Start offsets (ms) of a ramping-arrival-rate scenario, as k6 v1 schedules them: the rate
 * moves linearly from each stage's start to its target, and the n-th iteration (n = 1, 2,
 * ...) starts when the integral of the rate reaches n, through the end of the last stage.
 */
export function* rampingArrivalOffsets(
  startRate: number,
  timeUnitMs: number,
  stages: readonly Stage[],
): Generator<number> {
  let from = startRate / timeUnitMs;
  let t0 = 0;
  let n = 1; // the next iteration starts when the integral reaches n
  let area = 0; // integral of the rate up to the stage start
  for (const { durationMs, target } of stages) {
    const to = target / timeUnitMs;
    const end = area + ((from + to) / 2) * durationMs;
    // Iterations with area < n <= end start in this stage (tolerating float error at the end).
    while (n <= end + 1e-9) {
      const local = n - area;
      let dt: number;
      if (Math.abs(to - from) < 1e-15) dt = local / from;
      else {
        const a = (to - from) / (2 * durationMs);
        dt = (-from + Math.sqrt(Math.max(0, from * from + 4 * a * local))) / (2 * a);
      }
      yield t0 + Math.min(durationMs, dt);
      n++;
    }
    area = end;
    from = to;
    t0 += durationMs;
  }
}

export interface VuHandle {
  /** 1-based, unique across the run like k6's `__VU`. */
  readonly id: number;
  /** Iterations this VU completed in this scenario (`__ITER`). */
  iteration: number;
}

export interface ScenarioHooks {
  /** One iteration. A rejection counts as an interrupted iteration; the VU goes on. */
  iterate(vu: VuHandle, signal: AbortSignal): Promise<void>;
  /** A new VU id (unique across scenarios). */
  nextVuId(): number;
  /** The number of active VUs changed by `delta`. */
  vusChanged(delta: number): void;
  /** An arrival-rate iteration could not start: no VU free and `maxVUs` reached. */
  dropped(): void;
  /** An iteration finished (successfully or not), with its duration in ms. */
  iterationDone(durationMs: number, interrupted: boolean): void;
  /** Stops everything now (the caller's abort). */
  signal: AbortSignal;
}

export interface ScenarioResult {
  iterations: number;
  interrupted: number;
  dropped: number;
  /** The most VUs the scenario had at once. */
  peakVus: number;
}

/** What a schedule drives: iterations on VUs, counted in the scenario's result. */
interface Driver {
  /** Aborted when the graceful stop is over, or by the caller: in-flight iterations are interrupted. */
  hard: AbortController;
  hooks: ScenarioHooks;
  result: ScenarioResult;
  /** Milliseconds since the scenario started. */
  elapsed(): number;
  /** Runs one iteration on `vu` and counts it. */
  one(vu: VuHandle): Promise<void>;
  newVu(): VuHandle;
  changeVus(delta: number): void;
}

/** A schedule under way: VU loops (or a dispatcher) that stop by themselves at `endMs`. */
interface Schedule {
  endMs: number;
  work: Promise<unknown>;
}

type Executor<E extends ScenarioConfig["executor"]> = Extract<ScenarioConfig, { executor: E }>;

/** Runs one scenario of a profile in real time and resolves when it has stopped. */
export async function runScenario(config: ScenarioConfig, hooks: ScenarioHooks): Promise<ScenarioResult> {
  await sleep(ms(config.startTime, 0), hooks.signal);
  const result: ScenarioResult = { iterations: 0, interrupted: 0, dropped: 0, peakVus: 0 };
  if (hooks.signal.aborted) return result;
  // `hard` interrupts the iterations still running once the graceful stop is over.
  const hard = new AbortController();
  const onOuterAbort = () => hard.abort();
  hooks.signal.addEventListener("abort", onOuterAbort, { once: true });
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let vus = 0;
  const changeVus = (delta: number) => {
    vus += delta;
    if (vus > result.peakVus) result.peakVus = vus;
    hooks.vusChanged(delta);
  };
  const one = async (vu: VuHandle) => {
    const t = performance.now();
    let interrupted = false;
    try {
      await hooks.iterate(vu, hard.signal);
    } catch {
      interrupted = true;
    }
    if (hard.signal.aborted) interrupted = true;
    vu.iteration++;
    if (interrupted) result.interrupted++;
    else result.iterations++;
    hooks.iterationDone(performance.now() - t, interrupted);
  };
  const newVu = (): VuHandle => ({ id: hooks.nextVuId(), iteration: 0 });
  const gracefulStopMs = ms(config.gracefulStop, 30_000);

  const driver: Driver = { hard, hooks, result, elapsed, one, newVu, changeVus };
  let schedule: Schedule;
  switch (config.executor) {
    case "constant-vus":
      schedule = constantVus(config, driver);
      break;
    case "per-vu-iterations":
    case "shared-iterations":
      schedule = iterationCount(config, driver);
      break;
    case "ramping-vus":
      schedule = rampingVus(config, driver);
      break;
    case "constant-arrival-rate":
    case "ramping-arrival-rate":
      schedule = arrivalRate(config, driver);
      break;
  }
  const { endMs, work } = schedule;

  // Past the schedule's end, in-flight iterations get `gracefulStop` to finish, then are interrupted.
  const rampDownMs = config.executor === "ramping-vus" ? ms(config.gracefulRampDown, 30_000) : 0;
  const graceTimer = setTimeout(
    () => hard.abort(),
    Math.max(0, endMs - elapsed()) + Math.max(gracefulStopMs, rampDownMs),
  );
  try {
    await work;
  } finally {
    clearTimeout(graceTimer);
    hooks.signal.removeEventListener("abort", onOuterAbort);
  }
  return result;
}

/** `vus` VUs, each iterating until `duration` is over. */
function constantVus(config: Executor<"constant-vus">, d: Driver): Schedule {
  const endMs = ms(config.duration, 0);
  const loop = async () => {
    const vu = d.newVu();
    d.changeVus(1);
    while (d.elapsed() < endMs && !d.hard.signal.aborted) await d.one(vu);
    d.changeVus(-1);
  };
  return { endMs, work: Promise.all(Array.from({ length: config.vus }, loop)) };
}

/** `iterations` per VU, or shared by all VUs, within `maxDuration`. */
function iterationCount(config: Executor<"per-vu-iterations" | "shared-iterations">, d: Driver): Schedule {
  const endMs = ms(config.maxDuration, 600_000);
  const total = config.iterations;
  let claimed = 0;
  const perVu = config.executor === "per-vu-iterations";
  const loop = async () => {
    const vu = d.newVu();
    d.changeVus(1);
    let mine = 0;
    while (d.elapsed() < endMs && !d.hard.signal.aborted) {
      if (perVu ? mine >= total : claimed >= total) break;
      mine++;
      claimed++;
      await d.one(vu);
    }
    d.changeVus(-1);
  };
  return { endMs, work: Promise.all(Array.from({ length: config.vus }, loop)) };
}

/** VUs ramped through the stages: a VU over the current count waits until it is counted again. */
function rampingVus(config: Executor<"ramping-vus">, d: Driver): Schedule {
  const { hard } = d;
  const stages = stagesOf(config.stages);
  const endMs = stages.reduce((s, st) => s + st.durationMs, 0);
  const steps = rampingVuSteps(config.startVUs ?? 1, stages);
  const maxVus = Math.max(...steps.map((s) => s.vus));
  let active = steps[0]!.vus;
  // Set by the end timer: a timer may fire a little before performance.now() says the
  // time has come, so the end is a flag, not a clock reading, for waiting VUs.
  let ended = false;
  const waiting = new Map<number, () => void>();
  const wake = () => {
    for (const [index, resolve] of waiting) {
      if (index < active || ended || hard.signal.aborted) {
        waiting.delete(index);
        resolve();
      }
    }
  };
  const timers = steps.slice(1).map((s) =>
    setTimeout(() => {
      active = s.vus;
      wake();
    }, s.atMs),
  );
  timers.push(
    setTimeout(() => {
      ended = true;
      wake();
    }, endMs),
  );
  hard.signal.addEventListener("abort", wake, { once: true });
  const loop = async (index: number) => {
    const vu = d.newVu();
    let counted = false;
    while (!ended && d.elapsed() < endMs && !hard.signal.aborted) {
      if (index >= active) {
        if (counted) d.changeVus(-1);
        counted = false;
        await new Promise<void>((resolve) => waiting.set(index, resolve));
        continue;
      }
      if (!counted) d.changeVus(1);
      counted = true;
      await d.one(vu);
    }
    if (counted) d.changeVus(-1);
  };
  const work = Promise.all(Array.from({ length: maxVus }, (_, i) => loop(i))).finally(() => {
    for (const t of timers) clearTimeout(t);
  });
  return { endMs, work };
}

/**
 * Iterations started at a rate (constant, or ramped through the stages) on free VUs;
 * more VUs up to `maxVUs` when none is free, and a dropped iteration past that.
 */
function arrivalRate(
  config: Executor<"constant-arrival-rate" | "ramping-arrival-rate">,
  d: Driver,
): Schedule {
  const { hard, result, hooks } = d;
  const timeUnitMs = ms(config.timeUnit, 1000);
  const stages =
    config.executor === "constant-arrival-rate"
      ? [{ durationMs: ms(config.duration, 0), target: config.rate }]
      : stagesOf(config.stages);
  const endMs = stages.reduce((s, st) => s + st.durationMs, 0);
  const schedule =
    config.executor === "constant-arrival-rate"
      ? constantArrivalOffsets(config.rate, timeUnitMs, endMs)
      : rampingArrivalOffsets(config.startRate ?? 0, timeUnitMs, stages);
  const maxVus = Math.max(config.preAllocatedVUs, config.maxVUs ?? config.preAllocatedVUs);
  const idle: VuHandle[] = [];
  for (let i = 0; i < config.preAllocatedVUs; i++) idle.push(d.newVu());
  let allocated = idle.length;
  d.changeVus(allocated);
  const running = new Set<Promise<void>>();
  const dispatch = async () => {
    let next = schedule.next();
    while (!next.done && !hard.signal.aborted) {
      const wait = next.value - d.elapsed();
      if (wait > 0.5) {
        await sleep(Math.max(1, wait), hard.signal);
        continue;
      }
      let vu = idle.pop();
      if (vu === undefined && allocated < maxVus) {
        vu = d.newVu();
        allocated++;
        d.changeVus(1);
      }
      if (vu === undefined) {
        result.dropped++;
        hooks.dropped();
      } else {
        const held = vu;
        const p: Promise<void> = d.one(held).then(() => {
          running.delete(p);
          idle.push(held);
        });
        running.add(p);
      }
      next = schedule.next();
    }
    while (running.size > 0) await Promise.race(running);
    d.changeVus(-allocated);
  };
  return { endMs, work: dispatch() };
}
