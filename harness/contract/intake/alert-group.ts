/**
 * The alert group that Prometheus Alertmanager's webhook (payload version "4") and
 * Grafana's webhook contact point (version "1", which adds fields of its own) both post:
 * `{version, groupKey, status, receiver, groupLabels, commonLabels, commonAnnotations,
 * externalURL, alerts: [{status, labels, annotations, startsAt, endsAt, generatorURL,
 * fingerprint}]}`, and how each of its alerts becomes a sender alert.
 */
import { z } from "zod";
import { MalformedDelivery, type SenderAlert } from "./format.ts";
import { isObject, quote } from "./shape.ts";

/** A label or annotation set; Go marshals an empty one as `null` in places. */
const labelSet = z.record(z.string(), z.string());
const optionalSet = labelSet.nullable().optional();
const status = z.enum(["firing", "resolved"]);
/** RFC 3339, as Go marshals a time (up to nanoseconds, `Z` or an offset). */
const time = z.iso.datetime({ offset: true });

/** One alert of the group, as Alertmanager sends it. */
export const groupAlertFields = {
  status,
  labels: labelSet,
  annotations: optionalSet,
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
};

/** The group's own fields, besides `version` and `alerts`. */
export const groupFields = {
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status,
  receiver: z.string(),
  groupLabels: optionalSet,
  commonLabels: optionalSet,
  commonAnnotations: optionalSet,
  externalURL: z.string().optional(),
};

const groupAlert = z.object(groupAlertFields);
type GroupAlert = z.output<typeof groupAlert>;

/**
 * Refuses a body whose `version` is not the one this sender's format is read at, naming the
 * version it carries. A body that is not an object is left to the shape check.
 */
export function requireVersion(body: unknown, sender: string, version: string): void {
  if (!isObject(body) || body["version"] === version) return;
  const given = body["version"];
  throw new MalformedDelivery(
    given === undefined
      ? `no payload version: ${sender} sends version "${version}"`
      : `payload version ${quote(given)}: only ${sender}'s version "${version}" is read`,
  );
}

/** Labels as JSON with their names in order, for a key that does not depend on the sender's order. */
function sortedJson(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));
}

function senderAlert(alert: GroupAlert, index: number, groupKey: string): SenderAlert {
  const name = alert.labels["alertname"];
  if (name === undefined || name === "") {
    throw new MalformedDelivery(`alerts.${index}.labels: no alertname label`);
  }
  const fingerprint = alert.fingerprint ?? "";
  return {
    name,
    status: alert.status,
    labels: alert.labels,
    firedAt: alert.startsAt,
    key: fingerprint !== "" ? fingerprint : `${groupKey} ${sortedJson(alert.labels)}`,
  };
}

/**
 * One sender alert per alert of the group: its `alertname` label names it, its own status
 * (not the group's) says firing or resolved, its labels are its labels only, it fired at
 * `startsAt`, and its key is its fingerprint (the group key and its labels when it has none).
 */
export function groupSenderAlerts(group: { groupKey: string; alerts: readonly GroupAlert[] }): SenderAlert[] {
  return group.alerts.map((alert, index) => senderAlert(alert, index, group.groupKey));
}
