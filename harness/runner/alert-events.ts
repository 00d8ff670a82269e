/**
 * The alert and action names that scenarios use to mark detection, response and
 * mitigation; docs/bcp.md says which playbook step each one stands for. A stack may post
 * others; a scenario that expects one of those declares it in `custom_events`.
 */
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
