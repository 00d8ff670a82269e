/**
 * docs/bcp.md is written by hand, except its tables of figures: each sits between
 * `<!-- generated: NAME -->` and `<!-- end: NAME -->` and is rendered from the file that
 * holds the figures (the systems map, kpis.yml, the load profiles, the standard events),
 * so that the page cannot drift from what a drill really uses.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bugError } from "../errors.ts";
import { scriptRegistry } from "../loadgen/engine.ts";
import { loadProfile, profileNames } from "../loadgen/profile.ts";
import { parseThresholds, type Threshold } from "../loadgen/thresholds.ts";
import { SCENARIOS_DIR } from "../paths.ts";
import { ACTION_MEANINGS, ACTIONS, EARLY_WARNING_PRECEDES, type Kpis, loadKpis } from "../runner/kpis.ts";
import { loadSystemsMap, SHIPPED_MAP, type SystemsMap } from "../runner/systems-map.ts";
import { eventTable } from "./events.ts";
import { code, table } from "./markdown.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const FILE = "docs/bcp.md";

/** A duration as the page writes it: `15 min`, `24 h`, `1 min 30 s`. */
export function spoken(ms: number): string {
  const units: Array<[number, string]> = [
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
    [1, "ms"],
  ];
  let rest = Math.round(ms);
  const parts: string[] = [];
  for (const [size, unit] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${unit}`);
    rest -= count * size;
  }
  return parts.length === 0 ? "0 s" : parts.join(" ");
}

/** A share as a percentage: 0.005 -> `0.5%`. */
export function percent(share: number): string {
  return `${Number((share * 100).toFixed(6))}%`;
}

type Detectors = Kpis["detectors"];
type Warnings = Kpis["early_warning"];

/** When each detector alerts, in words, from its threshold. */
const DETECTOR_WHEN: { [K in keyof Detectors]: (d: Detectors[K]) => string } = {
  collateral_ratio: (d) => `collateral ratio below ${d.threshold}`,
  oracle_deviation: (d) => `a source more than ${percent(d.threshold)} from the median of the others`,
  gas_price: (d) => `base fee above ${d.threshold} ${d.unit}`,
  transaction_failure_rate: (d) => `more than ${percent(d.threshold)} of transactions fail`,
  redemption_backlog: (d) => `more than ${d.threshold} redemption requests pending`,
  cross_chain_sync_lag: (d) => `the chains' views of supply and reserves over ${spoken(d.threshold)} apart`,
};

/** A detector's threshold alone, as the early-warning table quotes it. */
const DETECTOR_FIGURE: { [K in keyof Detectors]: (d: Detectors[K]) => string } = {
  collateral_ratio: (d) => String(d.threshold),
  oracle_deviation: (d) => percent(d.threshold),
  gas_price: (d) => `${d.threshold} ${d.unit}`,
  transaction_failure_rate: (d) => percent(d.threshold),
  redemption_backlog: (d) => String(d.threshold),
  cross_chain_sync_lag: (d) => spoken(d.threshold),
};

const WARNING_WHEN: { [K in keyof Warnings]: (w: Warnings[K]) => string } = {
  collateral_efficiency: (w) => `active collateral over total reserves below ${w.threshold}`,
  oracle_consensus_deviation: (w) => `largest deviation between oracle sources above ${percent(w.threshold)}`,
  redemption_queue_depth: (w) => `more than ${w.threshold} redemption requests pending`,
  cross_chain_sync_lag: (w) => `the chains' states more than ${spoken(w.threshold)} apart`,
};

function entries<T extends object>(record: T): Array<[keyof T & string, T[keyof T]]> {
  return Object.entries(record) as Array<[keyof T & string, T[keyof T]]>;
}

function tiersTable(map: SystemsMap): string {
  return table(
    ["tier", "name", "RTO", "meaning"],
    [...map.tiers].map(([tier, t]) => [String(tier), t.name, spoken(t.rtoMs), t.description ?? "-"]),
  );
}

function systemsTable(map: SystemsMap): string {
  return table(
    ["system", "tier", "RTO", "what it is", "cannot work without"],
    [...map.systems].map(([name, s]) => [
      code(name),
      String(s.tier),
      spoken(map.tiers.get(s.tier)!.rtoMs),
      s.description ?? "-",
      s.dependsOn.length === 0 ? "-" : s.dependsOn.join(", "),
    ]),
  );
}

function detectorsTable(kpis: Kpis): string {
  return table(
    ["detector", "alert when", "alert", "severity", "system", "automatic steps"],
    entries(kpis.detectors).map(([name, d]) => [
      code(name),
      (DETECTOR_WHEN[name] as (d: Detectors[typeof name]) => string)(d),
      code(d.event),
      d.severity,
      code(d.system),
      d.actions.length === 0 ? "-" : d.actions.map(code).join(", "),
    ]),
  );
}

function stepsTable(): string {
  return table(
    ["step", "what it does", "alert it posts"],
    ACTIONS.map((step) => [code(step), ACTION_MEANINGS[step].does, code(ACTION_MEANINGS[step].posts)]),
  );
}

function warningsTable(kpis: Kpis): string {
  return table(
    ["KPI", "alert when", "severity", "precedes detector"],
    entries(kpis.early_warning).map(([name, w]) => {
      const detector: keyof Detectors | undefined = (
        EARLY_WARNING_PRECEDES as Partial<Record<string, keyof Detectors>>
      )[name];
      const figure = (d: keyof Detectors) =>
        (DETECTOR_FIGURE[d] as (value: Detectors[keyof Detectors]) => string)(kpis.detectors[d]);
      const precedes = detector === undefined ? "-" : `${code(detector)} (${figure(detector)})`;
      return [
        code(name),
        (WARNING_WHEN[name] as (w: Warnings[typeof name]) => string)(w),
        w.severity,
        precedes,
      ];
    }),
  );
}

function efficiencyTable(kpis: Kpis): string {
  const e = kpis.operational_efficiency;
  return table(
    ["KPI", "target", "window"],
    [
      [
        code("mint_success_rate"),
        `at least ${percent(e.mint_success_rate.target)} of mints succeed`,
        spoken(e.mint_success_rate.measurement_window),
      ],
      [
        code("average_redemption_time"),
        `redemptions take ${spoken(e.average_redemption_time.target)} or less on average`,
        spoken(e.average_redemption_time.measurement_window),
      ],
      [
        code("gas_efficiency_ratio"),
        `successful transactions over gas spent at least ${e.gas_efficiency_ratio.target}`,
        "-",
      ],
    ],
  );
}

function playbookTable(kpis: Kpis): string {
  const t = kpis.response_targets;
  const within = (ms: number | undefined) => (ms === undefined ? "not set" : `within ${spoken(ms)}`);
  return table(
    ["step", "target", "what is done"],
    [
      [
        "0. page acknowledged",
        within(t?.acknowledge),
        "the on-call responder acknowledges the page; in a GameDay (`firedrill gameday`), nobody acknowledging in time pages the next responder",
      ],
      [
        "1. immediate assessment",
        within(t?.assessment),
        "one read of the whole operation: collateral ratio per chain, oracle prices and their consensus, gas, pending transactions, redemption backlog, component health. `firedrill assess` prints it, with the severity and the recommended actions",
      ],
      [
        "2. emergency communication",
        within(t?.communication),
        "the incident alert goes out (template below)",
      ],
      [
        "status updates",
        t === undefined ? "not set" : `every ${spoken(t.updates_every)} until resolved`,
        "the alert is reissued with the current status",
      ],
      [
        "recovery",
        t === undefined ? "not set" : `mean time to recover ${spoken(t.mttr)}`,
        "an incident that takes longer than the RTO of the systems it touches gets a post-mortem; a GameDay writes its draft next to the journal",
      ],
    ],
  );
}

/** The load budgets: every threshold of every shipped profile, with the profiles that carry it. */
function budgetsTable(): string {
  const registry = scriptRegistry().types();
  const names = profileNames();
  const rows = new Map<string, { budget: string; limit: string; profiles: string[] }>();
  for (const name of names) {
    for (const set of parseThresholds(loadProfile(name).data.thresholds ?? {}, registry)) {
      for (const threshold of set.thresholds) {
        const key = `${set.key} ${threshold.source}`;
        const row = rows.get(key) ?? {
          budget: budgetName(set.metric, set.tags),
          limit: budgetLimit(threshold),
          profiles: [],
        };
        row.profiles.push(name);
        rows.set(key, row);
      }
    }
  }
  return table(
    ["budget", "limit", "profiles"],
    [...rows.values()].map((row) => [
      row.budget,
      row.limit,
      row.profiles.length === names.length ? "all" : row.profiles.join(", "),
    ]),
  );
}

function budgetName(metric: string, tags: ReadonlyArray<[string, string]>): string {
  const scenario = tags.find(([tag]) => tag === "scenario")?.[1];
  if (metric === "http_req_duration" && scenario !== undefined) return `${scenario} latency`;
  if (metric === "success") return "share of mint and redeem calls that succeed";
  return code(`${metric}${tags.length === 0 ? "" : `{${tags.map(([k, v]) => `${k}:${v}`).join(",")}}`}`);
}

function budgetLimit(t: Threshold): string {
  const words: Record<string, string> = { "<": "under", "<=": "at most", ">": "above", ">=": "at least" };
  const op = words[t.operator];
  if (op === undefined) return code(t.source);
  if (t.method === "p")
    return `95th percentile ${op} ${spoken(t.value)}`.replace("95th", `${t.percentile}th`);
  if (t.method === "rate") return `${op} ${percent(t.value)}`;
  return `${t.method} ${op} ${t.value}`;
}

/** Every generated section of the page, by the name its markers give it. */
function sections(): Record<string, () => string> {
  const map = loadSystemsMap(SHIPPED_MAP);
  const kpis = loadKpis(join(SCENARIOS_DIR, "kpis.yml"), map);
  return {
    tiers: () => tiersTable(map),
    systems: () => systemsTable(map),
    detectors: () => detectorsTable(kpis),
    steps: stepsTable,
    budgets: budgetsTable,
    "early-warnings": () => warningsTable(kpis),
    efficiency: () => efficiencyTable(kpis),
    playbook: () => playbookTable(kpis),
    events: () => eventTable("alert"),
  };
}

const SECTION = /<!-- generated: ([a-z-]+) -->\n(?:[\s\S]*?\n)?<!-- end: \1 -->/g;

/**
 * `text` with every generated section rendered afresh. A marker naming no known section,
 * or a known section without a marker, is a bug in the page.
 */
export function fillSections(text: string, file: string, render: Record<string, () => string>): string {
  const seen = new Set<string>();
  const filled = text.replace(SECTION, (_, name: string) => {
    const make = render[name];
    if (make === undefined) throw bugError(`${file}: no generated section is called "${name}"`);
    seen.add(name);
    return `<!-- generated: ${name} -->\n${make()}\n<!-- end: ${name} -->`;
  });
  const missing = Object.keys(render).filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw bugError(`${file}: no markers for the generated sections ${missing.join(", ")}`);
  }
  return filled;
}

const NOTICE =
  "<!-- Generated in part by `npm run docs` (harness/docs/generate.ts): the tables between `generated` markers come from scenarios/systems-map.yml, scenarios/kpis.yml, load/profiles/ and the standard events; change those and run `npm run docs`. The rest is written by hand. -->";

/** docs/bcp.md with its tables of figures rendered from the files that hold them. */
export function renderBcpPage(): string {
  const text = readFileSync(join(ROOT, FILE), "utf8");
  const body = text.startsWith("<!-- Generated") ? text.slice(text.indexOf("\n") + 1) : text;
  return `${NOTICE}\n${fillSections(body, FILE, sections())}`;
}
