/**
 * The stack's status, as GET /status and /health answer it and as the compliance report
 * carries it: each component of the systems map ok, degraded or down, each chain's head,
 * provider and collateral, the oracle consensus, the redemption counts and the active
 * conditions; and the next actions it recommends.
 */
import type { Alerter, Condition } from "./alerts.ts";
import type { Thresholds } from "./config.ts";
import type { CrossChainManager } from "./crosschain.ts";
import type { CollateralMonitor } from "./monitor.ts";
import type { Consensus } from "./oracle.ts";
import type { RedemptionQueue } from "./queue.ts";
import type { RedemptionEngine } from "./redemptions.ts";
import type { ComplianceReporter } from "./reporter.ts";

export interface ComponentHealth {
  status: "ok" | "degraded" | "down";
  tier: number;
  details: Record<string, unknown>;
}

export interface StackStatus {
  status: "ok" | "degraded" | "down";
  at: string;
  components: Record<string, ComponentHealth>;
  chains: Record<
    string,
    {
      head: number | undefined;
      provider: string;
      collateralRatio: number | undefined;
      baseFeeGwei: number | undefined;
      halted: boolean;
      mintingPaused: boolean | undefined;
    }
  >;
  oracles: Consensus[];
  redemptions: { pending: number; paid: number; failed: number };
  mintChain: string | null;
  activeConditions: Condition[];
}

/** What the status is read from. */
export interface StatusSources {
  monitors: readonly CollateralMonitor[];
  byName: ReadonlyMap<string, CollateralMonitor>;
  queue: RedemptionQueue;
  crosschain: CrossChainManager;
  reporter: ComplianceReporter;
  engine: RedemptionEngine;
  alerter: Alerter;
  thresholds: Thresholds;
  /** Tier of each component, from the systems map; 2 for one it does not name. */
  tiers: Record<string, number>;
  /** The oracle consensus of the latest evaluation. */
  consensus: () => Consensus[];
}

export function stackStatus(s: StatusSources): StackStatus {
  const { monitors, crosschain, reporter, alerter, thresholds } = s;
  const lastConsensus = s.consensus();
  const counts = s.queue.counts();
  const pending = counts.queued + counts.sending;
  const mintChain = crosschain.preferred() ?? null;
  const component = (
    name: string,
    state: "ok" | "degraded" | "down",
    details: Record<string, unknown>,
  ): [string, ComponentHealth] => [name, { status: state, tier: s.tiers[name] ?? 2, details }];
  const readable = monitors.filter((m) => m.state.readError === undefined && m.state.lastReadMs > 0);
  const collateralLow = monitors.some((m) => (m.state.collateralRatio ?? 2) < thresholds.collateralRatio);
  const lastFiling = reporter.filings.at(-1);
  const priceMissing = lastConsensus.some((c) => c.price === undefined);
  const secondary = lastConsensus.some((c) => !c.primaryActive);
  const primaryChain = s.byName.get(crosschain.primary);
  const components = Object.fromEntries([
    component(
      "collateral_management",
      readable.length === 0 ? "down" : collateralLow || readable.length < monitors.length ? "degraded" : "ok",
      { readableChains: readable.map((m) => m.chain.name) },
    ),
    component("price_oracles", priceMissing ? "down" : secondary ? "degraded" : "ok", {
      primaryActive: !secondary,
    }),
    component(
      "redemption_engine",
      // Redemptions are still accepted and stored while the chain cannot pay them: degraded, not down.
      primaryChain?.state.halted || primaryChain?.state.paused || pending > thresholds.redemptionBacklog
        ? "degraded"
        : "ok",
      { pending, lastError: s.engine.lastError ?? null },
    ),
    component(
      "minting_contracts",
      crosschain.rotation === 0
        ? "ok" // only a team's chains: nothing of the lab's to mint on, nothing down
        : mintChain === null
          ? "down"
          : mintChain !== crosschain.primary
            ? "degraded"
            : "ok",
      {
        mintChain,
      },
    ),
    component("reserve_monitoring", alerter.isActive("detect/synclag") ? "degraded" : "ok", {
      syncLagAlert: alerter.isActive("detect/synclag"),
    }),
    component(
      "rpc_providers",
      monitors.some((m) => m.health.every((h) => !h.ok))
        ? "down"
        : monitors.some((m) => m.activeProvider !== "primary")
          ? "degraded"
          : "ok",
      { active: Object.fromEntries(monitors.map((m) => [m.chain.name, m.activeProvider])) },
    ),
    component("chains", monitors.some((m) => m.state.halted) ? "degraded" : "ok", {
      halted: monitors.filter((m) => m.state.halted).map((m) => m.chain.name),
    }),
    component("compliance_tools", lastFiling && !lastFiling.filed ? "degraded" : "ok", {
      filings: reporter.filings.length,
    }),
    component("reporting_systems", "ok", { backups: reporter.filings.length }),
    component("api_endpoints", "ok", {}),
  ]);
  const list = Object.values(components);
  const overall = list.some((c) => c.status === "down" && c.tier === 1)
    ? "down"
    : list.some((c) => c.status !== "ok")
      ? "degraded"
      : "ok";
  return {
    status: overall,
    at: new Date().toISOString(),
    components,
    chains: Object.fromEntries(
      monitors.map((m) => [
        m.chain.name,
        {
          head: m.chain.head?.number,
          provider: m.activeProvider,
          collateralRatio: m.state.collateralRatio,
          baseFeeGwei: m.chain.head ? Number(m.chain.head.baseFeeWei) / 1e9 : undefined,
          halted: m.state.halted,
          mintingPaused: m.state.nonCriticalPaused,
        },
      ]),
    ),
    oracles: lastConsensus,
    redemptions: { pending, paid: counts.paid, failed: counts.failed },
    mintChain,
    activeConditions: alerter.active(),
  };
}

/** The recommended next actions for a status (the "Next Steps" of the BCP's incident alert). */
export function recommendedActions(s: StackStatus): string[] {
  const out: string[] = [];
  const events = new Set(s.activeConditions.map((c) => c.event));
  if (events.has("CRITICAL_COLLATERAL_LOW"))
    out.push("Collateral below threshold: confirm the emergency rebalance and keep minting paused");
  if (
    events.has("ORACLE_DEVIATION") ||
    events.has("ORACLE_STALE") ||
    events.has("SECONDARY_ORACLE_ACTIVATED")
  ) {
    out.push("Price sources disagree or are stale: price from the secondary oracles, verify the feeds");
  }
  if (events.has("CHAIN_HALTED") || events.has("CROSS_CHAIN_FAILOVER")) {
    out.push(
      `Primary chain unavailable: emergency mints go to ${s.mintChain ?? "no chain (manual intervention)"}`,
    );
  }
  if (events.has("GAS_SPIKE")) out.push("Gas spike: batch transactions, route mints to the next chain");
  if (events.has("RPC_FAILOVER") || events.has("RPC_ALL_PROVIDERS_DOWN"))
    out.push("RPC provider failing: check the provider, fail back when healthy");
  if (events.has("REDEMPTION_BACKLOG"))
    out.push("Redemption backlog: pause non-critical operations, add redemption capacity");
  if (events.has("TX_FAILURE_RATE"))
    out.push("Transactions failing: check nonces, gas and the vault's pause state");
  if (out.length === 0) out.push("No incident: keep monitoring");
  out.push("Prepare the regulatory notification if the incident lasts beyond the tier's RTO");
  return out;
}
