/**
 * What each standard event means, for the generated pages. Keyed by the standard list
 * itself: a new event without a meaning here does not type-check, and the generator
 * refuses to run.
 */
import { bugError } from "../errors.ts";
import { ALERT_EVENTS, type AlertEvent } from "./contract-sources.ts";
import { code, table } from "./markdown.ts";

type Phase = "detection" | "response" | "mitigation" | "-";

export const EVENT_MEANINGS: Record<AlertEvent, { meaning: string; phase: Phase }> = {
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

/** The standard events in the order of the standard list, with meaning and usual phase. */
export function eventTable(): string {
  const described = Object.keys(EVENT_MEANINGS);
  const missing = ALERT_EVENTS.filter((event) => !described.includes(event));
  const extra = described.filter((event) => !(ALERT_EVENTS as readonly string[]).includes(event));
  if (missing.length > 0 || extra.length > 0) {
    throw bugError(
      `harness/docs/events.ts: standard events without a meaning: [${missing.join(", ")}]; meanings of no standard event: [${extra.join(", ")}]`,
    );
  }
  return table(
    ["event", "meaning", "usual phase"],
    ALERT_EVENTS.map((event) => [code(event), EVENT_MEANINGS[event].meaning, EVENT_MEANINGS[event].phase]),
  );
}
