/**
 * scenarios/kpis.yml: the incident detector's thresholds (what the reference stack alerts
 * on), the early-warning metrics, and the operational-efficiency targets.
 */
import { z } from "zod";
import { EVENT_NAME, SEVERITIES } from "../contract/alerts.ts";
import { duration, positiveDuration } from "../duration.ts";
import {
  type Problem,
  parseYaml,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";
import { SYSTEM_NAME, type SystemsMap, suggest } from "./systems-map.ts";

const severity = z.enum(SEVERITIES);
const eventName = z.string().regex(EVENT_NAME, { message: "an event name is UPPER_SNAKE_CASE" });
const systemName = z.string().regex(SYSTEM_NAME, { message: "a system name is lower_snake_case" });

/** Steps of the BCP's emergency playbook (docs/bcp.md) that a detector may trigger. */
export const ACTIONS = [
  "pause_non_critical",
  "activate_secondary_oracles",
  "notify",
  "emergency_rebalance",
  "batch_transactions",
  "cross_chain_failover",
] as const;
export type Action = (typeof ACTIONS)[number];

/** What each playbook step does, and the alert a stack posts when it has done it. */
export const ACTION_MEANINGS: Readonly<Record<Action, { does: string; posts: string }>> = {
  pause_non_critical: {
    does: "pauses non-critical operations on chain (minting stops); redemptions keep working",
    posts: "EMERGENCY_PAUSE",
  },
  activate_secondary_oracles: {
    does: "prices from the secondary sources, leaving out the stale or deviating one",
    posts: "SECONDARY_ORACLE_ACTIVATED",
  },
  notify: { does: "notifies the emergency team", posts: "TEAM_NOTIFIED" },
  emergency_rebalance: {
    does: "moves collateral from the treasury into the vault until the ratio is back above its target",
    posts: "EMERGENCY_REBALANCE",
  },
  batch_transactions: {
    does: "batches transactions to spend less gas per operation",
    posts: "TX_BATCHING_ENABLED",
  },
  cross_chain_failover: {
    does: "routes mints to the next chain in the lab's order (ethereum, then polygon, then arbitrum in the embedded lab)",
    posts: "CROSS_CHAIN_FAILOVER",
  },
};

/**
 * The detector each early warning precedes: the warning must fire at or before the
 * detector's threshold, or it warns of nothing.
 */
export const EARLY_WARNING_PRECEDES = {
  oracle_consensus_deviation: "oracle_deviation",
  redemption_queue_depth: "redemption_backlog",
  cross_chain_sync_lag: "cross_chain_sync_lag",
} as const;

/** What every detector says besides its threshold: which alert, how bad, about which system. */
const alert = {
  event: eventName,
  severity,
  system: systemName,
  /** Playbook steps run when it fires. @default [] */
  actions: z.array(z.enum(ACTIONS)).default([]),
  description: z.string().optional(),
};

const share = z.number().gt(0).lt(1);

/**
 * A threshold and the side of it that raises the alert. `alert_when` is fixed per
 * metric; writing it keeps the file readable on its own. `threshold` is the BCP's term.
 */
const below = <T extends z.ZodType>(threshold: T) => ({ threshold, alert_when: z.literal("below") });
const above = <T extends z.ZodType>(threshold: T) => ({ threshold, alert_when: z.literal("above") });

export const kpisSchema = z.strictObject({
  version: z.literal(1),
  detectors: z.strictObject({
    /** Alert when the collateral ratio falls below this (1.02 = 102%). */
    collateral_ratio: z.strictObject({ ...below(z.number().gt(0).max(100)), ...alert }),
    /** Alert when a source deviates from the median of the others by more than this share. */
    oracle_deviation: z.strictObject({ ...above(share), ...alert }),
    /** Alert when the base fee exceeds this many gwei. */
    gas_price: z.strictObject({ ...above(z.number().gt(0).max(100_000)), unit: z.literal("gwei"), ...alert }),
    /** Alert when this share of transactions fails. */
    transaction_failure_rate: z.strictObject({ ...above(share), ...alert }),
    /** Alert when more redemption requests than this are pending. */
    redemption_backlog: z.strictObject({ ...above(z.int().min(1)), ...alert }),
    /** Alert when the chains' views of supply and reserves drift apart by longer than this (ms). */
    cross_chain_sync_lag: z.strictObject({ ...above(positiveDuration), ...alert }),
  }),
  early_warning: z.strictObject({
    collateral_efficiency: z.strictObject({ ...below(share), severity, description: z.string().optional() }),
    oracle_consensus_deviation: z.strictObject({
      ...above(share),
      severity,
      description: z.string().optional(),
    }),
    redemption_queue_depth: z.strictObject({
      ...above(z.int().min(1)),
      severity,
      description: z.string().optional(),
    }),
    cross_chain_sync_lag: z.strictObject({
      ...above(positiveDuration),
      severity,
      description: z.string().optional(),
    }),
  }),
  operational_efficiency: z.strictObject({
    /** At least this share of mints succeeds over the window. */
    mint_success_rate: z.strictObject({
      target: share,
      measurement_window: positiveDuration,
      description: z.string().optional(),
    }),
    /** Redemptions take at most this long on average over the window (ms). */
    average_redemption_time: z.strictObject({
      target: positiveDuration,
      measurement_window: positiveDuration,
      description: z.string().optional(),
    }),
    /** At least this ratio of successful transactions to gas spent. */
    gas_efficiency_ratio: z.strictObject({ target: share, description: z.string().optional() }),
  }),
  response_targets: z
    .strictObject({
      /** A responder acknowledges the first page within (ms); past it, the next responder is paged. @default 5m */
      acknowledge: positiveDuration.default(5 * 60_000),
      /** Immediate assessment done within (ms). */
      assessment: positiveDuration,
      /** First incident alert sent within (ms). */
      communication: positiveDuration,
      /** Status updates at least this often until resolved (ms). */
      updates_every: positiveDuration,
      /** Mean time to recover (ms). */
      mttr: positiveDuration,
      /**
       * GameDay: divide the human limits by a replay's compression, so that a replay run 60
       * times faster holds people to limits 60 times shorter. Off by default: people do not
       * think faster because the market does. @default false
       */
      scale_with_replay_compression: z.boolean().default(false),
    })
    .optional(),
  /** Health-check interval of the collateral monitor (ms). @default 5000 */
  health_check_interval: duration.default(5_000),
});

export type Kpis = z.infer<typeof kpisSchema>;

/**
 * Reads and validates a KPI file; with a systems map, every detector's system must be in it.
 * @throws FiredrillError FD2xx at the line of the first problem.
 */
export function loadKpis(file: string, map?: SystemsMap): Kpis {
  return kpisFrom(readYamlFile(file), map);
}

/** Validates KPIs given as text. */
export function parseKpis(file: string, text: string, map?: SystemsMap): Kpis {
  return kpisFrom(parseYaml(file, text), map);
}

/** Validates an already parsed YAML file as KPIs. */
export function kpisFrom(src: YamlFile, map?: SystemsMap): Kpis {
  const kpis = validateAgainst(src, kpisSchema, "KPI file");
  const problems: Problem[] = [];
  for (const [name, detector] of Object.entries(kpis.detectors)) {
    if (map !== undefined && !map.systems.has(detector.system)) {
      problems.push({
        path: ["detectors", name, "system"],
        message: `unknown system "${detector.system}"${suggest(detector.system, [...map.systems.keys()])} in ${map.file}`,
        code: "FD204",
      });
    }
  }
  // An early warning that fires after the detector warns of nothing.
  const early = kpis.early_warning;
  const pairs = Object.entries(EARLY_WARNING_PRECEDES).map(
    ([warning, detector]) =>
      [
        warning,
        early[warning as keyof typeof EARLY_WARNING_PRECEDES].threshold,
        detector,
        kpis.detectors[detector].threshold,
      ] as const,
  );
  for (const [warning, warningAt, detector, detectorAt] of pairs) {
    if (warningAt > detectorAt) {
      problems.push({
        path: ["early_warning", warning, "threshold"],
        message: `warns later than the ${detector} detector (${detectorAt}): an early warning must fire first`,
        code: "FD210",
      });
    }
  }
  throwFirst(src, problems);
  return kpis;
}
