/**
 * Deliveries shaped as each sender documents them (Alertmanager's webhook v4, Grafana's
 * webhook contact point, PagerDuty Events API v2, Slack incoming webhooks, OpenZeppelin
 * Monitor's webhook trigger), each with the credentials that sender can be configured to
 * send. For the intake tests and the documented-sender SUT (documented-sender.ts); this file
 * defines no tests.
 */
import { createHmac } from "node:crypto";

/** The formats a documented delivery can be built in. */
export const SENDER_FORMATS = ["alertmanager", "grafana", "pagerduty", "slack", "oz-monitor"] as const;
export type SenderFormat = (typeof SENDER_FORMATS)[number];

/** One alert to deliver: its name, whether it fires or resolves, when it started, its labels. */
export interface SenderAlertSpec {
  name: string;
  status: "firing" | "resolved";
  startsAt: string;
  labels?: Record<string, string>;
  summary?: string;
}

/** A delivery ready to post: the path under the receiver's `/alerts`, the headers and the body. */
export interface Delivery {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** One alert of Alertmanager's webhook payload (version 4). */
export function amAlert(alert: SenderAlertSpec): Record<string, unknown> {
  return {
    status: alert.status,
    labels: { alertname: alert.name, severity: "critical", ...alert.labels },
    annotations: { summary: alert.summary ?? `${alert.name}` },
    startsAt: alert.startsAt,
    endsAt:
      alert.status === "resolved"
        ? new Date(Date.parse(alert.startsAt) + 60_000).toISOString()
        : "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph?g0.expr=up",
    fingerprint: `fp-${alert.name}`,
  };
}

/** Alertmanager's webhook body (version 4) around `alerts`. */
export function alertmanagerBody(status: "firing" | "resolved", alerts: object[]): string {
  return JSON.stringify({
    version: "4",
    groupKey: '{}:{alertname="EthereumRpcDown"}',
    truncatedAlerts: 0,
    status,
    receiver: "firedrill",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    alerts,
  });
}

/** Grafana's webhook contact-point body: Alertmanager's alerts with Grafana's own fields. */
export function grafanaBody(alert: SenderAlertSpec): string {
  return JSON.stringify({
    receiver: "firedrill",
    status: alert.status,
    orgId: 1,
    alerts: [
      {
        ...amAlert(alert),
        values: { B: 1, C: 1 },
        valueString: "[ var='B' labels={} value=1 ]",
        dashboardURL: "",
        panelURL: "",
        silenceURL: "http://grafana/alerting/silence/new",
      },
    ],
    groupLabels: { alertname: alert.name },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://grafana/",
    version: "1",
    groupKey: `{}:{alertname="${alert.name}"}`,
    truncatedAlerts: 0,
    title: `[${alert.status === "firing" ? "FIRING" : "RESOLVED"}:1] ${alert.name}`,
    state: alert.status === "firing" ? "alerting" : "ok",
    message: alert.status === "firing" ? "**Firing**" : "**Resolved**",
  });
}

/** Grafana's HMAC headers: the signature over `<unix seconds>:<body>`, and those seconds. */
export function grafanaSignature(secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const seconds = String(Math.floor(nowMs / 1000));
  return {
    "x-grafana-alerting-signature": createHmac("sha256", secret).update(`${seconds}:${body}`).digest("hex"),
    "x-grafana-alerting-timestamp": seconds,
  };
}

/** A PagerDuty Events API v2 event: `trigger` carries the payload, `resolve` only the dedup key. */
export function pagerdutyBody(secret: string, alert: SenderAlertSpec, dedupKey: string): string {
  return JSON.stringify({
    routing_key: secret,
    event_action: alert.status === "firing" ? "trigger" : "resolve",
    dedup_key: dedupKey,
    ...(alert.status === "firing"
      ? {
          payload: {
            summary: alert.summary ?? alert.name,
            source: "monitor-1",
            severity: "critical",
            timestamp: alert.startsAt,
            component: alert.labels?.["component"] ?? "rpc",
          },
        }
      : {}),
  });
}

/** OpenZeppelin Monitor's signature headers: hex HMAC over the body then the millisecond timestamp. */
export function ozMonitorSignature(secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(nowMs);
  return {
    "x-signature": createHmac("sha256", secret).update(`${body}${timestamp}`).digest("hex"),
    "x-timestamp": timestamp,
  };
}

/**
 * The delivery a sender of `format` makes for `alert`, authenticated with `secret` the way
 * that sender can be configured to. Slack and OpenZeppelin Monitor have no resolution of
 * their own: a Slack resolution is a `[RESOLVED]` message, as Alertmanager's slack_config
 * titles it; OpenZeppelin Monitor only reports matches, so it has none.
 */
export function delivery(format: SenderFormat, secret: string, alert: SenderAlertSpec): Delivery | undefined {
  const json = { "content-type": "application/json" };
  switch (format) {
    case "alertmanager": {
      const body = alertmanagerBody(alert.status, [amAlert(alert)]);
      return { path: "/alertmanager", headers: { ...json, authorization: `Bearer ${secret}` }, body };
    }
    case "grafana": {
      const body = grafanaBody(alert);
      return { path: "/grafana", headers: { ...json, ...grafanaSignature(secret, body) }, body };
    }
    case "pagerduty":
      return {
        path: "/pagerduty",
        headers: json,
        body: pagerdutyBody(secret, alert, `firedrill-${alert.name}`),
      };
    case "slack": {
      const text = `${alert.status === "resolved" ? "[RESOLVED] " : ""}${alert.summary ?? alert.name}`;
      const body = JSON.stringify({
        text,
        blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
      });
      return { path: `/slack/${secret}`, headers: json, body };
    }
    case "oz-monitor": {
      if (alert.status === "resolved") return undefined;
      const body = JSON.stringify({ title: alert.summary ?? alert.name, body: `${alert.name} matched` });
      return { path: "/oz-monitor", headers: { ...json, ...ozMonitorSignature(secret, body) }, body };
    }
  }
}
