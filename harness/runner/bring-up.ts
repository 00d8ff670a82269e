/**
 * What a run brings up before it drills, each pushing its release: the lab (attached by its
 * lab.json, or the run's own in a scratch folder) and the alert sink, which verifies the
 * SUT's alerts, puts them on the timeline and hands them to the phase clock.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { IntakeFormat } from "../contract/intake/format.ts";
import { FiredrillError } from "../errors.ts";
import type { LabConfig } from "../lab/config.ts";
import { type LabInfo, readLabInfo, startLab } from "../lab/index.ts";
import { STATE_DIR } from "../paths.ts";
import { isAlive } from "../process.ts";
import type { AlertMap } from "./alert-map.ts";
import {
  type Alert,
  type AlertSink,
  type AlertsEndpoint,
  type SenderOrigin,
  startAlertSink,
  type Unmapped,
} from "./alert-sink.ts";
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

/**
 * Starts the alert sink: every authentic alert that counts goes on the timeline and to the
 * phase clock; a sender's alert that maps onto no event goes on the timeline only.
 */
export async function startAlerts(
  webhookSecret: string,
  record: RunRecord,
  clock: PhaseClock,
  releases: Array<() => unknown>,
  intake: {
    alertMap?: AlertMap | undefined;
    formats?: readonly IntakeFormat[];
    listen?: AlertsEndpoint | undefined;
  } = {},
): Promise<AlertSink> {
  const { emit, notes, seen } = record;
  const onAlert = (alert: Alert) => {
    seen.add(alert.event);
    const from = alert.sender;
    emit({
      kind: "alert.received",
      atMs: alert.receivedAt,
      name: alert.event,
      severity: alert.severity,
      system: alert.system,
      ...(alert.chain ? { chain: alert.chain } : {}),
      summary: `${alert.event} (${alert.severity}) from ${alert.system}${alert.chain ? ` on ${alert.chain}` : ""}${from ? `, sent by ${from.format} as "${from.name}"${deliveryDelay(from, alert.receivedAt)}` : ""}`,
      details: {
        sent_at: alert.at,
        ...(from ? senderDetails(from, alert.receivedAt) : {}),
        ...(alert.details ?? {}),
      },
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
  const onUnmapped = (alert: Unmapped) =>
    emit({
      kind: "alert.unmapped",
      atMs: Date.parse(alert.at),
      name: alert.name,
      summary: `${alert.format} alert "${alert.name}" (${alert.status}) counted for nothing: ${alert.reason}`,
      details: senderDetails(alert, Date.parse(alert.at)),
    });
  const sink = await startAlertSink(webhookSecret, {
    onAlert,
    onUnmapped,
    alertMap: intake.alertMap,
    formats: intake.formats ?? [],
    ...(intake.listen === undefined ? {} : { listen: intake.listen }),
  });
  releases.push(() => sink.close());
  return sink;
}

/** Milliseconds from when the sender says its alert fired to its receipt; undefined when it does not say. */
function deliveryDelayMs(from: SenderOrigin, receivedAt: number): number | undefined {
  const fired = from.firedAt === null ? Number.NaN : Date.parse(from.firedAt);
  return Number.isFinite(fired) ? receivedAt - fired : undefined;
}

/** `, received 4.2 s after it fired` when the sender says when its alert fired. */
function deliveryDelay(from: SenderOrigin, receivedAt: number): string {
  const delay = deliveryDelayMs(from, receivedAt);
  return delay === undefined ? "" : `, received ${(delay / 1000).toFixed(1)} s after it fired`;
}

/** Both clocks of a sender's alert: when the sender says it fired, and the delay to its receipt. */
function senderDetails(from: SenderOrigin, receivedAt: number): Record<string, string | number> {
  const delay = deliveryDelayMs(from, receivedAt);
  return {
    sender: from.format,
    sender_alert: from.name,
    sender_status: from.status,
    ...(from.key === null ? {} : { sender_key: from.key }),
    ...(delay === undefined ? {} : { fired_at: from.firedAt!, delivery_delay_ms: delay }),
  };
}
