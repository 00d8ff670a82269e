/**
 * The incident detector: a pure function from a snapshot of the stack's measurements to
 * the conditions that hold, against the thresholds of scenarios/kpis.yml. The stack turns
 * new conditions into alerts and emergency actions, and cleared ones into RECOVERED.
 */
import type { Condition } from "./alerts.ts";
import type { Thresholds } from "./config.ts";

export interface ChainSnapshot {
  /** Vault collateral ratio (1.0 = fully backed); undefined before the first read. */
  collateralRatio?: number | undefined;
  /** Base fee of the latest block, gwei. */
  baseFeeGwei?: number | undefined;
  /** Transactions the stack sent in the window, and how many failed. */
  txSent: number;
  txFailed: number;
  /** No provider's head advanced for several block intervals. */
  halted: boolean;
  /** L2 sequencer down, or up for less than the grace period. */
  sequencerUnavailable?: boolean | undefined;
}

export interface OracleFinding {
  source: string;
  pair: string;
  /** Relative deviation from the consensus (median). */
  deviation?: number | undefined;
  /** Extra tolerance for this source (an on-chain feed's own deviation threshold). */
  tolerance?: number | undefined;
  stale?: string | undefined;
  chain?: string | undefined;
}

export interface Snapshot {
  chains: Record<string, ChainSnapshot>;
  oracles: OracleFinding[];
  redemptionBacklog: number;
  crossChainSyncLagSeconds: number;
}

/** Fewer transactions than this in the window say nothing about the failure rate. */
export const MIN_TX_SAMPLE = 20;

/** The conditions that hold for `snapshot` under `thresholds`. */
export function evaluate(snapshot: Snapshot, thresholds: Thresholds): Condition[] {
  const out: Condition[] = [];
  for (const [chain, c] of Object.entries(snapshot.chains)) {
    if (c.collateralRatio !== undefined && c.collateralRatio < thresholds.collateralRatio) {
      out.push({
        key: `detect/collateral:${chain}`,
        event: "CRITICAL_COLLATERAL_LOW",
        severity: "critical",
        system: "collateral_management",
        chain,
        details: { collateralRatio: round(c.collateralRatio), threshold: thresholds.collateralRatio },
      });
    }
    if (c.baseFeeGwei !== undefined && c.baseFeeGwei > thresholds.gasPriceGwei) {
      out.push({
        key: `detect/gas:${chain}`,
        event: "GAS_SPIKE",
        severity: "high",
        system: "chains",
        chain,
        details: { baseFeeGwei: round(c.baseFeeGwei), thresholdGwei: thresholds.gasPriceGwei },
      });
    }
    if (c.txSent >= MIN_TX_SAMPLE && c.txFailed / c.txSent > thresholds.txFailureRate) {
      out.push({
        key: `detect/txfail:${chain}`,
        event: "TX_FAILURE_RATE",
        severity: "high",
        system: "minting_contracts",
        chain,
        details: {
          failureRate: round(c.txFailed / c.txSent),
          sent: c.txSent,
          threshold: thresholds.txFailureRate,
        },
      });
    }
    if (c.halted) {
      out.push({
        key: `detect/halted:${chain}`,
        event: "CHAIN_HALTED",
        severity: "critical",
        system: "chains",
        chain,
        details: {},
      });
    }
    if (c.sequencerUnavailable) {
      out.push({
        key: `detect/sequencer:${chain}`,
        event: "SEQUENCER_DOWN",
        severity: "high",
        system: "chains",
        chain,
        details: {},
      });
    }
  }
  for (const f of snapshot.oracles) {
    if (f.stale !== undefined) {
      // One condition per source: an outage of a source is one incident, whatever the pairs.
      const key = `detect/oracle-stale:${f.source}`;
      const existing = out.find((c) => c.key === key);
      if (existing) (existing.details["pairs"] as string[]).push(f.pair);
      else {
        out.push({
          key,
          event: "ORACLE_STALE",
          severity: "high",
          system: "price_oracles",
          chain: f.chain ?? null,
          details: { source: f.source, pairs: [f.pair], reason: f.stale },
        });
      }
    } else if (f.deviation !== undefined && f.deviation > thresholds.oracleDeviation + (f.tolerance ?? 0)) {
      out.push({
        key: `detect/oracle-deviation:${f.source}:${f.pair}`,
        event: "ORACLE_DEVIATION",
        severity: "critical",
        system: "price_oracles",
        chain: f.chain ?? null,
        details: {
          source: f.source,
          pair: f.pair,
          deviation: round(f.deviation),
          threshold: thresholds.oracleDeviation + (f.tolerance ?? 0),
        },
      });
    }
  }
  if (snapshot.redemptionBacklog > thresholds.redemptionBacklog) {
    out.push({
      key: "detect/backlog",
      event: "REDEMPTION_BACKLOG",
      severity: "critical",
      system: "redemption_engine",
      chain: null,
      details: { pending: snapshot.redemptionBacklog, threshold: thresholds.redemptionBacklog },
    });
  }
  if (snapshot.crossChainSyncLagSeconds > thresholds.crossChainSyncLagSeconds) {
    out.push({
      key: "detect/synclag",
      event: "CROSS_CHAIN_SYNC_LAG",
      severity: "high",
      system: "reserve_monitoring",
      chain: null,
      details: {
        lagSeconds: round(snapshot.crossChainSyncLagSeconds),
        threshold: thresholds.crossChainSyncLagSeconds,
      },
    });
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
