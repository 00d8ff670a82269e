/**
 * The alert mapping (alerts.yml): how the alerts a team's own monitoring sends become
 * firedrill's events. Rules are tried in order; the first whose every `match` holds maps
 * the alert onto an event and a system. An alert no rule maps is recorded, never counted
 * towards a phase, so that a typo in a rule shows in the journal instead of passing as
 * silence.
 *
 *   version: 1
 *   rules:
 *     - match: { alertname: EthereumRpcDown }       # a label equal to this text
 *       event: RPC_FAILOVER
 *       system: rpc_providers
 *       chain: ethereum
 *     - match: { alertname: /^Oracle.*Stale$/ }       # a label matching /a regular expression/
 *       event: ORACLE_STALE
 *       system: price_oracles
 *       chain_label: chain                           # the chain from the alert's own label
 *   resolved: RECOVERED                              # what a resolved alert becomes
 */
import { z } from "zod";
import { ALERT_EVENTS, EVENT_NAME, isStandardEvent, SEVERITIES, type Severity } from "../contract/alerts.ts";
import type { SenderAlert } from "../contract/intake/format.ts";
import { chain as chainName } from "../names.ts";
import {
  type Problem,
  parseYaml,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";
import { SYSTEM_NAME, type SystemsMap, suggest } from "./systems-map.ts";

const FORMATS = ["alertmanager", "grafana", "pagerduty", "slack", "oz-monitor"] as const;

const eventName = z.string().regex(EVENT_NAME, { message: "an event name is UPPER_SNAKE_CASE" });

/** `/.../` is a regular expression (JavaScript syntax, unanchored); anything else is matched exactly. */
const matcher = z.string().min(1);

const ruleSchema = z.strictObject({
  /** Only deliveries of this format. @default every format */
  from: z.enum(FORMATS).optional(),
  /** Label (or field) name to the text it must equal, or `/regex/` it must match. */
  match: z
    .record(z.string().min(1), matcher)
    .refine((m) => Object.keys(m).length > 0, "needs at least one label"),
  event: eventName,
  system: z.string().regex(SYSTEM_NAME, { message: "a system name is lower_snake_case" }),
  /** The chain the alert is about. */
  chain: chainName.optional(),
  /** A label holding the chain's name, when the alert carries one. */
  chain_label: z.string().min(1).optional(),
  /** @default the alert's `severity` label when it is one of firedrill's, otherwise high */
  severity: z.enum(SEVERITIES).optional(),
});

export const alertMapSchema = z.strictObject({
  version: z.literal(1),
  rules: z.array(ruleSchema).min(1),
  /** What a resolved alert of a mapped rule becomes. @default RECOVERED */
  resolved: eventName.default("RECOVERED"),
  /** What a PagerDuty acknowledgement becomes; unset, it is recorded only. */
  acknowledged: eventName.optional(),
  /** Events the rules name that are not standard ones (a stack may post others). */
  custom_events: z.array(eventName).default([]),
});

export type AlertMapDocument = z.infer<typeof alertMapSchema>;

interface Rule {
  from: (typeof FORMATS)[number] | undefined;
  match: Array<[string, (value: string) => boolean]>;
  event: string;
  system: string;
  chain: string | undefined;
  chainLabel: string | undefined;
  severity: Severity | undefined;
}

export interface AlertMap {
  file: string;
  rules: readonly Rule[];
  resolved: string;
  acknowledged: string | undefined;
}

/** A sender alert as firedrill counts it, or why it is not counted. */
export type Mapped =
  | {
      mapped: true;
      event: string;
      system: string;
      chain: string | null;
      severity: Severity;
      /** Index of the rule that matched, from 0. */
      rule: number;
    }
  | { mapped: false; reason: string };

/** Reads and validates an alert mapping; with a systems map, every rule's system must be in it. */
export function loadAlertMap(file: string, map?: SystemsMap): AlertMap {
  return alertMapFrom(readYamlFile(file), map);
}

/** Validates an alert mapping given as text. */
export function parseAlertMap(file: string, text: string, map?: SystemsMap): AlertMap {
  return alertMapFrom(parseYaml(file, text), map);
}

function compile(pattern: string): { test: (value: string) => boolean } | string {
  const regex = /^\/(.*)\/([imsu]*)$/s.exec(pattern);
  if (regex === null) return { test: (value) => value === pattern };
  try {
    const compiled = new RegExp(regex[1]!, regex[2]);
    return { test: (value) => compiled.test(value) };
  } catch (error) {
    return `not a regular expression: ${(error as Error).message}`;
  }
}

/** Validates an already parsed YAML file as an alert mapping. */
export function alertMapFrom(src: YamlFile, map?: SystemsMap): AlertMap {
  const doc = validateAgainst(src, alertMapSchema, "alert mapping");
  const problems: Problem[] = [];
  const custom = new Set(doc.custom_events);
  const checkEvent = (path: PropertyKey[], event: string) => {
    if (!isStandardEvent(event) && !custom.has(event)) {
      problems.push({
        path,
        message: `unknown event "${event}"${suggest(event, [...ALERT_EVENTS, ...custom])}: use one of the standard events or declare it in custom_events`,
        code: "FD208",
      });
    }
  };
  const rules: Rule[] = doc.rules.map((rule, i) => {
    checkEvent(["rules", i, "event"], rule.event);
    if (map !== undefined && !map.systems.has(rule.system)) {
      problems.push({
        path: ["rules", i, "system"],
        message: `unknown system "${rule.system}"${suggest(rule.system, [...map.systems.keys()])} in ${map.file}`,
        code: "FD204",
      });
    }
    if (rule.chain !== undefined && rule.chain_label !== undefined) {
      problems.push({
        path: ["rules", i, "chain_label"],
        message: "give chain or chain_label, not both",
        code: "FD201",
      });
    }
    const match: Rule["match"] = [];
    for (const [label, pattern] of Object.entries(rule.match)) {
      const compiled = compile(pattern);
      if (typeof compiled === "string") {
        problems.push({ path: ["rules", i, "match", label], message: compiled, code: "FD201" });
      } else match.push([label, compiled.test]);
    }
    return {
      from: rule.from,
      match,
      event: rule.event,
      system: rule.system,
      chain: rule.chain,
      chainLabel: rule.chain_label,
      severity: rule.severity,
    };
  });
  checkEvent(["resolved"], doc.resolved);
  if (doc.acknowledged !== undefined) checkEvent(["acknowledged"], doc.acknowledged);
  throwFirst(src, problems);
  return { file: src.file, rules, resolved: doc.resolved, acknowledged: doc.acknowledged };
}

const isSeverity = (value: string | undefined): value is Severity =>
  value !== undefined && (SEVERITIES as readonly string[]).includes(value);

/** The first rule that maps `alert` from a delivery of `format`, and what it becomes. */
export function mapAlert(alertMap: AlertMap, format: string, alert: SenderAlert): Mapped {
  const index = alertMap.rules.findIndex(
    (rule) =>
      (rule.from === undefined || rule.from === format) &&
      rule.match.every(([label, test]) => {
        const value =
          label === "name" && alert.labels[label] === undefined ? alert.name : alert.labels[label];
        return value !== undefined && test(value);
      }),
  );
  if (index < 0) return { mapped: false, reason: `no rule of ${alertMap.file} matches "${alert.name}"` };
  const rule = alertMap.rules[index]!;
  let event = rule.event;
  if (alert.status === "resolved") event = alertMap.resolved;
  if (alert.status === "acknowledged") {
    if (alertMap.acknowledged === undefined) {
      return { mapped: false, reason: `an acknowledgement of "${alert.name}" (acknowledged is not mapped)` };
    }
    event = alertMap.acknowledged;
  }
  const chain = rule.chain ?? (rule.chainLabel === undefined ? undefined : alert.labels[rule.chainLabel]);
  const labelled = alert.labels["severity"];
  return {
    mapped: true,
    event,
    system: rule.system,
    chain: chain ?? null,
    severity: rule.severity ?? (isSeverity(labelled) ? labelled : "high"),
    rule: index,
  };
}
