/**
 * What the stack reads at start: the SUT environment and the lab.json it names (through
 * harness/contract/env.ts), the KPI thresholds of scenarios/kpis.yml and the tiers of
 * scenarios/systems-map.yml. Only the SUT contract is used, so a user's own stack can
 * replace this one.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SEVERITIES, type Severity } from "../contract/alerts.ts";
import { readSutLab, readSutWiring, type SutEnvVars, type SutLab, type SutWiring } from "../contract/env.ts";
import type { LabChain, LabFile, RpcProvider } from "../contract/lab-file.ts";
import { SCENARIOS_DIR } from "../paths.ts";

export interface ChainConfig {
  name: string;
  chainId: number;
  providers: { name: RpcProvider; url: string }[];
  blockTimeMs: number;
  /** The lab's own contracts: the stack mints, pays, pauses and rebalances through them. */
  contracts?: LabChain["contracts"];
  /**
   * A team's contracts on a fork (its deployment.yml): the stack watches them (supply,
   * reserve, feeds, sequencer) and acts on none, as a monitor of a team's world does.
   */
  team?: LabChain["team"];
}

/** The lab as the stack reads it: enough for `firedrill assess`, which posts nothing. */
export interface LabConfig {
  lab: LabFile;
  chains: ChainConfig[];
  oracleSources: SutLab["oracleSources"];
  regulatorUrl: string;
  /** Feed heartbeat per pair, in lab milliseconds. */
  heartbeatMs: Record<string, number>;
}

export interface StackConfig extends LabConfig, SutWiring {}

/** Chainlink's heartbeats, divided by the lab's clock speed-up like the lab's keeper does. */
const CHAINLINK_HEARTBEAT_SECONDS: Record<string, number> = { "ETH/USD": 3600, "USDC/USD": 86_400 };

/** Reads the lab's part of the SUT environment and the lab.json it points to. */
export function loadLabConfig(env: SutEnvVars): LabConfig {
  const sut = readSutLab(env);
  const lab = sut.lab;
  // Mints route in the lab's chain order (the BCP's cross-chain failover).
  const chains: ChainConfig[] = Object.keys(lab.chains).map((name) => {
    const chain = lab.chains[name]!;
    return {
      name,
      chainId: chain.chainId,
      providers: sut.rpc[name]!,
      blockTimeMs: chain.blockTimeMs,
      ...(chain.contracts ? { contracts: chain.contracts } : {}),
      ...(chain.team ? { team: chain.team } : {}),
    };
  });
  const heartbeatMs: Record<string, number> = {};
  for (const [pair, seconds] of Object.entries(CHAINLINK_HEARTBEAT_SECONDS)) {
    heartbeatMs[pair] = lab.oracles?.heartbeats?.[pair] ?? Math.round((seconds * 1000) / lab.clockSpeedup);
  }
  return { lab, chains, oracleSources: sut.oracleSources, regulatorUrl: sut.regulatorUrl, heartbeatMs };
}

/** Reads the whole SUT environment: the lab, and the webhook, token and port of the run. */
export function loadStackConfig(env: SutEnvVars): StackConfig {
  const lab = loadLabConfig(env);
  return { ...lab, ...readSutWiring(env) };
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
