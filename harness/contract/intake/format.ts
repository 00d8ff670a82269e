/**
 * Alert intake: the receiver accepts, besides firedrill's own signed alerts, what the
 * monitoring tools a team already runs send to a webhook, each on its own path and each
 * authenticated the way its sender can be configured to. Every format turns a delivery
 * into sender alerts; an alert mapping (alerts.yml) then turns those into firedrill's
 * events. One credential serves every format: the run's webhook secret, which the system
 * under test already receives in its environment.
 */
import type { ReplayGuard } from "../webhook.ts";

/** One alert as its sender reported it, before it is mapped onto firedrill's events. */
export interface SenderAlert {
  /**
   * The sender's name for the alert: Alertmanager's and Grafana's `alertname` label,
   * PagerDuty's `payload.summary`, the first line of a Slack message, OpenZeppelin
   * Monitor's monitor name.
   */
  name: string;
  /** `acknowledged` only from PagerDuty. */
  status: "firing" | "resolved" | "acknowledged";
  /** What a mapping rule may match on: the alert's labels, or the format's fields as text. */
  labels: Readonly<Record<string, string>>;
  /** When the sender says the alert started (ISO 8601), when it says so. */
  firedAt?: string | undefined;
  /** A stable id of the alert instance (a fingerprint, a dedup key), when the format has one. */
  key?: string | undefined;
}

/** A delivery as the receiver got it. */
export interface IntakeRequest {
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The path after the format's own path, e.g. the token of `/alerts/slack/<token>`. */
  rest: string;
  rawBody: string;
  /** When it arrived, in Unix milliseconds: the clock a signature's timestamp is checked against. */
  receivedAt: number;
}

export type AuthResult = { ok: true } | { ok: false; reason: string };

/** An HTTP answer to a sender. */
export interface IntakeAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Raised by `parse` for a body that is JSON but not the format's shape: the receiver answers 400. */
export class MalformedDelivery extends Error {}

export interface IntakeFormat {
  /** Its name in alerts.yml, `--format` and the journal. */
  name: "alertmanager" | "grafana" | "pagerduty" | "slack" | "oz-monitor";
  /** Path of the receiver this format is posted to, e.g. `/alerts/alertmanager`. */
  path: string;
  /**
   * Checks the credentials of a delivery against the run's secret, before its body is parsed
   * into alerts (PagerDuty's credential is in the body: that format reads the raw body itself).
   * `guard` is the receiver's memory of the signatures it accepted, for a format whose sender
   * signs with a timestamp (Grafana's HMAC option); the others ignore it.
   */
  authenticate(request: IntakeRequest, secret: string, guard: ReplayGuard): AuthResult;
  /** The sender alerts of a parsed JSON body; throws MalformedDelivery when it is not this format. */
  parse(body: unknown): SenderAlert[];
  /** What the sender expects back when the delivery was accepted. */
  accepted: IntakeAnswer;
  /**
   * What the sender expects back when that depends on the delivery (PagerDuty answers with
   * the event's dedup_key); a format without it answers `accepted`.
   */
  answer?(alerts: readonly SenderAlert[]): IntakeAnswer;
}
