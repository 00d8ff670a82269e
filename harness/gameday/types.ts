/**
 * What the parts of a GameDay share: the team (team.yml), how each responder is paged, and
 * the messages that go out to them.
 */

export const ROLES = ["incident_lead", "communications", "on_call"] as const;
export type Role = (typeof ROLES)[number];

/** How a responder (or the communications channel) is reached. Secrets stay in here, never in a log. */
export type PageChannel =
  /** A Slack-compatible incoming webhook (its URL is the secret). */
  | { kind: "slack"; url: string }
  /** A PagerDuty Events API v2 endpoint and the service's integration (routing) key. */
  | { kind: "pagerduty"; url: string; routingKey: string }
  /** A generic webhook, signed like firedrill's alert webhook with this secret. */
  | { kind: "webhook"; url: string; secret: string }
  /** Printed on the console of the drill only. */
  | { kind: "console" };

export interface Responder {
  name: string;
  role: Role;
  page: PageChannel;
}

export interface Team {
  /** The file it was read from. */
  file: string;
  /** In escalation order: when nobody acknowledges in time, the next one is paged. */
  responders: Responder[];
  /** Where the incident alert, the updates and the resolution go; the communications responders' pages when the file names none. */
  communications: PageChannel[];
}

export type Severity = "critical" | "high" | "medium" | "low";

export interface PageMessage {
  /** The first page, an escalation to the next responder, the incident alert, a status update, the resolution. */
  kind: "page" | "escalation" | "incident_alert" | "update" | "resolved";
  /** One line, e.g. `GameDay: CRITICAL_COLLATERAL_LOW on ethereum (tier 1)`. */
  summary: string;
  /** Markdown body: the incident alert as sent, the update, the resolution note. */
  text?: string;
  severity: Severity;
  /** The incident room, with its token: responders open it from the page. */
  roomUrl: string;
  /** The drill's id: the key that ties every message of one incident together (PagerDuty's dedup_key). */
  incident: string;
  /** Epoch ms. */
  at: number;
}

/** What became of one message to one recipient, once delivered or given up. */
export interface PageOutcome {
  /** The responder's name, or `communications`. */
  to: string;
  channel: PageChannel["kind"];
  kind: PageMessage["kind"];
  ok: boolean;
  attempts: number;
  /** The last HTTP status, when one came. */
  status?: number;
  /** Why it failed, without the URL or any key. */
  error?: string;
  /** Epoch ms of the first attempt and of the outcome. */
  firstAttemptAt: number;
  at: number;
}
