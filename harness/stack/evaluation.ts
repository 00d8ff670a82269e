/**
 * The stack's evaluation: every change (a head, an oracle poll, the heartbeat) schedules
 * one evaluation in a microtask, which takes a detector snapshot of the chains and the
 * oracles, raises and clears the alerts, runs or undoes the built-in safety steps and the
 * playbook of scenarios/kpis.yml, files a report for a critical condition, raises or
 * clears the secondary-oracle alert, and updates the metrics.
 */
import type { Alert, Alerter, Condition } from "./alerts.ts";
import { incidentAlert } from "./assess.ts";
import type { DetectorMeta, Thresholds } from "./config.ts";
import type { CrossChainManager } from "./crosschain.ts";
import { evaluate, type Snapshot } from "./detector.ts";
import type { EmergencyProtocols } from "./emergency.ts";
import type { StackMetrics } from "./metrics.ts";
import type { CollateralMonitor } from "./monitor.ts";
import type { Consensus, OracleAggregator } from "./oracle.ts";
import type { RedemptionQueue } from "./queue.ts";
import type { ComplianceReporter } from "./reporter.ts";
import { recommendedActions, type StackStatus } from "./status.ts";

const CRITICAL_REPORT_COOLDOWN_MS = 30_000;
/** How long an on-chain feed may deviate before it counts (a keeper round and a block). */
const FEED_DEVIATION_GRACE_MS = 1500;

export interface EvaluationParts {
  monitors: readonly CollateralMonitor[];
  byName: ReadonlyMap<string, CollateralMonitor>;
  aggregator: OracleAggregator;
  queue: RedemptionQueue;
  alerter: Alerter;
  emergency: EmergencyProtocols;
  crosschain: CrossChainManager;
  reporter: ComplianceReporter;
  metrics: StackMetrics;
  thresholds: Thresholds;
  detectorMeta: Record<string, DetectorMeta>;
  status: () => StackStatus;
}

export class Evaluation {
  /** The oracle consensus of the latest evaluation. */
  lastConsensus: Consensus[] = [];
  readonly #parts: EvaluationParts;
  #running = true;
  #ready = false;
  #scheduled = false;
  readonly #feedDeviationSince = new Map<string, number>();
  readonly #startedAt = Date.now();
  readonly #lastReportAt = new Map<string, number>();

  constructor(parts: EvaluationParts) {
    this.#parts = parts;
  }

  /** Asks for an evaluation; calls before it runs are one. */
  readonly schedule = (): void => {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#tick();
    });
  };

  /** No evaluation runs after this. */
  stop(): void {
    this.#running = false;
  }

  #tick(): void {
    if (!this.#running) return;
    const { monitors, aggregator, alerter, emergency, crosschain, thresholds, detectorMeta } = this.#parts;
    if (!this.#ready) {
      this.#ready =
        (monitors.every((m) => m.state.lastReadMs > 0) && aggregator.polls > 0) ||
        Date.now() - this.#startedAt > 5000;
      if (!this.#ready) return;
    }
    const now = Date.now();
    const { consensus, findings } = aggregator.evaluate(now);
    this.lastConsensus = consensus;
    const snapshot = this.#snapshot(now, findings);
    // An on-chain feed lags a market jump by up to a keeper round: only a deviation that
    // outlasts that is an incident (and a reason to stop minting at the feed's price).
    const raw = evaluate(snapshot, thresholds).map((c) => ({
      ...c,
      ...(detectorMeta[c.event]?.severity ? { severity: detectorMeta[c.event]!.severity! } : {}),
      ...(detectorMeta[c.event]?.system ? { system: detectorMeta[c.event]!.system! } : {}),
    }));
    const rawKeys = new Set(raw.map((c) => c.key));
    const since = this.#feedDeviationSince;
    for (const key of since.keys()) if (!rawKeys.has(key)) since.delete(key);
    const conditions = raw.filter((c) => {
      if (!c.key.startsWith("detect/oracle-deviation:feed:")) return true;
      const first = since.get(c.key) ?? now;
      since.set(c.key, first);
      return now - first >= FEED_DEVIATION_GRACE_MS || alerter.isActive(c.key);
    });
    const { raised, cleared } = alerter.reconcile("detect/", conditions);
    for (const c of raised) {
      const [kind, rest = ""] = c.key.slice("detect/".length).split(/:(.*)/s);
      // Built-in safety steps; where kpis.yml names the same step, the playbook runs it once.
      const playbook = new Set(detectorMeta[c.event]?.actions ?? []);
      if (kind === "collateral" && c.chain) {
        // A mint would leave the vault further under water: stop minting while it lasts.
        void emergency.pause(c.chain, "collateral");
        if (!playbook.has("emergency_rebalance")) void emergency.rebalance(c.chain, c.event);
      } else if (kind === "backlog") {
        if (!playbook.has("pause_non_critical")) void emergency.pause(crosschain.primary, "backlog");
      } else if (
        (kind === "oracle-deviation" || kind === "oracle-stale") &&
        rest.startsWith("feed:") &&
        c.chain
      ) {
        // The vault prices mints with this feed: stop minting on that chain until it is sound.
        void emergency.pause(c.chain, `feed:${c.key}`);
      }
      this.#runPlaybook(c);
      if (c.severity === "critical") this.#fileReport(conditionAlert(c));
    }
    for (const key of cleared) {
      this.#undoPlaybook(key);
      const [kind, rest = ""] = key.slice("detect/".length).split(/:(.*)/s);
      if (kind === "collateral") void emergency.release(rest, "collateral");
      else if (kind === "backlog") void emergency.release(crosschain.primary, "backlog");
      else if ((kind === "oracle-deviation" || kind === "oracle-stale") && rest.startsWith("feed:")) {
        for (const chain of this.#parts.byName.keys()) void emergency.release(chain, `feed:${key}`);
      }
    }
    this.#secondaryOracles(consensus);
    crosschain.update();
    this.#updateMetrics(snapshot);
  }

  /** What the detectors look at: each chain over the last minute, the oracles, the backlog, the sync lag. */
  #snapshot(now: number, findings: Snapshot["oracles"]): Snapshot {
    const { monitors, queue } = this.#parts;
    const backlog = queue.depth();
    const advances = monitors.map((m) => m.chain.lastAdvanceMs);
    return {
      chains: Object.fromEntries(
        monitors.map((m) => {
          const log = m.chain.txLog.filter((t) => t.atMs > now - 60_000);
          return [
            m.chain.name,
            {
              collateralRatio: m.state.collateralRatio,
              baseFeeGwei: m.chain.head ? Number(m.chain.head.baseFeeWei) / 1e9 : undefined,
              txSent: log.length,
              txFailed: log.filter((t) => !t.ok).length,
              halted: m.state.halted,
              sequencerUnavailable: m.state.sequencerUnavailable,
            },
          ];
        }),
      ),
      oracles: findings,
      redemptionBacklog: backlog,
      crossChainSyncLagSeconds:
        advances.length > 1 ? (Math.max(...advances) - Math.min(...advances)) / 1000 : 0,
    };
  }

  /** Secondary oracles: the primary source is out of the consensus for some pair. */
  #secondaryOracles(consensus: Consensus[]): void {
    const { aggregator, alerter } = this.#parts;
    const primaryName = aggregator.sources[0]?.name;
    const off = consensus.filter((c) => !c.primaryActive);
    if (primaryName && off.length > 0 && aggregator.sources.length > 1) {
      alerter.raise({
        key: "oracle-secondary",
        event: "SECONDARY_ORACLE_ACTIVATED",
        severity: "high",
        system: "price_oracles",
        chain: null,
        details: {
          primary: primaryName,
          pairs: off.map((c) => c.pair),
          using: off[0]!.usedSources,
          price: Object.fromEntries(off.map((c) => [c.pair, c.price])),
        },
      });
    } else if (off.length === 0) alerter.clear("oracle-secondary");
  }

  #fileReport(trigger: Alert): void {
    const last = this.#lastReportAt.get(trigger.event) ?? 0;
    if (Date.now() - last < CRITICAL_REPORT_COOLDOWN_MS) return;
    this.#lastReportAt.set(trigger.event, Date.now());
    void this.#parts.reporter.file(trigger);
  }

  /** The playbook steps scenarios/kpis.yml names for a detector, run when its condition is raised. */
  #runPlaybook(c: Condition): void {
    const { detectorMeta, crosschain, emergency, aggregator, alerter } = this.#parts;
    const actions = new Set(detectorMeta[c.event]?.actions ?? []);
    const chain = c.chain ?? crosschain.primary;
    if (actions.has("pause_non_critical")) void emergency.pause(chain, c.key);
    if (actions.has("emergency_rebalance") && c.chain) void emergency.rebalance(c.chain, c.event);
    if (actions.has("activate_secondary_oracles")) aggregator.secondaryForced.add(c.key);
    if (actions.has("batch_transactions")) crosschain.forceBatching(chain, c.key, true);
    if (actions.has("cross_chain_failover")) crosschain.force(chain, c.key, true);
    if (actions.has("notify")) {
      const s = this.#parts.status();
      alerter.emit("TEAM_NOTIFIED", "low", "reporting_systems", c.chain, {
        about: c.event,
        alert: incidentAlert(new Date().toISOString(), c.severity, [c], recommendedActions(s), {
          status: s.status,
          components: s.components,
        }),
      });
    }
  }

  /** Undoes what `#runPlaybook` started for a condition that cleared. */
  #undoPlaybook(key: string): void {
    const { byName, emergency, crosschain, aggregator } = this.#parts;
    for (const chain of byName.keys()) {
      void emergency.release(chain, key);
      crosschain.forceBatching(chain, key, false);
      crosschain.force(chain, key, false);
    }
    aggregator.secondaryForced.delete(key);
  }

  #updateMetrics(snapshot: Snapshot): void {
    const { monitors, metrics, crosschain } = this.#parts;
    for (const m of monitors) {
      const name = m.chain.name;
      const ratio = m.state.collateralRatio;
      if (ratio !== undefined && Number.isFinite(ratio)) {
        metrics.collateralRatio.set({ chain: name }, ratio);
        metrics.collateralEfficiency.set({ chain: name }, Math.min(1, ratio));
      }
      const c = snapshot.chains[name]!;
      if (c.baseFeeGwei !== undefined) metrics.baseFeeGwei.set({ chain: name }, c.baseFeeGwei);
      metrics.txFailureRate.set({ chain: name }, c.txSent === 0 ? 0 : c.txFailed / c.txSent);
      const log = m.chain.txLog;
      const total = log.reduce((a, t) => a + t.gasUsed, 0n);
      const good = log.reduce((a, t) => a + (t.ok ? t.gasUsed : 0n), 0n);
      metrics.gasEfficiency.set({ chain: name }, total === 0n ? 1 : Number(good) / Number(total));
      for (const p of m.chain.rpc.providers) {
        metrics.activeProvider.set(
          { chain: name, provider: p.name },
          p === m.chain.rpc.activeProvider ? 1 : 0,
        );
      }
    }
    for (const c of this.lastConsensus) {
      metrics.oracleConsensusDeviation.set({ pair: c.pair }, c.maxDeviation);
      if (c.price !== undefined) metrics.oraclePrice.set({ pair: c.pair }, c.price);
    }
    for (const a of crosschain.admission()) {
      metrics.mintAdmission.set({ chain: a.chain, state: "sending" }, a.sending);
      metrics.mintAdmission.set({ chain: a.chain, state: "waiting" }, a.waiting);
    }
    metrics.redemptionQueueDepth.set(snapshot.redemptionBacklog);
    metrics.crossChainSyncLag.set(snapshot.crossChainSyncLagSeconds);
  }
}

function conditionAlert(c: Condition): Alert {
  return {
    event: c.event,
    severity: c.severity,
    system: c.system,
    chain: c.chain,
    at: new Date().toISOString(),
    details: c.details,
  };
}
