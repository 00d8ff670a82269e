/**
 * What the stack reads at start: the SUT environment (README.md), lab.json, the KPI
 * thresholds of scenarios/kpis.yml and the tiers of scenarios/systems-map.yml. Only the
 * SUT contract is used, so a user's own stack can replace this one.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { SEVERITIES, type Severity } from "../contract/alerts.ts";
import { FiredrillError } from "../errors.ts";

/** The SUT environment variables (`FIREDRILL_*`), e.g. `process.env`. */
export type StackEnv = Readonly<Record<string, string | undefined>>;

export const CHAIN_ORDER = ["ethereum", "polygon", "arbitrum"] as const;
export const PROVIDERS = ["primary", "secondary", "emergency"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface Account {
  address: string;
  privateKey: string;
}

export interface LabChain {
  chainId: number;
  rpc: Partial<Record<ProviderName, string>>;
  blockTimeMs: number;
  contracts: {
    stablecoin: string;
    vault: string;
    usdc: string;
    ethUsdFeed: string;
    usdcUsdFeed: string;
    sequencerUptimeFeed?: string;
  };
}

export interface LabFile {
  timeFactor: number;
  chains: Record<string, LabChain>;
  accounts: {
    operator: Account;
    guardian?: Account;
    treasury?: Account;
  };
  oracles?: { sources?: Record<string, string>; heartbeats?: Record<string, number> };
  regulator?: { url?: string };
}

export interface ChainConfig {
  name: string;
  chainId: number;
  providers: { name: ProviderName; url: string }[];
  blockTimeMs: number;
  contracts: LabChain["contracts"];
}

export interface StackConfig {
  lab: LabFile;
  chains: ChainConfig[];
  oracleSources: { name: string; url: string }[];
  regulatorUrl: string;
  webhookUrl: string;
  webhookSecret: string;
  gatewayToken: string;
  port: number;
  /** Feed heartbeat per pair, in lab milliseconds. */
  heartbeatMs: Record<string, number>;
}

function need(env: StackEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new FiredrillError(
      "FD210",
      `${name} is not set: the stack needs the SUT environment (see "Drill your own stack" in README.md)`,
    );
  }
  return value;
}

/** Chainlink's heartbeats, divided by the lab's time factor like the lab's keeper does. */
const CHAINLINK_HEARTBEAT_SECONDS: Record<string, number> = { "ETH/USD": 3600, "USDC/USD": 86_400 };

/** Reads the SUT environment and the lab.json it points to. */
export function loadStackConfig(env: StackEnv): StackConfig {
  const labPath = need(env, "FIREDRILL_LAB");
  let lab: LabFile;
  try {
    lab = JSON.parse(readFileSync(labPath, "utf8")) as LabFile;
  } catch (error) {
    throw new FiredrillError("FD211", `${labPath}: cannot read lab.json (${(error as Error).message})`);
  }
  if (!lab.chains || !lab.accounts?.operator) {
    throw new FiredrillError("FD211", `${labPath}: lab.json has no chains or no operator account`);
  }
  const known = [...CHAIN_ORDER.filter((c) => c in lab.chains), ...Object.keys(lab.chains)];
  const chains: ChainConfig[] = [...new Set(known)].map((name) => {
    const chain = lab.chains[name]!;
    const providers = PROVIDERS.flatMap((p) => {
      const url = env[`FIREDRILL_RPC_${name.toUpperCase()}_${p.toUpperCase()}`] ?? chain.rpc?.[p];
      return url ? [{ name: p, url }] : [];
    });
    if (providers.length === 0) {
      throw new FiredrillError(
        "FD210",
        `no RPC provider for chain ${name}: set FIREDRILL_RPC_${name.toUpperCase()}_PRIMARY`,
      );
    }
    return {
      name,
      chainId: chain.chainId,
      providers,
      blockTimeMs: chain.blockTimeMs ?? 1000,
      contracts: chain.contracts,
    };
  });
  const oracleEnv = env["FIREDRILL_ORACLE_URLS"];
  const oracleSources = oracleEnv
    ? oracleEnv
        .split(",")
        .map((pair) => pair.trim())
        .filter(Boolean)
        .map((pair) => {
          const eq = pair.indexOf("=");
          if (eq <= 0) throw new FiredrillError("FD210", `FIREDRILL_ORACLE_URLS: "${pair}" is not name=url`);
          return { name: pair.slice(0, eq), url: pair.slice(eq + 1) };
        })
    : Object.entries(lab.oracles?.sources ?? {}).map(([name, url]) => ({ name, url }));
  const port = Number(need(env, "FIREDRILL_SUT_PORT"));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FiredrillError("FD210", `FIREDRILL_SUT_PORT: "${env["FIREDRILL_SUT_PORT"]}" is not a port`);
  }
  const timeFactor = lab.timeFactor > 0 ? lab.timeFactor : 1;
  const heartbeatMs: Record<string, number> = {};
  for (const [pair, seconds] of Object.entries(CHAINLINK_HEARTBEAT_SECONDS)) {
    heartbeatMs[pair] = lab.oracles?.heartbeats?.[pair] ?? Math.round((seconds * 1000) / timeFactor);
  }
  return {
    lab,
    chains,
    oracleSources,
    regulatorUrl: env["FIREDRILL_REGULATOR_URL"] ?? lab.regulator?.url ?? "",
    webhookUrl: need(env, "FIREDRILL_ALERT_WEBHOOK"),
    webhookSecret: need(env, "FIREDRILL_WEBHOOK_SECRET"),
    gatewayToken: need(env, "FIREDRILL_GATEWAY_TOKEN"),
    port,
    heartbeatMs,
  };
}

export interface Thresholds {
  /** Collateral ratio below which CRITICAL_COLLATERAL_LOW fires. @default 1.02 */
  collateralRatio: number;
  /** Relative deviation of a source from the median. @default 0.005 */
  oracleDeviation: number;
  /** Base fee above which GAS_SPIKE fires, gwei. @default 200 */
  gasPriceGwei: number;
  /** Share of failed transactions. @default 0.05 */
  txFailureRate: number;
  /** Pending redemptions. @default 1000 */
  redemptionBacklog: number;
  /** Seconds between the freshest and the stalest chain head. @default 30 */
  crossChainSyncLagSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  collateralRatio: 1.02,
  oracleDeviation: 0.005,
  gasPriceGwei: 200,
  txFailureRate: 0.05,
  redemptionBacklog: 1000,
  crossChainSyncLagSeconds: 30,
};

const SCENARIOS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "scenarios");

const THRESHOLD_KEYS: Record<keyof Thresholds, readonly string[]> = {
  collateralRatio: ["collateral_ratio", "collateralRatio", "min_collateral_ratio"],
  oracleDeviation: ["oracle_deviation", "oracleDeviation"],
  gasPriceGwei: ["gas_price_gwei", "gas_price", "gasPrice", "gas_gwei", "gas"],
  txFailureRate: ["transaction_failure_rate", "tx_failure_rate", "transactionFailureRate"],
  redemptionBacklog: ["redemption_backlog", "redemptionBacklog"],
  crossChainSyncLagSeconds: ["cross_chain_sync_lag", "cross_chain_sync_lag_seconds", "crossChainSyncLag"],
};

function numberOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const m = value.trim().match(/^([0-9.]+)\s*(s|ms|gwei|%)?$/);
    if (m) {
      const n = Number(m[1]);
      if (m[2] === "ms") return n / 1000;
      if (m[2] === "%") return n / 100;
      return n;
    }
  }
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const key of ["threshold", "value", "seconds", "gwei"]) if (key in o) return numberOf(o[key]);
  }
  return undefined;
}

function findKey(node: unknown, keys: readonly string[], depth = 0): unknown {
  if (!node || typeof node !== "object" || depth > 4) return undefined;
  const o = node as Record<string, unknown>;
  for (const key of keys) if (key in o) return o[key];
  for (const value of Object.values(o)) {
    const found = findKey(value, keys, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The detector thresholds from scenarios/kpis.yml, or the BCP's defaults where it says nothing. */
export function loadThresholds(path = join(SCENARIOS_DIR, "kpis.yml")): Thresholds {
  const out = { ...DEFAULT_THRESHOLDS };
  if (!existsSync(path)) return out;
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch {
    return out;
  }
  const thresholdsNode = findKey(doc, ["thresholds", "incident_thresholds", "detector"]) ?? doc;
  for (const [name, keys] of Object.entries(THRESHOLD_KEYS) as [keyof Thresholds, readonly string[]][]) {
    const value = numberOf(findKey(thresholdsNode, keys));
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Severity and system per detector event, from the `detectors` of scenarios/kpis.yml. */
export interface DetectorMeta {
  severity?: Severity;
  system?: string;
  /** Playbook steps to run when it fires (pause_non_critical, activate_secondary_oracles, ...). */
  actions?: string[];
}

export function loadDetectorMeta(path = join(SCENARIOS_DIR, "kpis.yml")): Record<string, DetectorMeta> {
  const out: Record<string, DetectorMeta> = {};
  if (!existsSync(path)) return out;
  try {
    const doc = parse(readFileSync(path, "utf8")) as { detectors?: Record<string, Record<string, unknown>> };
    for (const entry of Object.values(doc?.detectors ?? {})) {
      const event = entry?.["event"];
      if (typeof event !== "string") continue;
      const meta: DetectorMeta = {};
      const severity = entry["severity"];
      if (typeof severity === "string" && (SEVERITIES as readonly string[]).includes(severity))
        meta.severity = severity as Severity;
      if (typeof entry["system"] === "string") meta.system = entry["system"];
      const actions = entry["actions"];
      if (Array.isArray(actions)) meta.actions = actions.filter((a): a is string => typeof a === "string");
      out[event] = meta;
    }
  } catch {
    // Defaults stand.
  }
  return out;
}

/** Tiers of the BCP's systems map, used when scenarios/systems-map.yml says nothing. */
const DEFAULT_TIERS: Record<string, number> = {
  collateral_management: 1,
  minting_contracts: 1,
  redemption_engine: 1,
  price_oracles: 1,
  reserve_monitoring: 1,
  user_interface: 2,
  api_endpoints: 2,
  reporting_systems: 2,
  compliance_tools: 2,
};

/** System name -> tier (1 critical, 2 essential, 3 important) from scenarios/systems-map.yml. */
export function loadTiers(path = join(SCENARIOS_DIR, "systems-map.yml")): Record<string, number> {
  const tiers = { ...DEFAULT_TIERS };
  if (!existsSync(path)) return tiers;
  try {
    const doc = parse(readFileSync(path, "utf8")) as unknown;
    const walk = (node: unknown, depth: number): void => {
      if (!node || typeof node !== "object" || depth > 4) return;
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        const tierKey = key.match(/^tier_?(\d)/);
        if (tierKey && Array.isArray(value)) {
          for (const name of value) if (typeof name === "string") tiers[name] = Number(tierKey[1]);
        } else if (value && typeof value === "object" && !Array.isArray(value)) {
          const tier = (value as Record<string, unknown>)["tier"];
          const n =
            typeof tier === "number" ? tier : typeof tier === "string" ? Number(tier.match(/\d/)?.[0]) : NaN;
          if (Number.isInteger(n) && n > 0) tiers[key] = n;
          else walk(value, depth + 1);
        }
      }
    };
    walk(doc, 0);
  } catch {
    // A map that does not parse is reported by `firedrill map --check`; the defaults stand.
  }
  return tiers;
}
