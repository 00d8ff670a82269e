/**
 * What a system under test posts to the alert webhook: one JSON alert per detection or
 * action, `{event, severity, system, chain, at, details}`. The standard event names mark
 * detection, response and mitigation in scenarios; docs/bcp.md says which playbook step
 * each one stands for. A stack may post others; a scenario that expects one of those
 * declares it in `custom_events`.
 */
import { z } from "zod";

export const ALERT_EVENTS = [
  "CRITICAL_COLLATERAL_LOW",
  "ORACLE_DEVIATION",
  "ORACLE_STALE",
  "SECONDARY_ORACLE_ACTIVATED",
  "RPC_FAILOVER",
  "RPC_PROVIDER_LAGGING",
  "RPC_PROVIDER_FORKED",
  "RPC_PROVIDERS_DISAGREE",
  "RPC_RATE_LIMITED",
  "RPC_METHOD_ERRORS",
  "RPC_BATCH_LIMITED",
  "GAS_SPIKE",
  "TX_BATCHING_ENABLED",
  "CROSS_CHAIN_FAILOVER",
  "CHAIN_HALTED",
  "REORG_DETECTED",
  "TX_FAILURE_RATE",
  "REDEMPTION_BACKLOG",
  "EMERGENCY_PAUSE",
  "EMERGENCY_REBALANCE",
  "REPORT_FILED",
  "REPORT_FALLBACK",
  "RECOVERED",
] as const;

export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** Severities of a webhook alert, most severe first. */
export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Shape of an event name: upper snake case. */
export const EVENT_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Whether `name` is one of the standard event names above. */
export function isStandardEvent(name: string): name is AlertEvent {
  return (ALERT_EVENTS as readonly string[]).includes(name);
}

/**
 * What each standard event means, and the phase of an incident it usually marks
 * (detection, response, mitigation; `-` for none). Keyed by the standard list itself, so a
 * new event without a meaning does not type-check.
 */
export const EVENT_MEANINGS: Readonly<
  Record<AlertEvent, { meaning: string; phase: "detection" | "response" | "mitigation" | "-" }>
> = {
  CRITICAL_COLLATERAL_LOW: { meaning: "collateral ratio below its threshold", phase: "detection" },
  ORACLE_DEVIATION: {
    meaning: "a price source deviates from the others beyond its threshold",
    phase: "detection",
  },
  ORACLE_STALE: { meaning: "a price source stopped answering or its price is too old", phase: "detection" },
  SECONDARY_ORACLE_ACTIVATED: {
    meaning: "playbook step `activate_secondary_oracles`: prices from the secondary sources",
    phase: "response",
  },
  RPC_FAILOVER: { meaning: "a chain is read through its next RPC provider", phase: "detection" },
  RPC_PROVIDER_LAGGING: {
    meaning: "an RPC provider answers from a head blocks behind its peers'",
    phase: "detection",
  },
  RPC_PROVIDER_FORKED: {
    meaning: "an RPC provider gives a block hash the majority of its peers does not: it follows a fork",
    phase: "detection",
  },
  RPC_PROVIDERS_DISAGREE: {
    meaning: "a chain's RPC providers disagree on a block hash with no majority: its reads cannot be trusted",
    phase: "detection",
  },
  RPC_RATE_LIMITED: {
    meaning: "an RPC provider refuses requests for their rate (HTTP 429 or JSON-RPC -32005)",
    phase: "detection",
  },
  RPC_METHOD_ERRORS: {
    meaning: "an RPC provider fails some methods while the rest work; those calls go to another provider",
    phase: "detection",
  },
  RPC_BATCH_LIMITED: {
    meaning: "an RPC provider refuses JSON-RPC batches above a size; smaller ones are sent",
    phase: "detection",
  },
  GAS_SPIKE: { meaning: "base fee above its threshold", phase: "detection" },
  TX_BATCHING_ENABLED: {
    meaning: "playbook step `batch_transactions`: less gas per operation",
    phase: "response",
  },
  CROSS_CHAIN_FAILOVER: {
    meaning: "playbook step `cross_chain_failover`: mints routed to the next chain",
    phase: "response",
  },
  CHAIN_HALTED: { meaning: "a chain stopped producing blocks", phase: "detection" },
  REORG_DETECTED: { meaning: "blocks the stack had seen were replaced", phase: "detection" },
  TX_FAILURE_RATE: { meaning: "the transaction failure rate passed its threshold", phase: "detection" },
  REDEMPTION_BACKLOG: { meaning: "pending redemptions passed their threshold", phase: "detection" },
  EMERGENCY_PAUSE: {
    meaning: "playbook step `pause_non_critical`: minting stops, redemptions go on",
    phase: "response",
  },
  EMERGENCY_REBALANCE: {
    meaning: "playbook step `emergency_rebalance`: collateral moved from the treasury into the vault",
    phase: "response",
  },
  REPORT_FILED: { meaning: "a report was filed with the regulator", phase: "mitigation" },
  REPORT_FALLBACK: {
    meaning: "the regulator could not be reached; a manual submission was prepared",
    phase: "detection",
  },
  RECOVERED: { meaning: "a condition that raised an alert has cleared", phase: "-" },
};

/** One alert as posted; `chain` and `details` may be left out by a stack that has none. */
export const alertSchema = z.object({
  event: z.string().regex(EVENT_NAME),
  severity: z.enum(SEVERITIES),
  /** A system of scenarios/systems-map.yml. */
  system: z.string(),
  chain: z.string().nullable().optional(),
  /** ISO-8601 with an offset, e.g. `2025-01-31T12:00:00.000Z`. */
  at: z.iso.datetime({ offset: true }),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type Alert = z.infer<typeof alertSchema>;

/** What a receiver tells a sender whose body is not an alert. */
export const ALERT_SHAPE = '{"event","severity","system","chain","at","details"}';
