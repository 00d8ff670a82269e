/**
 * Alert intake from anything that sends PagerDuty Events API v2 alert events
 * (`POST /v2/enqueue`, https://developer.pagerduty.com/docs/events-API-v2/trigger-events/,
 * docs/events-API-v2/02-Trigger-Events.md of github.com/PagerDuty/developer-docs):
 * `{routing_key, event_action, dedup_key?, payload?, images?, links?, client?, client_url?}`,
 * posted to the receiver's `/alerts/pagerduty`. The credential is in the body: `routing_key`
 * is the run's secret. So `authenticate` reads the raw body itself, and decides so:
 *   - a body that is not JSON, or JSON but not an object, holds no event and so no
 *     credential to check: it passes, and `parse` (or the receiver's JSON reading) refuses
 *     it with 400, as PagerDuty answers 400 to invalid JSON;
 *   - an object without a string `routing_key` (or a blank one): missing credentials;
 *   - any other routing key: wrong credentials.
 * (PagerDuty itself answers 400 "Invalid routing key" to a wrong key; the receiver answers
 * 401, as it does for every format.) A trigger needs `payload.summary`, `payload.source` and
 * `payload.severity`; an acknowledge or a resolve needs only the `dedup_key` it refers to.
 * The messages for missing ones are PagerDuty's own ("'payload.severity' is missing or
 * blank"). The answer is PagerDuty's: 202 with the event's dedup_key, one drawn (a UUID,
 * as PagerDuty draws one) when a trigger came without.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { checked, isSecret, missing } from "./credentials.ts";
import {
  type AuthResult,
  type IntakeAnswer,
  type IntakeFormat,
  type IntakeRequest,
  MalformedDelivery,
  type SenderAlert,
} from "./format.ts";
import { isObject, shaped } from "./shape.ts";

export const PAGERDUTY_SEVERITIES = ["critical", "error", "warning", "info"] as const;

const text = z.string().optional();

const eventSchema = z.object({
  routing_key: z.string(),
  event_action: z.enum(["trigger", "acknowledge", "resolve"]),
  dedup_key: text,
  payload: z
    .object({
      summary: text,
      source: text,
      severity: text,
      timestamp: text,
      component: text,
      group: text,
      class: text,
      custom_details: z.unknown().optional(),
    })
    .optional(),
  images: z.array(z.object({ src: z.string(), href: text, alt: text })).optional(),
  links: z.array(z.object({ href: z.string(), text })).optional(),
  client: text,
  client_url: text,
});
type PagerDutyEvent = z.output<typeof eventSchema>;

const STATUS = { trigger: "firing", acknowledge: "acknowledged", resolve: "resolved" } as const;

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

function authenticate(request: IntakeRequest, secret: string): AuthResult {
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody);
  } catch {
    return { ok: true };
  }
  if (!isObject(body)) return { ok: true };
  const key = body["routing_key"];
  if (typeof key !== "string" || key.trim() === "") return missing;
  return checked(isSecret(key, secret));
}

/** Refuses an event without what its action needs, in PagerDuty's words. */
function requireFields(event: PagerDutyEvent): void {
  const needed: [string, string | undefined][] =
    event.event_action === "trigger"
      ? [
          ["payload.summary", event.payload?.summary],
          ["payload.source", event.payload?.source],
          ["payload.severity", event.payload?.severity],
        ]
      : [["dedup_key", event.dedup_key]];
  const absent = needed.find(([, value]) => !present(value));
  if (absent) throw new MalformedDelivery(`'${absent[0]}' is missing or blank`);
  const severity = event.payload?.severity;
  if (event.event_action === "trigger" && !(PAGERDUTY_SEVERITIES as readonly string[]).includes(severity!)) {
    throw new MalformedDelivery(`'payload.severity' must be one of ${PAGERDUTY_SEVERITIES.join(", ")}`);
  }
}

/** The fields a mapping rule may match on, those the event has; never the routing key. */
function labelsOf(event: PagerDutyEvent): Record<string, string> {
  const { summary, source, severity, component, group, class: klass } = event.payload ?? {};
  const fields = { summary, source, severity, component, group, class: klass, dedup_key: event.dedup_key };
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => present(entry[1])),
  );
}

function parse(body: unknown): SenderAlert[] {
  const event = shaped(eventSchema, body);
  requireFields(event);
  const trigger = event.event_action === "trigger";
  const key = present(event.dedup_key) ? event.dedup_key : randomUUID();
  return [
    {
      name: trigger ? event.payload!.summary! : key,
      status: STATUS[event.event_action],
      labels: labelsOf(event),
      firedAt: present(event.payload?.timestamp) ? event.payload.timestamp : undefined,
      key,
    },
  ];
}

const ACCEPTED = { status: "success", message: "Event processed" } as const;

function answer(alerts: readonly SenderAlert[]): IntakeAnswer {
  return {
    status: 202,
    contentType: "application/json",
    body: JSON.stringify({ ...ACCEPTED, dedup_key: alerts[0]?.key }),
  };
}

export const pagerdutyFormat: IntakeFormat = {
  name: "pagerduty",
  path: "/alerts/pagerduty",
  authenticate,
  parse,
  accepted: { status: 202, contentType: "application/json", body: JSON.stringify(ACCEPTED) },
  answer,
};
