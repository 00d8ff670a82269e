/**
 * What a run brings up before it drills, each pushing its release: the lab (attached by its
 * lab.json, or the run's own in a scratch folder) and the alert sink, which verifies the
 * SUT's alerts, puts them on the timeline and hands them to the phase clock.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { IntakeFormat } from "../contract/intake/format.ts";
import { senderAlertKey } from "../contract/intake/index.ts";
import { FiredrillError } from "../errors.ts";
import { rpcCall } from "../lab/anvil.ts";
import { assertLocalDevNode } from "../lab/chainlink.ts";
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

/** Labs this process has brought up for runs, for their scratch folders' names. */
let labsOpened = 0;

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
    // Faults impersonate accounts and edit state: only on nodes that are local development nodes.
    for (const [name, chain] of Object.entries(lab.chains))
      await assertLocalDevNode(
        chain.nodeUrl,
        (method, params) => rpcCall(chain.nodeUrl, method, params, 3000),
        `${file}: chain ${name}`,
      );
    log(`attached to the lab in ${options.labDir}`);
    return lab;
  }
  const { labConfigSchema } = await import("../lab/config.ts");
  const config = options.labConfig ?? labConfigSchema.parse({ seed });
  // The run's own lab lives in a scratch folder that goes when the lab does: what an
  // auditor needs of it is in the journal.
  // Runs in parallel may start in the same millisecond: the counter tells them apart.
  const workDir =
    options.workDir ?? join(STATE_DIR, "runs", `${process.pid}-${startedAt.getTime()}-${++labsOpened}`);
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
    /** The scenario's `expect.required`: a sender's alert named there counts as seen. */
    required?: readonly string[];
  } = {},
): Promise<AlertSink> {
  const { emit, notes, seen } = record;
  const onAlert = (alert: Alert) => {
    seen.add(alert.event);
    const from = alert.sender;
    const delay = from
      ? deliveryDelayMs(from.firedAt, alert.receivedAt)
      : deliveryDelayMs(alert.at, alert.receivedAt);
    emit({
      kind: "alert.received",
      atMs: alert.receivedAt,
      name: alert.event,
      severity: alert.severity,
      system: alert.system,
      ...(alert.chain ? { chain: alert.chain } : {}),
      summary: `${alert.event} (${alert.severity}) from ${alert.system}${alert.chain ? ` on ${alert.chain}` : ""}${from ? `, sent by ${from.format} as "${from.name}"` : ""}${deliveryText(delay, from !== undefined)}`,
      details: {
        sent_at: alert.at,
        ...(from ? senderDetails(from, alert.receivedAt) : {}),
        ...(delay === undefined ? {} : { delivery_delay_ms: delay }),
        ...(alert.details ?? {}),
      },
    });
    reach(alert.event, alert.receivedAt, delay);
    // A scenario may name the sender's own alert instead of the event it maps onto.
    if (from?.status === "firing") {
      const key = senderAlertKey(from.format, from.name);
      seen.add(key);
      reach(key, alert.receivedAt, delay);
    }
  };
  /** Hands one alert to the phase clock and puts each phase it reaches on the timeline. */
  const reach = (name: string, receivedAt: number, delay: number | undefined) => {
    // The clock starts at the first injection: an alert received before it reaches no phase.
    const outcome = clock.alert(name, receivedAt);
    if (outcome.ignored !== null) notes.push(outcome.ignored);
    for (const mark of outcome.reached) {
      emit({
        kind: "phase.reached",
        atMs: mark.atMs,
        name: mark.phase,
        summary: `${mark.phase} reached by ${mark.alert}${mark.via === null ? "" : ` (via ${mark.via})`}`,
        details: {
          alert: mark.alert,
          ...(mark.via === null ? {} : { via: mark.via }),
          ...(delay === undefined ? {} : { delivery_delay_ms: delay }),
        },
      });
    }
  };
  const onUnmapped = (alert: Unmapped) => {
    const receivedAt = Date.parse(alert.at);
    const key = senderAlertKey(alert.format, alert.name);
    // Named in the scenario's `expect` as the sender's own alert: it counts as that name.
    const named = alert.status === "firing" && (clock.expects(key) || (intake.required ?? []).includes(key));
    emit({
      kind: "alert.unmapped",
      atMs: receivedAt,
      name: alert.name,
      summary: named
        ? `${alert.format} alert "${alert.name}" (${alert.status}), named by the scenario as ${key}; no event: ${alert.reason}`
        : `${alert.format} alert "${alert.name}" (${alert.status}) counted for nothing: ${alert.reason}`,
      details: senderDetails(alert, receivedAt),
    });
    if (named) {
      seen.add(key);
      reach(key, receivedAt, deliveryDelayMs(alert.firedAt, receivedAt));
    }
  };
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

/**
 * Milliseconds from when an alert was raised (the sender's own time, or the native alert's
 * `at`) to its receipt; undefined when the time is not given.
 */
function deliveryDelayMs(raisedAt: string | null, receivedAt: number): number | undefined {
  const raised = raisedAt === null ? Number.NaN : Date.parse(raisedAt);
  return Number.isFinite(raised) ? receivedAt - raised : undefined;
}

/**
 * `, received 4.2 s after it fired`: always for a sender's alert, whose delivery is part of
 * its detection; for a native one only when the delivery took a second or more.
 */
function deliveryText(delay: number | undefined, sender: boolean): string {
  if (delay === undefined || (!sender && delay < 1000)) return "";
  return `, received ${(delay / 1000).toFixed(1)} s after it ${sender ? "fired" : "was raised"}`;
}

/** Both clocks of a sender's alert: when the sender says it fired, and the delay to its receipt. */
function senderDetails(from: SenderOrigin, receivedAt: number): Record<string, string | number> {
  const delay = deliveryDelayMs(from.firedAt, receivedAt);
  return {
    sender: from.format,
    sender_alert: from.name,
    sender_status: from.status,
    ...(from.key === null ? {} : { sender_key: from.key }),
    ...(delay === undefined ? {} : { fired_at: from.firedAt!, delivery_delay_ms: delay }),
  };
}
