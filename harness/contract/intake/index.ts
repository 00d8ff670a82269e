/**
 * The sender formats of the alert intake that read what monitoring tools already send:
 * Prometheus Alertmanager, Grafana Alerting, PagerDuty Events API v2, Slack incoming
 * webhooks and OpenZeppelin Monitor, each on its own path of the receiver; and the look-up
 * of one by its name.
 */
import { alertmanagerFormat } from "./alertmanager.ts";
import type { IntakeFormat } from "./format.ts";
import { grafanaFormat } from "./grafana.ts";
import { ozMonitorFormat } from "./oz-monitor.ts";
import { pagerdutyFormat } from "./pagerduty.ts";
import { slackFormat } from "./slack.ts";

export const INTAKE_FORMATS: readonly IntakeFormat[] = Object.freeze([
  alertmanagerFormat,
  grafanaFormat,
  pagerdutyFormat,
  slackFormat,
  ozMonitorFormat,
]);

/** The format of that name (as in alerts.yml and `--format`), or undefined when there is none. */
export function formatByName(name: string): IntakeFormat | undefined {
  return INTAKE_FORMATS.find((format) => format.name === name);
}

/**
 * How a scenario's `expect` names a sender's own alert: `<format>:<alert name>`, e.g.
 * `alertmanager:RpcProviderDown`. Such an entry is reached when that sender's alert fires,
 * whether or not a mapping rule maps it.
 */
export const SENDER_ALERT_KEY = /^([a-z][a-z-]*):(\S(?:.*\S)?)$/;

/** The `expect` key of a sender's alert. */
export function senderAlertKey(format: IntakeFormat["name"], name: string): string {
  return `${format}:${name}`;
}
