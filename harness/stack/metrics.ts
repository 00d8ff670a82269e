/**
 * Prometheus metrics of the stack (prom-client, one registry per stack): the BCP's KPIs
 * and the gateway's request latency. No label ever carries a key, token or address.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface StackMetrics {
  registry: Registry;
  collateralRatio: Gauge<"chain">;
  collateralEfficiency: Gauge<"chain">;
  oracleConsensusDeviation: Gauge<"pair">;
  oraclePrice: Gauge<"pair">;
  redemptionQueueDepth: Gauge;
  crossChainSyncLag: Gauge;
  mintSuccessRate: Gauge;
  mintAdmission: Gauge<"chain" | "state">;
  mints: Counter<"chain" | "outcome">;
  redemptions: Counter<"outcome">;
  redemptionDuration: Histogram;
  gasEfficiency: Gauge<"chain">;
  baseFeeGwei: Gauge<"chain">;
  txFailureRate: Gauge<"chain">;
  activeProvider: Gauge<"chain" | "provider">;
  alerts: Counter<"event" | "severity">;
  httpDuration: Histogram<"method" | "route" | "status">;
}

/** A fresh registry with every metric of the stack. */
export function createMetrics(): StackMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    collateralRatio: new Gauge({
      name: "firedrill_collateral_ratio",
      help: "Vault collateral value over fdUSD supply, per chain",
      labelNames: ["chain"],
      registers,
    }),
    collateralEfficiency: new Gauge({
      name: "firedrill_collateral_efficiency",
      help: "Share of the fdUSD liabilities covered by collateral, capped at 1 (BCP warning threshold 0.98)",
      labelNames: ["chain"],
      registers,
    }),
    oracleConsensusDeviation: new Gauge({
      name: "firedrill_oracle_consensus_deviation",
      help: "Largest relative deviation of a healthy price source from the median",
      labelNames: ["pair"],
      registers,
    }),
    oraclePrice: new Gauge({
      name: "firedrill_oracle_price_usd",
      help: "Price the stack uses (primary source, or the secondaries' median)",
      labelNames: ["pair"],
      registers,
    }),
    redemptionQueueDepth: new Gauge({
      name: "firedrill_redemption_queue_depth",
      help: "Accepted redemptions not yet paid",
      registers,
    }),
    crossChainSyncLag: new Gauge({
      name: "firedrill_cross_chain_sync_lag_seconds",
      help: "Time between the freshest and the stalest chain head",
      registers,
    }),
    mintAdmission: new Gauge({
      name: "firedrill_mints_in_flight",
      help: "Mints per chain with a transaction in flight (state=sending) or waiting for a place (state=waiting)",
      labelNames: ["chain", "state"],
      registers,
    }),
    mintSuccessRate: new Gauge({
      name: "firedrill_mint_success_rate",
      help: "Share of mint requests that succeeded since start",
      registers,
    }),
    mints: new Counter({
      name: "firedrill_mints_total",
      help: "Mint requests by chain and outcome",
      labelNames: ["chain", "outcome"],
      registers,
    }),
    redemptions: new Counter({
      name: "firedrill_redemptions_total",
      help: "Redemptions by outcome",
      labelNames: ["outcome"],
      registers,
    }),
    redemptionDuration: new Histogram({
      name: "firedrill_redemption_duration_seconds",
      help: "From acceptance to payment on chain",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 300],
      registers,
    }),
    gasEfficiency: new Gauge({
      name: "firedrill_gas_efficiency_ratio",
      help: "Gas used by successful transactions over all gas used, last minute",
      labelNames: ["chain"],
      registers,
    }),
    baseFeeGwei: new Gauge({
      name: "firedrill_base_fee_gwei",
      help: "Base fee of the latest block",
      labelNames: ["chain"],
      registers,
    }),
    txFailureRate: new Gauge({
      name: "firedrill_tx_failure_rate",
      help: "Share of the stack's transactions that failed, last minute",
      labelNames: ["chain"],
      registers,
    }),
    activeProvider: new Gauge({
      name: "firedrill_rpc_provider_active",
      help: "1 for the RPC provider in use per chain",
      labelNames: ["chain", "provider"],
      registers,
    }),
    alerts: new Counter({
      name: "firedrill_alerts_total",
      help: "Alerts and actions posted",
      labelNames: ["event", "severity"],
      registers,
    }),
    httpDuration: new Histogram({
      name: "firedrill_http_request_duration_seconds",
      help: "Gateway request latency",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}
