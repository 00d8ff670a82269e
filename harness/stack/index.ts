/**
 * The reference monitoring stack, the default system under test. `startStack` reads only
 * the SUT contract (environment variables, lab.json, webhook, HTTP endpoints), so a
 * user's own stack can take its place one for one.
 */
import { join } from "node:path";
import type { SutEnvVars } from "../contract/env.ts";
import { registerSecret } from "../redact.ts";
import { type Alert, Alerter, type Condition } from "./alerts.ts";
import { incidentAlert } from "./assess.ts";
import { ChainClient } from "./chain.ts";
import {
  loadDetectorMeta,
  loadStackConfig,
  loadThresholds,
  loadTiers,
  type StackConfig,
  type Thresholds,
} from "./config.ts";
import { CrossChainManager } from "./crosschain.ts";
import { evaluate, type Snapshot } from "./detector.ts";
import { EmergencyProtocols } from "./emergency.ts";
import { startGateway } from "./gateway.ts";
import { createMetrics } from "./metrics.ts";
import { CollateralMonitor } from "./monitor.ts";
import { type Consensus, OracleAggregator } from "./oracle.ts";
import { RedemptionQueue } from "./queue.ts";
import { RedemptionEngine } from "./redemptions.ts";
import { ComplianceReporter } from "./reporter.ts";
import { WebhookPoster } from "./webhook.ts";

export interface StackOptions {
  /** Holds every alert back this long, to slow detection down on purpose. @default 0 */
  detectionDelayMs?: number;
  /** Head and oracle polling interval, ms. @default min(100, block time / 4) per chain; 100 for oracles */
  pollMs?: number;
  /** Folder for the redemption queue, report backups and manual submissions. @default ".firedrill/stack" */
  dataDir?: string;
  /** Overrides of scenarios/kpis.yml. */
  thresholds?: Partial<Thresholds>;
  /** Per JSON-RPC call. @default clamp(block time / 2, 250, 1000) of the fastest chain */
  rpcTimeoutMs?: number;
  /** Per price source request. @default 400 */
  oracleTimeoutMs?: number;
  /** A source quote older than this is stale. @default 2000 */
  sourceMaxAgeMs?: number;
  /** How long POST /redeem waits for the payment before answering 202. @default 10000 */
  redeemWaitMs?: number;
  /** Holds every mint and redeem answer back this long, to slow the gateway on purpose. @default 0 */
  gatewayDelayMs?: number;
  /** Most mint transactions in flight per chain; further mints wait for a place. @default 32 */
  maxMintsInFlight?: number;
  /** Longest a mint waits for a place on a busy chain before it tries the next, ms. @default 10000 */
  admissionTimeoutMs?: number;
  /** Regulator filing deadline. @default 10000 */
  reportDeadlineMs?: number;
  /** A line per alert and lifecycle step. */
  log?: (line: string) => void;
}

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

export interface RunningStack {
  port: number;
  config: StackConfig;
  thresholds: Thresholds;
  /** Every alert posted so far (last 1000). */
  alerts: readonly Alert[];
  status(): StackStatus;
  close(): Promise<void>;
}

const CRITICAL_REPORT_COOLDOWN_MS = 30_000;
/** How long an on-chain feed may deviate before it counts (a keeper round and a block). */
const FEED_DEVIATION_GRACE_MS = 1500;

/** Starts the stack against the lab the environment describes. */
export async function startStack(env: SutEnvVars, options: StackOptions = {}): Promise<RunningStack> {
  const config = loadStackConfig(env);
  registerSecret(config.gatewayToken);
  registerSecret(config.webhookSecret);
  const thresholds: Thresholds = { ...loadThresholds(), ...options.thresholds };
  const tiers = loadTiers();
  const detectorMeta = loadDetectorMeta();
  const log = options.log ?? (() => {});
  const dataDir = options.dataDir ?? join(process.cwd(), ".firedrill", "stack");
  const metrics = createMetrics();
  const poster = new WebhookPoster({
    url: config.webhookUrl,
    secret: config.webhookSecret,
    onGiveUp: (_body, reason) => log(`webhook: gave up a delivery (${reason})`),
  });
  const keys = new Set(
    Object.values(config.lab.accounts)
      .flatMap((a: unknown) => (Array.isArray(a) ? a : [a]))
      .map((a) => (a as { privateKey?: unknown })?.privateKey)
      .filter((k): k is string => typeof k === "string")
      .map((k) => k.toLowerCase()),
  );
  for (const key of keys) registerSecret(key);
  const alerter = new Alerter({
    keys,
    poster,
    delayMs: options.detectionDelayMs ?? 0,
    onAlert: (a) => {
      metrics.alerts.inc({ event: a.event, severity: a.severity });
      log(
        `${a.at} ${a.severity.padEnd(8)} ${a.event}${a.chain ? ` [${a.chain}]` : ""} ${JSON.stringify(a.details)}`,
      );
    },
  });
  const fastestBlockMs = Math.min(...config.chains.map((c) => c.blockTimeMs));
  const rpcTimeoutMs = options.rpcTimeoutMs ?? Math.max(250, Math.min(1000, fastestBlockMs / 2, 500));
  const chains = config.chains.map((c) => new ChainClient(c, rpcTimeoutMs));
  const aggregator = new OracleAggregator(config.oracleSources, {
    heartbeatMs: config.heartbeatMs,
    deviation: thresholds.oracleDeviation,
    timeoutMs: options.oracleTimeoutMs ?? 400,
    sourceMaxAgeMs: options.sourceMaxAgeMs ?? 2000,
  });
  aggregator.primaryChain = chains[0]!.name;

  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      tick();
    });
  };
  const sequencerGraceSeconds = Math.round(3600 / (config.lab.timeFactor > 0 ? config.lab.timeFactor : 1));
  const monitors = chains.map(
    (chain) =>
      new CollateralMonitor(chain, {
        alerter,
        aggregator,
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        sequencerGraceSeconds,
        onUpdate: schedule,
      }),
  );
  const byName = new Map(monitors.map((m) => [m.chain.name, m]));
  const operator = config.lab.accounts.operator;
  const crosschain = new CrossChainManager({
    monitors,
    alerter,
    thresholds,
    operator,
    custodian: config.lab.accounts.treasury,
    maxMintsInFlight: options.maxMintsInFlight,
    admissionTimeoutMs: options.admissionTimeoutMs,
  });
  const emergency = new EmergencyProtocols({
    monitors: byName,
    alerter,
    pauser: config.lab.accounts.guardian ?? operator,
    treasury: config.lab.accounts.treasury,
    targetRatio: (m) => Math.max(m.state.minCollateralRatio ?? 1.5, thresholds.collateralRatio) * 1.05,
  });
  const queue = new RedemptionQueue(join(dataDir, "redemptions.sqlite"));
  const status = (): StackStatus => buildStatus();
  const reporter = new ComplianceReporter({
    regulatorUrl: config.regulatorUrl,
    keys,
    dir: join(dataDir, "reports"),
    alerter,
    deadlineMs: options.reportDeadlineMs ?? 10_000,
    snapshot: () => {
      const s = status();
      return {
        system_status: { overall: s.status, components: s.components },
        collateral_position: Object.fromEntries(
          monitors.map((m) => [
            m.chain.name,
            { collateralRatio: m.state.collateralRatio, collateralValueUsd: m.state.collateralValueUsd },
          ]),
        ),
        outstanding_obligations: {
          fdUsdSupply: Object.fromEntries(monitors.map((m) => [m.chain.name, m.state.supply])),
          pendingRedemptions: s.redemptions.pending,
        },
        remediation_actions: recommendedActions(s),
      };
    },
  });
  let gatewayRef: Awaited<ReturnType<typeof startGateway>> | undefined;
  const engine = new RedemptionEngine({
    queue,
    chains: new Map(chains.map((c) => [c.name, c])),
    operator,
    metrics,
    canSend: (chain) => {
      const m = byName.get(chain);
      return !!m && !m.state.halted && m.state.paused !== true && m.chain.head !== undefined;
    },
    batchWindowMs: (chain) => (crosschain.batching(chain) ? 250 : 0),
    onSettled: (r) => gatewayRef?.settled(r),
  });

  let lastConsensus: Consensus[] = [];
  let running = true;
  let ready = false;
  const feedDeviationSince = new Map<string, number>();
  const startedAt = Date.now();
  const lastReportAt = new Map<string, number>();
  let backlog = 0;

  const fileReport = (trigger: Alert) => {
    const last = lastReportAt.get(trigger.event) ?? 0;
    if (Date.now() - last < CRITICAL_REPORT_COOLDOWN_MS) return;
    lastReportAt.set(trigger.event, Date.now());
    void reporter.file(trigger);
  };

  const conditionAlert = (c: Condition): Alert => ({
    event: c.event,
    severity: c.severity,
    system: c.system,
    chain: c.chain,
    at: new Date().toISOString(),
    details: c.details,
  });

  function tick(): void {
    if (!running) return;
    if (!ready) {
      ready =
        (monitors.every((m) => m.state.lastReadMs > 0) && aggregator.polls > 0) ||
        Date.now() - startedAt > 5000;
      if (!ready) return;
    }
    const now = Date.now();
    const { consensus, findings } = aggregator.evaluate(now);
    lastConsensus = consensus;
    backlog = queue.depth();
    const advances = monitors.map((m) => m.chain.lastAdvanceMs);
    const snapshot: Snapshot = {
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
    // An on-chain feed lags a market jump by up to a keeper round: only a deviation that
    // outlasts that is an incident (and a reason to stop minting at the feed's price).
    const raw = evaluate(snapshot, thresholds).map((c) => ({
      ...c,
      ...(detectorMeta[c.event]?.severity ? { severity: detectorMeta[c.event]!.severity! } : {}),
      ...(detectorMeta[c.event]?.system ? { system: detectorMeta[c.event]!.system! } : {}),
    }));
    const rawKeys = new Set(raw.map((c) => c.key));
    for (const key of feedDeviationSince.keys()) if (!rawKeys.has(key)) feedDeviationSince.delete(key);
    const conditions = raw.filter((c) => {
      if (!c.key.startsWith("detect/oracle-deviation:feed:")) return true;
      const first = feedDeviationSince.get(c.key) ?? now;
      feedDeviationSince.set(c.key, first);
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
      runPlaybook(c);
      if (c.severity === "critical") fileReport(conditionAlert(c));
    }
    for (const key of cleared) {
      undoPlaybook(key);
      const [kind, rest = ""] = key.slice("detect/".length).split(/:(.*)/s);
      if (kind === "collateral") void emergency.release(rest, "collateral");
      else if (kind === "backlog") void emergency.release(crosschain.primary, "backlog");
      else if ((kind === "oracle-deviation" || kind === "oracle-stale") && rest.startsWith("feed:")) {
        for (const chain of byName.keys()) void emergency.release(chain, `feed:${key}`);
      }
    }
    // Secondary oracles: the primary source is out of the consensus for some pair.
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
    crosschain.update();
    updateMetrics(snapshot);
  }

  /** The playbook steps scenarios/kpis.yml names for a detector, run when its condition is raised. */
  function runPlaybook(c: Condition): void {
    const actions = new Set(detectorMeta[c.event]?.actions ?? []);
    const chain = c.chain ?? crosschain.primary;
    if (actions.has("pause_non_critical")) void emergency.pause(chain, c.key);
    if (actions.has("emergency_rebalance") && c.chain) void emergency.rebalance(c.chain, c.event);
    if (actions.has("activate_secondary_oracles")) aggregator.secondaryForced.add(c.key);
    if (actions.has("batch_transactions")) crosschain.forceBatching(chain, c.key, true);
    if (actions.has("cross_chain_failover")) crosschain.force(chain, c.key, true);
    if (actions.has("notify")) {
      const s = status();
      alerter.emit("TEAM_NOTIFIED", "low", "reporting_systems", c.chain, {
        about: c.event,
        alert: incidentAlert(new Date().toISOString(), c.severity, [c], recommendedActions(s), {
          status: s.status,
          components: s.components,
        }),
      });
    }
  }

  /** Undoes what `runPlaybook` started for a condition that cleared. */
  function undoPlaybook(key: string): void {
    for (const chain of byName.keys()) {
      void emergency.release(chain, key);
      crosschain.forceBatching(chain, key, false);
      crosschain.force(chain, key, false);
    }
    aggregator.secondaryForced.delete(key);
  }

  function updateMetrics(snapshot: Snapshot): void {
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
    for (const c of lastConsensus) {
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

  function component(
    name: string,
    state: "ok" | "degraded" | "down",
    details: Record<string, unknown>,
  ): [string, ComponentHealth] {
    return [name, { status: state, tier: tiers[name] ?? 2, details }];
  }

  function buildStatus(): StackStatus {
    const counts = queue.counts();
    const pending = counts.queued + counts.sending;
    const mintChain = crosschain.preferred() ?? null;
    const readable = monitors.filter((m) => m.state.readError === undefined && m.state.lastReadMs > 0);
    const collateralLow = monitors.some((m) => (m.state.collateralRatio ?? 2) < thresholds.collateralRatio);
    const lastFiling = reporter.filings.at(-1);
    const priceMissing = lastConsensus.some((c) => c.price === undefined);
    const secondary = lastConsensus.some((c) => !c.primaryActive);
    const primaryChain = byName.get(crosschain.primary)!;
    const components = Object.fromEntries([
      component(
        "collateral_management",
        readable.length === 0
          ? "down"
          : collateralLow || readable.length < monitors.length
            ? "degraded"
            : "ok",
        { readableChains: readable.map((m) => m.chain.name) },
      ),
      component("price_oracles", priceMissing ? "down" : secondary ? "degraded" : "ok", {
        primaryActive: !secondary,
      }),
      component(
        "redemption_engine",
        // Redemptions are still accepted and stored while the chain cannot pay them: degraded, not down.
        primaryChain.state.halted || primaryChain.state.paused || pending > thresholds.redemptionBacklog
          ? "degraded"
          : "ok",
        { pending, lastError: engine.lastError ?? null },
      ),
      component(
        "minting_contracts",
        mintChain === null ? "down" : mintChain !== crosschain.primary ? "degraded" : "ok",
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

  // Oracle polling loop.
  let oracleTimer: NodeJS.Timeout | undefined;
  let wakeOracle: (() => void) | undefined;
  const oraclePollMs = options.pollMs ?? 100;
  const pollOracles = async () => {
    while (running) {
      const started = Date.now();
      await aggregator.poll().catch(() => undefined);
      schedule();
      const wait = Math.max(5, oraclePollMs - (Date.now() - started));
      await new Promise<void>((r) => {
        wakeOracle = r;
        oracleTimer = setTimeout(r, wait);
      });
    }
  };

  const gateway = await startGateway({
    port: config.port,
    token: config.gatewayToken,
    queue,
    crosschain,
    metrics,
    redemptionChain: crosschain.primary,
    chains: chains.map((c) => c.name),
    ...(options.redeemWaitMs !== undefined ? { redeemWaitMs: options.redeemWaitMs } : {}),
    ...(options.gatewayDelayMs ? { delayMs: options.gatewayDelayMs } : {}),
    health: () => {
      const s = status();
      return { status: s.status, components: s.components };
    },
    fileReport: (reason, deadlineMs) =>
      reporter.file(
        {
          event: "REPORT_REQUESTED",
          severity: "high",
          system: "compliance_tools",
          chain: null,
          at: new Date().toISOString(),
          details: { reason },
        },
        deadlineMs,
      ),
  });
  gatewayRef = gateway;
  for (const m of monitors) m.start();
  const oracleLoop = pollOracles();
  engine.start();
  // Heads and halts are re-evaluated even when nothing else changes.
  const heartbeat = setInterval(schedule, 250);
  log(`stack: serving on 127.0.0.1:${gateway.port}, chains ${chains.map((c) => c.name).join(", ")}`);

  let closed: Promise<void> | undefined;
  return {
    port: gateway.port,
    config,
    thresholds,
    alerts: alerter.history,
    status,
    close() {
      closed ??= (async () => {
        running = false;
        clearInterval(heartbeat);
        clearTimeout(oracleTimer);
        wakeOracle?.();
        for (const m of monitors) m.stop();
        await engine.stop();
        await gateway.close();
        // A supervisor kills after a few seconds: whatever is unfinished is durable or retried.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([reporter.settle(), emergency.settle(), crosschain.settle()]),
          new Promise((r) => {
            timer = setTimeout(r, 1000);
          }),
        ]);
        clearTimeout(timer);
        await oracleLoop.catch(() => undefined);
        alerter.close();
        await poster.close(1000);
        for (const c of chains) c.close();
        queue.close();
      })();
      return closed;
    },
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
