/**
 * What a run brings up before it drills, each pushing its release: the lab (attached by its
 * lab.json, or the run's own in a scratch folder) and the alert sink, which verifies the
 * SUT's alerts, puts them on the timeline and hands them to the phase clock.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { FiredrillError } from "../errors.ts";
import type { LabConfig } from "../lab/config.ts";
import { type LabInfo, readLabInfo, startLab } from "../lab/index.ts";
import { STATE_DIR } from "../paths.ts";
import { isAlive } from "../process.ts";
import { type Alert, type AlertSink, startAlertSink } from "./alert-sink.ts";
import type { PhaseClock } from "./phases.ts";
import type { RunRecord } from "./record.ts";

/** Attaches to the lab in `labDir`, or brings one up for this run. */
export async function openLab(
  options: { labDir?: string | undefined; labConfig?: LabConfig; workDir?: string },
  seed: number,
  startedAt: Date,
  releases: Array<() => unknown>,
  log: (line: string) => void,
): Promise<LabInfo> {
  if (options.labDir) {
    const file = join(options.labDir, "lab.json");
    const lab = readLabInfo(file);
    if (!isAlive(lab.pid))
      throw new FiredrillError("FD300", `lab: the lab in ${options.labDir} is not running`);
    log(`attached to the lab in ${options.labDir}`);
    return lab;
  }
  const { labConfigSchema } = await import("../lab/config.ts");
  const config = options.labConfig ?? labConfigSchema.parse({ seed });
  // The run's own lab lives in a scratch folder that goes when the lab does: what an
  // auditor needs of it is in the journal.
  const workDir = options.workDir ?? join(STATE_DIR, "runs", `${process.pid}-${startedAt.getTime()}`);
  releases.push(() => rmSync(workDir, { recursive: true, force: true }));
  const up = await startLab(config, { dir: join(workDir, "lab"), onStep: (line) => log(`lab: ${line}`) });
  releases.push(() => up.down());
  return up.info;
}

/** Starts the alert sink: every verified alert goes on the timeline and to the phase clock. */
export async function startAlerts(
  webhookSecret: string,
  record: RunRecord,
  clock: PhaseClock,
  releases: Array<() => unknown>,
): Promise<AlertSink> {
  const { emit, notes, seen } = record;
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
  const sink = await startAlertSink(webhookSecret, onAlert);
  releases.push(() => sink.close());
  return sink;
}
