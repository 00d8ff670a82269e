/**
 * Recovery, once every fault is healed: the steady state must hold again within the
 * tightest limit that applies; expected alerts that trail it get a grace period; then
 * recovery is fixed on the phase clock, after which no alert reaches a phase.
 */
import { formatDuration } from "../duration.ts";
import { sleep } from "../process.ts";
import { ALERT_PHASES, type PhaseClock } from "./phases.ts";
import type { ProbeTarget } from "./probe-check.ts";
import type { RunRecord } from "./record.ts";
import type { Scenario } from "./scenario.ts";
import { phaseLimit } from "./verdicts.ts";
import { waitSteady } from "./watch.ts";

/** After recovery, how long the runner still waits for an expected phase alert. */
const LATE_ALERT_GRACE_MS = 10_000;

/** Waits for recovery and fixes it on the clock; false when the steady state did not hold again. */
export async function awaitRecovery(
  scenario: Scenario,
  target: ProbeTarget,
  clock: PhaseClock,
  record: RunRecord,
  interrupt: AbortSignal,
  hurry: AbortSignal | undefined,
): Promise<boolean> {
  const t0 = record.t0!;
  const recoveryDeadline = Math.max(0, t0 + phaseLimit(scenario, "recovery") - Date.now()) + 5000;
  const recovered = await waitSteady(scenario, target, recoveryDeadline, record.emit, interrupt, hurry);
  if (!recovered.ok) record.notes.push(`steady state did not hold again: ${recovered.failing.join("; ")}`);
  // An expected alert may trail recovery by a moment.
  const late = Date.now() + LATE_ALERT_GRACE_MS;
  while (
    Date.now() < late &&
    !hurry?.aborted &&
    ALERT_PHASES.some((p) => scenario.expect[p] && clock.mark(p) === null)
  ) {
    await sleep(100, hurry);
  }
  // Recovery is fixed only now, so that it is never earlier than a phase reached by an
  // alert that trailed the steady state; from here on no alert reaches a phase.
  if (recovered.ok) fixRecovery(clock, recovered.atMs, t0, record);
  return recovered.ok;
}

function fixRecovery(clock: PhaseClock, steadyAtMs: number, t0: number, record: RunRecord): void {
  const mark = clock.recover(steadyAtMs);
  const from = mark.countedFrom === null ? null : clock.mark(mark.countedFrom);
  record.emit({
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
