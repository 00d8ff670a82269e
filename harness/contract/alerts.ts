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

/** What each standard event means (the BCP's alert table). */
export const EVENT_MEANINGS: Readonly<Record<AlertEvent, string>> = {
  CRITICAL_COLLATERAL_LOW: "collateral ratio below its threshold",
  ORACLE_DEVIATION: "a price source deviates from the others beyond its threshold",
  ORACLE_STALE: "a price source stopped answering or its price is too old",
  SECONDARY_ORACLE_ACTIVATED: "playbook step `activate_secondary_oracles`",
  RPC_FAILOVER: "a chain is read through its next RPC provider",
  GAS_SPIKE: "base fee above its threshold",
  TX_BATCHING_ENABLED: "playbook step `batch_transactions`",
  CROSS_CHAIN_FAILOVER: "playbook step `cross_chain_failover`",
  CHAIN_HALTED: "a chain stopped producing blocks",
  REORG_DETECTED: "blocks the stack had seen were replaced",
  TX_FAILURE_RATE: "the transaction failure rate passed its threshold",
  REDEMPTION_BACKLOG: "pending redemptions passed their threshold",
  EMERGENCY_PAUSE: "playbook step `pause_non_critical`",
  EMERGENCY_REBALANCE: "playbook step `emergency_rebalance`",
  REPORT_FILED: "a report was filed with the regulator",
  REPORT_FALLBACK: "the regulator could not be reached; a manual submission was prepared",
  RECOVERED: "a condition that raised an alert has cleared",
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
