/**
 * The BCP's KPIs at the end of a run, read from the system under test's /metrics
 * (Prometheus text) and judged against scenarios/kpis.yml.
 */
import { join } from "node:path";
import { SCENARIOS_DIR } from "../paths.ts";
import { readYamlFile } from "../yaml.ts";
import type { Kpi } from "./journal.ts";

export interface KpiRule {
  key: string;
  metric: string;
  unit: string;
  kind: "threshold" | "target";
  direction: "at_least" | "at_most";
  /** How several labelled samples combine into one value. */
  combine: "min" | "max";
  description: string;
}

/** Which metric measures which KPI of kpis.yml. */
export const RULES: KpiRule[] = [
  {
    key: "collateral_efficiency",
    metric: "firedrill_collateral_efficiency",
    unit: "ratio",
    kind: "threshold",
    direction: "at_least",
    combine: "min",
    description: "active collateral to total reserves",
  },
  {
    key: "oracle_consensus_deviation",
    metric: "firedrill_oracle_consensus_deviation",
    unit: "ratio",
    kind: "threshold",
    direction: "at_most",
    combine: "max",
    description: "largest deviation between oracle sources",
  },
  {
    key: "redemption_queue_depth",
    metric: "firedrill_redemption_queue_depth",
    unit: "requests",
    kind: "threshold",
    direction: "at_most",
    combine: "max",
    description: "pending redemption requests",
  },
  {
    key: "cross_chain_sync_lag",
    metric: "firedrill_cross_chain_sync_lag_seconds",
    unit: "s",
    kind: "threshold",
    direction: "at_most",
    combine: "max",
    description: "time difference between chain states",
  },
  {
    key: "mint_success_rate",
    metric: "firedrill_mint_success_rate",
    unit: "ratio",
    kind: "target",
    direction: "at_least",
    combine: "min",
    description: "successful mints",
  },
  {
    key: "gas_efficiency_ratio",
    metric: "firedrill_gas_efficiency",
    unit: "ratio",
    kind: "target",
    direction: "at_least",
    combine: "min",
    description: "successful transactions to gas spent",
  },
];

/** Numbers by key from kpis.yml (`threshold:` or `target:`), durations in seconds. */
function limits(): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (value: unknown, key?: string) => {
    if (!value || typeof value !== "object") return;
    const entry = value as Record<string, unknown>;
    const raw = entry["threshold"] ?? entry["target"];
    if (key && raw !== undefined) {
      const n =
        typeof raw === "number" ? raw : Number.parseFloat(String(raw)) * (/m$/.test(String(raw)) ? 60 : 1);
      if (Number.isFinite(n)) out.set(key, n);
    }
    for (const [k, v] of Object.entries(entry)) walk(v, k);
  };
  try {
    walk(readYamlFile(join(SCENARIOS_DIR, "kpis.yml")).value);
  } catch {
    // Without a readable kpis.yml no KPI can be judged; the snapshot is then empty.
  }
  return out;
}

/** Parses Prometheus text: metric name -> sample values. */
export function parsePrometheus(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(value);
    out.set(m[1]!, list);
  }
  return out;
}

/** The KPI snapshot of a SUT at `url`; empty when it serves no /metrics. */
export async function readKpis(url: string): Promise<Kpi[]> {
  let text: string;
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return [];
    text = await response.text();
  } catch {
    return [];
  }
  const samples = parsePrometheus(text);
  const limit = limits();
  const out: Kpi[] = [];
  for (const rule of RULES) {
    const bound = limit.get(rule.key);
    if (bound === undefined) continue;
    const values = samples.get(rule.metric);
    const value =
      values && values.length > 0
        ? rule.combine === "min"
          ? Math.min(...values)
          : Math.max(...values)
        : null;
    out.push({
      name: rule.key,
      value,
      unit: rule.unit,
      kind: rule.kind,
      limit: bound,
      direction: rule.direction,
      ok: value === null ? null : rule.direction === "at_least" ? value >= bound : value <= bound,
      description: rule.description,
    });
  }
  return out;
}
