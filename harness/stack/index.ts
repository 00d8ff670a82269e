/**
 * The reference monitoring stack, the default system under test. `startStack` reads only
 * the SUT contract (environment variables, lab.json, webhook, HTTP endpoints), so a
 * user's own stack can take its place one for one.
 *
 * Start-up builds the components in order, each pushing its release; `close()`, and a
 * start that fails, run the releases in reverse: the loops stop, the gateway closes, the
 * actions in flight settle, the oracle loop ends, then the alerter, the webhook poster,
 * the chains and the queue. The loops' work is in evaluation.ts (detection, playbook,
 * metrics) and status.ts (what /health and /status answer).
 */
import { join } from "node:path";
import type { SutEnvVars } from "../contract/env.ts";
import { releaseAll } from "../errors.ts";
import { registerSecret } from "../redact.ts";
import { type Alert, Alerter } from "./alerts.ts";
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
import { EmergencyProtocols } from "./emergency.ts";
import { Evaluation } from "./evaluation.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { createMetrics, type StackMetrics } from "./metrics.ts";
import { CollateralMonitor } from "./monitor.ts";
import { OracleAggregator } from "./oracle.ts";
import { OraclePolling } from "./oracle-polling.ts";
import { RedemptionQueue } from "./queue.ts";
import { RedemptionEngine } from "./redemptions.ts";
import { ComplianceReporter } from "./reporter.ts";
import { recommendedActions, type StackStatus, stackStatus } from "./status.ts";
import { WebhookPoster } from "./webhook.ts";

export { type ComponentHealth, recommendedActions, type StackStatus } from "./status.ts";

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

export interface RunningStack {
  port: number;
  config: StackConfig;
  thresholds: Thresholds;
  /** Every alert posted so far (last 1000). */
  alerts: readonly Alert[];
  status(): StackStatus;
  close(): Promise<void>;
}

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
  const keys = accountKeys(config);
  // Every component pushes its release once it is up; they run in reverse order, so the
  // loops stop first and the queue closes last, on close() and on a failed start alike.
  const releases: Array<() => unknown> = [];
  try {
    const queue = new RedemptionQueue(join(dataDir, "redemptions.sqlite"));
    releases.push(() => queue.close());
    const chains = chainClients(config, options);
    releases.push(() => {
      for (const c of chains) c.close();
    });
    const alerter = startAlerter(config, keys, metrics, options.detectionDelayMs ?? 0, releases, log);
    // Every change asks for an evaluation; none comes before the loops start, below.
    const schedule = () => evaluation.schedule();
    const { aggregator, oracles, monitors } = watchers(
      config,
      options,
      thresholds,
      chains,
      alerter,
      schedule,
    );
    releases.push(() => oracles.finished());
    const byName = new Map(monitors.map((m) => [m.chain.name, m]));
    const operator = config.lab.accounts.operator;
    const { crosschain, emergency } = safetyActions(config, options, thresholds, monitors, byName, alerter);
    const status = (): StackStatus =>
      stackStatus({
        monitors,
        byName,
        queue,
        crosschain,
        reporter,
        engine,
        alerter,
        thresholds,
        tiers,
        consensus: () => evaluation.lastConsensus,
      });
    const reporter = startReporter(config, keys, dataDir, alerter, monitors, status, options);
    releases.push(() => settleActions(reporter, emergency, crosschain));
    let gatewayRef: Gateway | undefined;
    const engine = new RedemptionEngine({
      queue,
      // Redemptions are paid through the lab's vaults: a team's chain takes none.
      chains: new Map(chains.filter((c) => c.contracts !== undefined).map((c) => [c.name, c])),
      operator,
      metrics,
      canSend: (chain) => {
        const m = byName.get(chain);
        return !!m && !m.state.halted && m.state.paused !== true && m.chain.head !== undefined;
      },
      batchWindowMs: (chain) => (crosschain.batching(chain) ? 250 : 0),
      onSettled: (r) => gatewayRef?.settled(r),
    });
    const evaluation = new Evaluation({
      monitors,
      byName,
      aggregator,
      queue,
      alerter,
      emergency,
      crosschain,
      reporter,
      metrics,
      thresholds,
      detectorMeta,
      status,
    });

    const gateway = await serveGateway(
      config,
      options,
      { queue, crosschain, metrics, chains },
      status,
      reporter,
    );
    releases.push(() => gateway.close());
    gatewayRef = gateway;

    releases.push(startLoops(monitors, oracles, engine, evaluation));
    log(`stack: serving on 127.0.0.1:${gateway.port}, chains ${chains.map((c) => c.name).join(", ")}`);

    let closed: Promise<void> | undefined;
    return {
      port: gateway.port,
      config,
      thresholds,
      alerts: alerter.history,
      status,
      close() {
        closed ??= releaseAll(releases);
        return closed;
      },
    };
  } catch (error) {
    await releaseAll(releases).catch(() => {});
    throw error;
  }
}

/** The private keys of the lab's accounts (lower case), registered so that none is printed. */
function accountKeys(config: StackConfig): Set<string> {
  const keys = new Set(
    Object.values(config.lab.accounts)
      .flatMap((a: unknown) => (Array.isArray(a) ? a : [a]))
      .map((a) => (a as { privateKey?: unknown })?.privateKey)
      .filter((k): k is string => typeof k === "string")
      .map((k) => k.toLowerCase()),
  );
  for (const key of keys) registerSecret(key);
  return keys;
}

/** One client per chain, every JSON-RPC call bounded by the fastest chain's block time. */
function chainClients(config: StackConfig, options: StackOptions): ChainClient[] {
  const fastestBlockMs = Math.min(...config.chains.map((c) => c.blockTimeMs));
  const rpcTimeoutMs = options.rpcTimeoutMs ?? Math.max(250, Math.min(1000, fastestBlockMs / 2, 500));
  return config.chains.map((c) => new ChainClient(c, rpcTimeoutMs));
}

/** The price aggregator, its polling loop (started later) and a collateral monitor per chain. */
function watchers(
  config: StackConfig,
  options: StackOptions,
  thresholds: Thresholds,
  chains: readonly ChainClient[],
  alerter: Alerter,
  onUpdate: () => void,
): { aggregator: OracleAggregator; oracles: OraclePolling; monitors: CollateralMonitor[] } {
  const aggregator = new OracleAggregator(config.oracleSources, {
    heartbeatMs: config.heartbeatMs,
    deviation: thresholds.oracleDeviation,
    timeoutMs: options.oracleTimeoutMs ?? 400,
    sourceMaxAgeMs: options.sourceMaxAgeMs ?? 2000,
  });
  aggregator.primaryChain = chains[0]!.name;
  const oracles = new OraclePolling(aggregator, options.pollMs ?? 100, onUpdate);
  const sequencerGraceSeconds = Math.round(
    3600 / (config.lab.clockSpeedup > 0 ? config.lab.clockSpeedup : 1),
  );
  const monitors = chains.map(
    (chain) =>
      new CollateralMonitor(chain, {
        alerter,
        aggregator,
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        sequencerGraceSeconds,
        onUpdate,
      }),
  );
  return { aggregator, oracles, monitors };
}

/** Cross-chain routing of mints and the emergency protocols (pauses, rebalancing). */
function safetyActions(
  config: StackConfig,
  options: StackOptions,
  thresholds: Thresholds,
  monitors: CollateralMonitor[],
  byName: Map<string, CollateralMonitor>,
  alerter: Alerter,
): { crosschain: CrossChainManager; emergency: EmergencyProtocols } {
  const operator = config.lab.accounts.operator;
  const crosschain = new CrossChainManager({
    // Mints go through the lab's vaults: a chain that runs a team's deployment is watched only.
    monitors: monitors.filter((m) => m.chain.contracts !== undefined),
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
  return { crosschain, emergency };
}

/** The alerter and the webhook poster that delivers its alerts, each with its release. */
function startAlerter(
  config: StackConfig,
  keys: ReadonlySet<string>,
  metrics: StackMetrics,
  delayMs: number,
  releases: Array<() => unknown>,
  log: (line: string) => void,
): Alerter {
  const poster = new WebhookPoster({
    url: config.webhookUrl,
    secret: config.webhookSecret,
    onGiveUp: (_body, reason) => log(`webhook: gave up a delivery (${reason})`),
  });
  releases.push(() => poster.close(1000));
  const alerter = new Alerter({
    keys,
    poster,
    delayMs,
    onAlert: (a) => {
      metrics.alerts.inc({ event: a.event, severity: a.severity });
      log(
        `${a.at} ${a.severity.padEnd(8)} ${a.event}${a.chain ? ` [${a.chain}]` : ""} ${JSON.stringify(a.details)}`,
      );
    },
  });
  releases.push(() => alerter.close());
  return alerter;
}

/** The compliance reporter; a report carries the stack's status and each chain's position. */
function startReporter(
  config: StackConfig,
  keys: ReadonlySet<string>,
  dataDir: string,
  alerter: Alerter,
  monitors: readonly CollateralMonitor[],
  status: () => StackStatus,
  options: StackOptions,
): ComplianceReporter {
  return new ComplianceReporter({
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
}

/** The ops gateway on the configured port: mints, redemptions, status and report requests. */
function serveGateway(
  config: StackConfig,
  options: StackOptions,
  parts: {
    queue: RedemptionQueue;
    crosschain: CrossChainManager;
    metrics: StackMetrics;
    chains: ChainClient[];
  },
  status: () => StackStatus,
  reporter: ComplianceReporter,
): Promise<Gateway> {
  const { queue, crosschain, metrics, chains } = parts;
  return startGateway({
    port: config.port,
    token: config.gatewayToken,
    queue,
    crosschain,
    metrics,
    redemptionChain: chains.find((c) => c.contracts !== undefined)?.name ?? crosschain.primary,
    chains: chains.filter((c) => c.contracts !== undefined).map((c) => c.name),
    ...(options.redeemWaitMs !== undefined ? { redeemWaitMs: options.redeemWaitMs } : {}),
    ...(options.gatewayDelayMs ? { delayMs: options.gatewayDelayMs } : {}),
    health: () => {
      const s = status();
      return { status: s.status, components: s.components };
    },
    fileReport: (reason, deadlineMs) => reporter.file(reportRequest(reason), deadlineMs),
  });
}

/**
 * Starts the loops: heads, oracle polls, redemptions, and a heartbeat that re-evaluates
 * heads and halts even when nothing else changes. Returns their stop.
 */
function startLoops(
  monitors: readonly CollateralMonitor[],
  oracles: OraclePolling,
  engine: RedemptionEngine,
  evaluation: Evaluation,
): () => Promise<void> {
  for (const m of monitors) m.start();
  oracles.start();
  engine.start();
  const heartbeat = setInterval(evaluation.schedule, 250);
  return async () => {
    evaluation.stop();
    clearInterval(heartbeat);
    oracles.stop();
    for (const m of monitors) m.stop();
    await engine.stop();
  };
}

/** Lets reports, emergency steps and cross-chain moves in flight finish, for at most a second. */
async function settleActions(
  reporter: ComplianceReporter,
  emergency: EmergencyProtocols,
  crosschain: CrossChainManager,
): Promise<void> {
  // A supervisor kills after a few seconds: whatever is unfinished is durable or retried.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([reporter.settle(), emergency.settle(), crosschain.settle()]),
    new Promise((r) => {
      timer = setTimeout(r, 1000);
    }),
  ]);
  clearTimeout(timer);
}

/** The alert behind a report the gateway's POST /report asks for. */
function reportRequest(reason: string): Alert {
  return {
    event: "REPORT_REQUESTED",
    severity: "high",
    system: "compliance_tools",
    chain: null,
    at: new Date().toISOString(),
    details: { reason },
  };
}
