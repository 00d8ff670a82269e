/**
 * The BCP's emergency assessment (step 1 of its manual playbook), as one read of the
 * lab and the stack: collateral ratio per chain, oracle consensus, gas, pending
 * transactions, redemption backlog, component health, the severity with the recommended
 * actions, and the BCP's incident alert text filled in.
 */
import type { Severity } from "../contract/alerts.ts";
import { ENV, type SutEnvVars } from "../contract/env.ts";
import { PAIRS } from "../names.ts";
import { median } from "../stats.ts";
import type { Condition } from "./alerts.ts";
import { ChainClient, ERC20, VAULT } from "./chain.ts";
import { loadLabConfig, loadThresholds, type Thresholds } from "./config.ts";
import { evaluate, type OracleFinding, type Snapshot } from "./detector.ts";

export interface ChainAssessment {
  name: string;
  provider: string | null;
  head: number | null;
  collateralRatio: number | null;
  supply: number | null;
  baseFeeGwei: number | null;
  pendingTransactions: number | null;
  mintingPaused: boolean | null;
  error: string | null;
}

export interface Assessment {
  at: string;
  severity: Severity | "none";
  chains: ChainAssessment[];
  oracles: {
    pair: string;
    median: number | null;
    maxDeviation: number;
    sources: Record<string, number | string>;
  }[];
  redemptionBacklog: number | null;
  health: { status: string; components: Record<string, { status: string; tier: number }> } | null;
  conditions: Condition[];
  actions: string[];
  alertText: string;
}

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

async function assessChain(client: ChainClient): Promise<ChainAssessment> {
  const out: ChainAssessment = {
    name: client.name,
    provider: null,
    head: null,
    collateralRatio: null,
    supply: null,
    baseFeeGwei: null,
    pendingTransactions: null,
    mintingPaused: null,
    error: null,
  };
  try {
    const head = await client.fetchHead();
    out.provider = client.rpc.activeProvider.name;
    out.head = head.number;
    out.baseFeeGwei = Number(head.baseFeeWei) / 1e9;
    const c = client.contracts;
    if (c === undefined) {
      // A team's deployment: its token's supply; its ratio is the stack's to work out from its reserve.
      const token = client.team!.stablecoin;
      const [[supply], [decimals]] = await Promise.all([
        client.read(ERC20, token, "totalSupply"),
        client.read(ERC20, token, "decimals"),
      ]);
      out.supply = Number(supply as bigint) / 10 ** Number(decimals);
    } else {
      const [ratio, supply, paused] = await Promise.all([
        client.read(VAULT, c.vault, "collateralRatio"),
        client.read(ERC20, c.stablecoin, "totalSupply"),
        client.read(VAULT, c.vault, "nonCriticalPaused"),
      ]);
      const r = ratio[0] as bigint;
      out.collateralRatio = r >= 2n ** 255n ? Number.POSITIVE_INFINITY : Number(r) / 1e18;
      out.supply = Number(supply[0] as bigint) / 1e18;
      out.mintingPaused = paused[0] as boolean;
    }
    const pool = await client.rpc.call<{ pending?: string }>("txpool_status").catch(() => undefined);
    out.pendingTransactions = pool?.pending !== undefined ? Number(pool.pending) : null;
  } catch (error) {
    out.error = (error as Error).message;
  }
  return out;
}

async function getJson<T>(url: string, timeoutMs: number): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** Reads everything once and assesses it against the thresholds. */
export async function assess(
  env: SutEnvVars,
  thresholds: Thresholds = loadThresholds(),
): Promise<Assessment> {
  // The assessment reads; it needs neither the webhook nor the gateway token.
  const config = loadLabConfig(env);
  const clients = config.chains.map((c) => new ChainClient(c, 1500));
  const chains = await Promise.all(clients.map(assessChain));
  const quotes = await Promise.all(
    config.oracleSources.map(async (s) => ({
      name: s.name,
      body: await getJson<{ prices?: { pair: string; price: number }[] }>(
        `${s.url.replace(/\/+$/, "")}/prices`,
        1500,
      ),
    })),
  );
  const findings: OracleFinding[] = [];
  const oracles = PAIRS.map((pair) => {
    const sources: Record<string, number | string> = {};
    const prices: { name: string; price: number }[] = [];
    for (const q of quotes) {
      const price = q.body?.prices?.find((p) => p.pair === pair)?.price;
      if (typeof price === "number") {
        sources[q.name] = price;
        prices.push({ name: q.name, price });
      } else {
        sources[q.name] = "no answer";
        findings.push({ source: q.name, pair, stale: "no answer" });
      }
    }
    const med = prices.length > 0 ? median(prices.map((p) => p.price)) : null;
    let maxDeviation = 0;
    for (const p of prices) {
      const deviation = med ? Math.abs(p.price - med) / med : 0;
      maxDeviation = Math.max(maxDeviation, deviation);
      findings.push({ source: p.name, pair, deviation });
    }
    return { pair, median: med, maxDeviation, sources };
  });
  const port = env[ENV.sutPort];
  const stackUrl = port && port !== "0" ? `http://127.0.0.1:${port}` : undefined;
  const health = stackUrl
    ? ((await getJson<Assessment["health"]>(`${stackUrl}/health`, 1500)) ?? null)
    : null;
  let backlog: number | null = null;
  if (stackUrl) {
    try {
      const text = await (await fetch(`${stackUrl}/metrics`, { signal: AbortSignal.timeout(1500) })).text();
      const m = text.match(/^firedrill_redemption_queue_depth (\S+)$/m);
      if (m) backlog = Number(m[1]);
    } catch {
      backlog = null;
    }
  }
  const snapshot: Snapshot = {
    chains: Object.fromEntries(
      chains.map((c) => [
        c.name,
        {
          collateralRatio: c.collateralRatio ?? undefined,
          baseFeeGwei: c.baseFeeGwei ?? undefined,
          txSent: 0,
          txFailed: 0,
          halted: false,
        },
      ]),
    ),
    oracles: findings,
    redemptionBacklog: backlog ?? 0,
    crossChainSyncLagSeconds: 0,
  };
  const conditions = evaluate(snapshot, thresholds);
  for (const c of chains) {
    if (c.error) {
      conditions.push({
        key: `unreachable:${c.name}`,
        event: "CHAIN_UNREACHABLE",
        severity: "critical",
        system: "collateral_management",
        chain: c.name,
        details: { error: c.error },
      });
    }
  }
  const severity = conditions.reduce<Severity | "none">(
    (worst, c) => (worst === "none" || RANK[c.severity] > RANK[worst] ? c.severity : worst),
    "none",
  );
  const actions = actionsFor(conditions, chains);
  const at = new Date().toISOString();
  for (const c of clients) c.close();
  return {
    at,
    severity,
    chains,
    oracles,
    redemptionBacklog: backlog,
    health,
    conditions,
    actions,
    alertText: incidentAlert(at, severity, conditions, actions, health),
  };
}

function actionsFor(conditions: readonly Condition[], chains: readonly ChainAssessment[]): string[] {
  const events = new Set(conditions.map((c) => c.event));
  const out: string[] = [];
  if (events.has("CRITICAL_COLLATERAL_LOW"))
    out.push("Pause non-critical operations and run the emergency rebalance (owner: ops on call, now)");
  if (events.has("ORACLE_DEVIATION") || events.has("ORACLE_STALE"))
    out.push("Switch to the secondary oracles and verify the feeds (owner: oracle team, 15 min)");
  if (events.has("GAS_SPIKE"))
    out.push("Batch transactions and route emergency mints to the next chain (owner: ops, 15 min)");
  if (events.has("REDEMPTION_BACKLOG"))
    out.push("Activate the emergency protocols: pause minting, add redemption capacity (owner: ops, now)");
  if (events.has("CHAIN_UNREACHABLE")) {
    const down = chains.filter((c) => c.error).map((c) => c.name);
    out.push(
      `Fail over RPC providers for ${down.join(", ")}; mint on the next healthy chain (owner: infra, 15 min)`,
    );
  }
  if (out.length === 0) out.push("No incident: keep monitoring");
  return out;
}

/** The BCP's incident alert template, filled in. */
export function incidentAlert(
  at: string,
  severity: Severity | "none",
  conditions: readonly Condition[],
  actions: readonly string[],
  health: Assessment["health"],
): string {
  const impact =
    conditions.length === 0
      ? "No impact detected"
      : conditions.map((c) => `${c.event}${c.chain ? ` on ${c.chain}` : ""}`).join("; ");
  const secondary =
    health?.components?.["price_oracles"]?.status === "degraded" ||
    health?.components?.["minting_contracts"]?.status === "degraded";
  const box = (done: boolean) => (done ? "[x]" : "[ ]");
  return [
    `## INCIDENT ALERT - ${severity.toUpperCase()}`,
    `**Time**: ${at}`,
    `**System**: Stablecoin Operations`,
    `**Impact**: ${impact}`,
    `**Current Status**: ${conditions.length === 0 ? "Monitoring" : "Investigation"}`,
    `**Immediate Actions Taken**:`,
    `- ${box(true)} Primary systems status verified`,
    `- ${box(secondary)} Secondary systems activated`,
    `- ${box(false)} Team notification sent`,
    `- ${box(severity === "critical")} Regulatory notification prepared (if required)`,
    `**Next Steps**:`,
    ...actions.map((a, i) => `${i + 1}. ${a}`),
    `**Communication Schedule**: Updates every 30 minutes until resolved`,
  ].join("\n");
}
