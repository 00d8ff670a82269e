/**
 * What the runner watches with its probes: the steady state (before the faults, and again
 * after them), and, while faults are active, the abort conditions and the moments a
 * steady-state probe stops or starts holding.
 */

import { sleep } from "../process.ts";
import { abortWatch, checkProbe, type ProbeTarget, probeName } from "./probe-check.ts";
import type { Emit } from "./record.ts";
import type { Scenario } from "./scenario.ts";

/** How often probes and abort conditions are checked while faults are active. */
const WATCH_MS = 250;

/** Polls every steady-state probe until all hold at once, or the deadline passes. */
export async function waitSteady(
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

/**
 * Until the faults are done (`faultsDone` settles) or the run is interrupted: checks the
 * abort conditions and records probe transitions. A tripped condition is handed to `onTrip`
 * and interrupts the run.
 */
export async function watchFaults(
  scenario: Scenario,
  target: ProbeTarget,
  faultsDone: Promise<unknown>,
  interrupt: AbortController,
  emit: Emit,
  onTrip: (reason: string) => void,
): Promise<void> {
  const watches = scenario.abort_if.map((condition) => abortWatch(condition, target));
  let settled = false;
  void faultsDone.then(() => {
    settled = true;
  });
  const probeState = new Map<string, boolean>();
  while (!settled && !interrupt.signal.aborted) {
    for (const watch of watches) {
      const result = await watch.check();
      if (result.trips) {
        onTrip(`${watch.name}: ${result.detail}`);
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
