/**
 * Realistic journals for tests and benchmarks, generated from a random seed: scenarios
 * modelled on the BCP's chaos tests, its systems map (tiers and RTOs) and its KPI
 * thresholds, with timings that drift from drill to drill. `plantSecrets` puts secrets in
 * several fields so tests can check that no report ever prints them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROVIDERS, SOURCE_NAMES } from "../names.ts";
import {
  HEAD_FILE,
  type Integrity,
  JOURNAL_SUFFIX,
  JOURNAL_VERSION,
  type Journal,
  type JournalDraft,
  journalId,
  type LoadScenario,
  sealJournal,
  type TimelineEvent,
} from "../runner/journal.ts";

/** Secrets planted by `plantSecrets`; none may appear in any rendered report. */
export const PLANTED_SECRETS = [
  "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
  "hunter2-rpc-password",
  "eyJhbGciOiJIUzI1NiJ9.planted-bearer-token.sig",
  "planted-api-key-7f3a9c2e11",
  "whsec_planted_webhook_secret_0042",
  "planted-gateway-token-91bd22",
] as const;

interface ScenarioTemplate {
  name: string;
  description: string;
  targets: string[];
  touched: Array<{ name: string; tier: number; via: "target" | "dependent" }>;
  faults: Array<{
    type: string;
    params: Record<string, unknown>;
    description: string;
    atMs: number;
    forMs: number | null;
  }>;
  alerts: { detection: string[]; response: string[]; mitigation: string[] };
  within: {
    detection: number | null;
    response: number | null;
    mitigation: number | null;
    recovery: number | null;
  };
  replayCompression: number;
  load: boolean;
  impact: string;
}

const RTO_BY_TIER: Record<number, number> = { 1: 900, 2: 7200, 3: 86_400 };

const SCENARIOS: ScenarioTemplate[] = [
  {
    name: "oracle-failure-during-depeg",
    description: "Chainlink source offline for 10 minutes (compressed) while USDC moves 8%",
    targets: ["price_oracles"],
    touched: [
      { name: "price_oracles", tier: 1, via: "target" },
      { name: "collateral_management", tier: 1, via: "dependent" },
      { name: "minting_contracts", tier: 1, via: "dependent" },
      { name: "redemption_engine", tier: 1, via: "dependent" },
      { name: "api_endpoints", tier: 2, via: "dependent" },
      { name: "analytics_dashboard", tier: 3, via: "dependent" },
    ],
    faults: [
      {
        type: "oracle_outage",
        params: { source: "chainlink", for: "10s" },
        description: "price source chainlink refuses connections (toxic reset_peer on its proxy)",
        atMs: 0,
        forMs: 10_000,
      },
      {
        type: "collateral_shock",
        params: { asset: "USDC", to: 0.92, over: "30s" },
        description: "USDC/USD moves from 1.00 to 0.92 over 30 s in the market model",
        atMs: 2000,
        forMs: 30_000,
      },
    ],
    alerts: {
      detection: ["ORACLE_STALE", "ORACLE_DEVIATION"],
      response: ["SECONDARY_ORACLE_ACTIVATED"],
      mitigation: ["EMERGENCY_PAUSE"],
    },
    within: { detection: 10_000, response: null, mitigation: null, recovery: null },
    replayCompression: 60,
    load: true,
    impact: "Primary price source unreachable while USDC trades down to 0.92; mints paused",
  },
  {
    name: "gas-spike-cross-chain-failover",
    description: "Ethereum base fee at 1000 gwei: mints fail over to polygon and batch",
    targets: ["minting_contracts"],
    touched: [
      { name: "minting_contracts", tier: 1, via: "target" },
      { name: "api_endpoints", tier: 2, via: "dependent" },
      { name: "user_interface", tier: 2, via: "dependent" },
    ],
    faults: [
      {
        type: "gas_spike",
        params: { chain: "ethereum", gwei: 1000, for: "20s" },
        description: "ethereum base fee held at 1000 gwei, re-applied every block",
        atMs: 0,
        forMs: 20_000,
      },
    ],
    alerts: {
      detection: ["GAS_SPIKE"],
      response: ["CROSS_CHAIN_FAILOVER"],
      mitigation: ["TX_BATCHING_ENABLED"],
    },
    within: { detection: 5000, response: 15_000, mitigation: null, recovery: null },
    replayCompression: 1,
    load: true,
    impact: "Ethereum mints priced out at 1000 gwei; failover to polygon",
  },
  {
    name: "primary-rpc-outage",
    description: "The primary RPC provider of ethereum is down; the monitor must fail over",
    targets: ["collateral_management"],
    touched: [
      { name: "collateral_management", tier: 1, via: "target" },
      { name: "reserve_monitoring", tier: 1, via: "dependent" },
      { name: "reporting_systems", tier: 2, via: "dependent" },
    ],
    faults: [
      {
        type: "rpc_outage",
        params: { chain: "ethereum", provider: "primary", for: "15s" },
        description: "ethereum primary RPC proxy disabled",
        atMs: 0,
        forMs: 15_000,
      },
    ],
    alerts: { detection: ["RPC_FAILOVER"], response: ["RPC_FAILOVER"], mitigation: ["RPC_FAILOVER"] },
    within: { detection: 5000, response: null, mitigation: null, recovery: null },
    replayCompression: 1,
    load: false,
    impact: "Collateral monitor lost its primary provider",
  },
  {
    name: "regulatory-pressure",
    description:
      "An emergency reserve report is demanded within 5 minutes while the regulator endpoint degrades",
    targets: ["compliance_tools"],
    touched: [
      { name: "compliance_tools", tier: 2, via: "target" },
      { name: "reporting_systems", tier: 2, via: "dependent" },
    ],
    faults: [
      {
        type: "regulatory_pressure",
        params: { deadline: "5m", latency: "3s" },
        description:
          "regulator demands an emergency report within 5 min; endpoint adds 3 s latency and drops 30%",
        atMs: 0,
        forMs: 40_000,
      },
    ],
    alerts: { detection: ["REPORT_FALLBACK"], response: ["REPORT_FILED"], mitigation: ["REPORT_FILED"] },
    within: { detection: null, response: null, mitigation: null, recovery: 300_000 },
    replayCompression: 10,
    load: false,
    impact: "Compliance report filing degraded under a regulator deadline",
  },
];

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms: number): string => new Date(Math.round(ms)).toISOString();
const hex64 = (r: () => number): string =>
  Array.from({ length: 64 }, () => "0123456789abcdef"[Math.floor(r() * 16)]).join("");

export interface FixtureOptions {
  /** Seed of this journal (and its random timings). @default 42 */
  seed?: number;
  /** Which scenario template (index, modulo the list). @default 0 */
  scenario?: number;
  /** Start time in ms since the epoch. @default 2026-11-02T03:00:00.000Z */
  startMs?: number;
  /** Make the run fail (slow detection, a failed budget). @default false */
  fail?: boolean;
  /** Put secrets in several fields. @default false */
  plantSecrets?: boolean;
  /** End status override. */
  status?: JournalDraft["status"];
}

/** Number of scenario templates the fixtures cycle through. */
export const FIXTURE_SCENARIOS = SCENARIOS.length;

/** When a fixture drill's moments come: epoch ms for `startMs`, `t0` and `endMs`, else ms from `t0`. */
interface DrillTimes {
  startMs: number;
  steadyMs: number;
  /** The first injection. */
  t0: number;
  detection: number;
  response: number;
  mitigation: number;
  lastHeal: number;
  recovery: number;
  endMs: number;
}

/** A realistic journal draft (no integrity record yet). */
export function makeJournalDraft(options: FixtureOptions = {}): JournalDraft {
  const seed = options.seed ?? 42;
  const r = rng(seed);
  const tpl = SCENARIOS[(options.scenario ?? 0) % SCENARIOS.length]!;
  const fail = options.fail ?? false;
  const times = drillTimes(tpl, r, fail, options.startMs ?? Date.parse("2026-11-02T03:00:00.000Z"));
  const { startMs, t0, detection, recovery, endMs } = times;
  const rtoSeconds = Math.min(...tpl.touched.map((s) => RTO_BY_TIER[s.tier]!));
  const rtoSystem = tpl.touched.find((s) => RTO_BY_TIER[s.tier] === rtoSeconds)!.name;
  const secrets = options.plantSecrets ?? false;
  const { timeline, faults } = drillTimeline(tpl, r, times, secrets);

  const phases = {
    detection_ms: Math.round(detection),
    response_ms: Math.round(times.response),
    mitigation_ms: Math.round(times.mitigation),
    recovery_ms: Math.round(recovery),
  };
  const verdicts = phaseVerdicts(tpl, phases, rtoSeconds, rtoSystem);
  const invariants = drillInvariants(r);
  for (const inv of invariants) {
    verdicts.push({
      name: inv.name,
      kind: "invariant",
      passed: inv.passed,
      reason: inv.detail,
      limit: null,
      measured: null,
    });
  }
  verdicts.push({
    name: "steady state holds after recovery",
    kind: "steady_state",
    passed: true,
    reason: "collateral ratio 1.86 >= 1.5 on ethereum; /health ok",
    limit: "collateral_ratio >= 1.5",
    measured: 1.86,
  });

  const load = tpl.load ? drillLoad(r, fail, times) : null;
  if (load) verdicts.push(...budgetVerdicts(load));
  const allPassed = verdicts.every((v) => v.passed);
  const status = options.status ?? (allPassed ? "completed" : "failed");
  const startedAt = iso(startMs);
  const kpis = drillKpis(r, load?.scenarios[0]?.success_rate ?? 0.9995);
  const alertText = incidentText(tpl, iso(t0 + detection), status);
  return {
    version: JOURNAL_VERSION,
    id: journalId(startedAt, tpl.name, seed),
    scenario: {
      name: tpl.name,
      file: `scenarios/${tpl.name}.yml`,
      sha256: hex64(rng(tpl.name.length * 7919)),
      description: tpl.description,
      targets: tpl.targets,
      tier: Math.min(...tpl.touched.filter((s) => s.via === "target").map((s) => s.tier)),
    },
    seed,
    replay_compression: tpl.replayCompression,
    status,
    deviated: status !== "completed" && fail,
    started_at: startedAt,
    ended_at: iso(endMs),
    first_injection_at: iso(t0),
    versions: {
      firedrill: "0.1.0",
      node: "22.23.3",
      anvil: "1.7.1",
      toxiproxy: { kind: "embedded", version: "2.12.0-compatible" },
      k6: tpl.load ? "1.4.2" : null,
      stack: { name: "firedrill-reference-stack", version: "0.1.0" },
    },
    lab: drillLab(secrets),
    systems: {
      touched: tpl.touched.map((s) => ({ ...s, rto_seconds: RTO_BY_TIER[s.tier]! })),
      rto_seconds: rtoSeconds,
      rto_system: rtoSystem,
    },
    timeline,
    faults,
    phases,
    phase_limits_ms: tpl.within,
    mttr_ms: phases.recovery_ms,
    verdicts,
    invariants,
    load,
    kpis,
    alert: {
      severity: "critical",
      text: secrets
        ? `${alertText}\nDashboard: https://ops.example.org/incident/7?token=${PLANTED_SECRETS[5]}`
        : alertText,
    },
    remediation: drillRemediation(status),
    notes: secrets ? [`gateway probed with Authorization: Bearer ${PLANTED_SECRETS[5]}`] : [],
  } satisfies JournalDraft;
}

/** The drill's timings, drifting with the run's seed; a failing drill detects and recovers late. */
function drillTimes(tpl: ScenarioTemplate, r: () => number, fail: boolean, startMs: number): DrillTimes {
  const steadyMs = 1800 + r() * 800;
  const t0 = startMs + steadyMs;
  const detection = fail ? (tpl.within.detection ?? 9000) * (1.4 + r() * 0.5) : 1200 + r() * 2600;
  const response = detection + 800 + r() * 2200;
  const mitigation = response + 600 + r() * 2400;
  const lastHeal = Math.max(...tpl.faults.map((f) => f.atMs + (f.forMs ?? 0)));
  const recovery = lastHeal + 1500 + r() * 4000 * (fail ? 3 : 1);
  const endMs = t0 + recovery + 2500;
  return { startMs, steadyMs, t0, detection, response, mitigation, lastHeal, recovery, endMs };
}

/** The timeline (probes, faults with their proofs and heals, alerts, phases, load) and the fault records. */
function drillTimeline(
  tpl: ScenarioTemplate,
  r: () => number,
  times: DrillTimes,
  secrets: boolean,
): { timeline: TimelineEvent[]; faults: JournalDraft["faults"] } {
  const { steadyMs, t0, detection, response, mitigation, lastHeal, recovery } = times;
  const timeline: TimelineEvent[] = [];
  const push = (tMs: number, event: Omit<TimelineEvent, "at" | "t_ms">): void => {
    timeline.push({ at: iso(t0 + tMs), t_ms: Math.round(tMs), ...event });
  };
  push(-steadyMs, {
    kind: "probe.ok",
    name: "steady_state",
    summary: "steady state holds: collateral ratio 1.87 on ethereum, /health ok",
  });
  if (tpl.load)
    push(-steadyMs + 400, {
      kind: "load.started",
      name: "normal",
      summary: "load profile normal started (k6)",
    });
  const faults = drillFaults(tpl, r, t0, secrets, push);
  const alert = (tMs: number, name: string, severity: "critical" | "high" | "medium" | "low"): void => {
    const details: Record<string, unknown> = {
      chain: "ethereum",
      value: Number((r() * 2).toFixed(4)),
      // Drawn from the time, not from r(): the journals' other numbers stay as they were.
      delivery_delay_ms: 40 + (Math.round(tMs) % 700),
    };
    if (secrets) {
      details["authorization"] = `Bearer ${PLANTED_SECRETS[2]}`;
      details["webhook_secret"] = PLANTED_SECRETS[4];
    }
    push(tMs, {
      kind: "alert.received",
      name,
      severity,
      system: tpl.targets[0]!,
      chain: "ethereum",
      summary: `${name} (${severity}) from ${tpl.targets[0]}`,
      details,
    });
  };
  for (const [i, name] of tpl.alerts.detection.entries()) alert(detection + i * 300, name, "critical");
  for (const name of tpl.alerts.response) alert(response, name, "high");
  for (const name of tpl.alerts.mitigation) alert(mitigation, name, "high");
  alert(recovery - 50, "RECOVERED", "low");
  const phaseAt = { detection, response, mitigation, recovery };
  const firstAlert: Record<string, string | undefined> = {
    detection: tpl.alerts.detection[0],
    response: tpl.alerts.response[0],
    mitigation: tpl.alerts.mitigation[0],
  };
  for (const [phase, at] of Object.entries(phaseAt)) {
    const by = firstAlert[phase];
    // As a journal written before phase events carried the delivery delay: the report
    // finds it on the alert's own event.
    push(at, {
      kind: "phase.reached",
      name: phase,
      summary: `${phase} reached${by ? ` by ${by}` : ""}`,
      ...(by ? { details: { alert: by } } : {}),
    });
  }
  for (let t = 0; t < recovery; t += 3000) {
    const failing = t > detection && t < lastHeal;
    push(t + 500, {
      kind: failing ? "probe.failed" : "probe.ok",
      name: "collateral_ratio_at_least",
      summary: failing
        ? "collateral_ratio_at_least 1.5 on ethereum: read failed"
        : "collateral_ratio_at_least 1.5 holds",
    });
  }
  if (tpl.load)
    push(recovery + 1000, { kind: "load.ended", name: "normal", summary: "load profile normal ended" });
  push(recovery + 1200, {
    kind: "note",
    summary: secrets
      ? `steady state re-checked via https://rpc.example.org/x?apikey=${PLANTED_SECRETS[3]}`
      : "steady state holds again",
  });
  timeline.sort((a, b) => a.t_ms - b.t_ms);
  return { timeline, faults };
}

/** Each fault injected, proven and (with a `for`) healed on the timeline; its journal record. */
function drillFaults(
  tpl: ScenarioTemplate,
  r: () => number,
  t0: number,
  secrets: boolean,
  push: (tMs: number, event: Omit<TimelineEvent, "at" | "t_ms">) => void,
): JournalDraft["faults"] {
  return tpl.faults.map((f, i) => {
    const injectedAt = f.atMs + r() * 40;
    const healedAt = f.forMs === null ? null : f.atMs + f.forMs + r() * 60;
    push(injectedAt, { kind: "fault.injected", fault: i, summary: `${f.type} injected`, details: f.params });
    const proofAt = injectedAt + 150 + r() * 300;
    const observed: Record<string, unknown> =
      f.type === "gas_spike"
        ? { chain: "ethereum", next_block_base_fee_gwei: 1000, block: 1842 + Math.floor(r() * 50) }
        : f.type === "oracle_outage"
          ? { proxy: "oracle-chainlink", connect: "ECONNRESET", last_good_updated_at: iso(t0 - 900) }
          : f.type === "collateral_shock"
            ? { pair: "USDC/USD", price_before: 1.0, price_now: 0.9987, target: 0.92 }
            : {
                proxy: f.type === "rpc_outage" ? "rpc-ethereum-primary" : "regulator",
                enabled: false,
                probe: "refused",
              };
    if (secrets && i === 0) {
      observed["signer_private_key"] = `0x${PLANTED_SECRETS[0]}`;
      observed["rpc"] = `https://operator:${PLANTED_SECRETS[1]}@rpc.example.org/v2/x`;
    }
    push(proofAt, { kind: "fault.proof", fault: i, summary: `${f.type} took effect`, details: observed });
    if (healedAt !== null) push(healedAt, { kind: "fault.healed", fault: i, summary: `${f.type} healed` });
    return {
      type: f.type,
      params: f.params,
      description: f.description,
      scheduled_at_ms: f.atMs,
      scheduled_for_ms: f.forMs,
      injected_at: iso(t0 + injectedAt),
      healed_at: healedAt === null ? null : iso(t0 + healedAt),
      proof: { ok: true, at: iso(t0 + proofAt), summary: `${f.type} observed in effect`, observed },
    };
  });
}

/** The RTO verdict, then one per phase the template limits. */
function phaseVerdicts(
  tpl: ScenarioTemplate,
  phases: Record<`${"detection" | "response" | "mitigation" | "recovery"}_ms`, number>,
  rtoSeconds: number,
  rtoSystem: string,
): JournalDraft["verdicts"] {
  const recovery = phases.recovery_ms;
  const verdicts: JournalDraft["verdicts"] = [
    {
      name: `recovery within the RTO of ${rtoSystem}`,
      kind: "rto",
      passed: recovery <= rtoSeconds * 1000,
      reason: `recovered ${(recovery / 1000).toFixed(1)} s after the first injection; RTO ${rtoSeconds} s (tier ${tpl.touched.find((s) => s.name === rtoSystem)!.tier}, ${rtoSystem})`,
      limit: rtoSeconds * 1000,
      measured: phases.recovery_ms,
      unit: "ms",
    },
  ];
  for (const phase of ["detection", "response", "mitigation", "recovery"] as const) {
    const limit = tpl.within[phase];
    if (limit === null) continue;
    const measured = phases[`${phase}_ms`];
    verdicts.push({
      name: `${phase} within ${limit / 1000} s`,
      kind: "phase",
      passed: measured <= limit,
      reason:
        measured <= limit
          ? `${phase} after ${(measured / 1000).toFixed(1)} s (${tpl.alerts[phase as "detection"]?.[0] ?? "probe"}), limit ${limit / 1000} s`
          : `${phase} took ${(measured / 1000).toFixed(1)} s, over the ${limit / 1000} s limit of the scenario`,
      limit,
      measured,
      unit: "ms",
    });
  }
  return verdicts;
}

function drillInvariants(r: () => number): JournalDraft["invariants"] {
  return [
    {
      name: "no accepted redemption lost",
      passed: true,
      detail: `${40 + Math.floor(r() * 30)} accepted, all paid`,
    },
    { name: "no redemption paid twice", passed: true, detail: "0 duplicate Redeemed events" },
    {
      name: "total supply equals the sum of balances",
      passed: true,
      detail: "on ethereum, polygon, arbitrum",
    },
    {
      name: "collateral conserved",
      passed: true,
      detail: "vault USDC + ETH value matches deposits minus payouts",
    },
  ];
}

/** The normal load profile's mint and redeem rows; a failing drill's redemptions are slow and fail. */
function drillLoad(r: () => number, fail: boolean, times: DrillTimes): NonNullable<JournalDraft["load"]> {
  const { steadyMs, t0, recovery } = times;
  const bounds = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 15_000, 30_000];
  const scenario = (name: string, budgetMs: number, scale: number): LoadScenario => {
    const requests = 2400 + Math.floor(r() * 600);
    const failures = fail && name === "redeem" ? Math.floor(requests * 0.004) : Math.floor(r() * 2);
    const p50 = scale * (0.8 + r() * 0.4);
    const p95 = p50 * (3 + r() * 2) * (fail && name === "redeem" ? 6 : 1);
    const p99 = p95 * (1.4 + r() * 0.4);
    const counts = bounds.map((b, i) => {
      const lo = i === 0 ? 0 : bounds[i - 1]!;
      const mid = (lo + b) / 2;
      return Math.round((requests * Math.exp(-((Math.log(mid) - Math.log(p50)) ** 2) / 1.2)) / 3);
    });
    counts.push(Math.round(requests * 0.001));
    const successRate = (requests - failures) / requests;
    return {
      name,
      requests,
      failures,
      rps: Number((requests / ((recovery + steadyMs) / 1000)).toFixed(1)),
      success_rate: Number(successRate.toFixed(5)),
      p50_ms: Math.round(p50),
      p95_ms: Math.round(p95),
      p99_ms: Math.round(p99),
      max_ms: Math.round(p99 * 1.6),
      budgets: [
        {
          metric: "p95_ms",
          threshold: `p(95)<${budgetMs}`,
          limit: budgetMs,
          measured: Math.round(p95),
          passed: p95 < budgetMs,
        },
        {
          metric: "success_rate",
          threshold: "rate>0.999",
          limit: 0.999,
          measured: Number(successRate.toFixed(5)),
          passed: successRate > 0.999,
        },
      ],
      histogram: { bounds_ms: bounds, counts },
    };
  };
  return {
    profile: "normal",
    engine: "k6",
    started_at: iso(t0 - steadyMs + 400),
    ended_at: iso(t0 + recovery + 1000),
    scenarios: [scenario("mint", 30_000, 900), scenario("redeem", 15_000, 2200)],
  };
}

function budgetVerdicts(load: NonNullable<JournalDraft["load"]>): JournalDraft["verdicts"] {
  const verdicts: JournalDraft["verdicts"] = [];
  for (const s of load.scenarios) {
    for (const b of s.budgets) {
      verdicts.push({
        name: `${s.name} ${b.threshold}`,
        kind: "budget",
        passed: b.passed,
        reason: `${s.name} ${b.metric} ${b.measured}${b.metric.endsWith("_ms") ? " ms" : ""} against ${b.threshold}`,
        limit: b.limit,
        measured: b.measured,
        unit: b.metric.endsWith("_ms") ? "ms" : "ratio",
      });
    }
  }
  return verdicts;
}

/** The KPI snapshot: the BCP's thresholds and targets, with values that drift with the run's seed. */
function drillKpis(r: () => number, mintRate: number): JournalDraft["kpis"] {
  const kpi = (
    name: string,
    value: number,
    unit: string,
    kind: "threshold" | "target",
    limit: number,
    direction: "at_least" | "at_most",
    description: string,
  ): JournalDraft["kpis"][number] => ({
    name,
    value,
    unit,
    kind,
    limit,
    direction,
    ok: direction === "at_least" ? value >= limit : value <= limit,
    description,
  });
  return [
    kpi(
      "collateral_ratio",
      1.86,
      "ratio",
      "threshold",
      1.02,
      "at_least",
      "Vault collateral value over fdUSD supply",
    ),
    kpi(
      "oracle_consensus_deviation",
      Number((0.0008 + r() * 0.003).toFixed(4)),
      "ratio",
      "threshold",
      0.002,
      "at_most",
      "Maximum deviation between oracle sources",
    ),
    kpi(
      "redemption_queue_depth",
      Math.floor(r() * 300),
      "requests",
      "threshold",
      500,
      "at_most",
      "Pending redemption requests",
    ),
    kpi(
      "cross_chain_sync_lag",
      Number((2 + r() * 12).toFixed(1)),
      "s",
      "threshold",
      30,
      "at_most",
      "Time difference between chain states",
    ),
    kpi(
      "mint_success_rate",
      mintRate,
      "ratio",
      "target",
      0.999,
      "at_least",
      "Successful mints over attempts",
    ),
    kpi(
      "average_redemption_time",
      Math.round(20 + r() * 200),
      "s",
      "target",
      300,
      "at_most",
      "Request to payout",
    ),
  ];
}

/** The lab: three chains behind three providers each, three price sources; a fork URL with a secret if asked. */
function drillLab(secrets: boolean): JournalDraft["lab"] {
  return {
    chains: [
      {
        name: "ethereum",
        chain_id: 1,
        block_time_ms: 1000,
        providers: [...PROVIDERS],
        fork: secrets ? `https://lab:${PLANTED_SECRETS[1]}@mainnet.example.org` : null,
      },
      {
        name: "polygon",
        chain_id: 137,
        block_time_ms: 1000,
        providers: [...PROVIDERS],
        fork: null,
      },
      {
        name: "arbitrum",
        chain_id: 42161,
        block_time_ms: 250,
        providers: [...PROVIDERS],
        fork: null,
      },
    ],
    sources: [...SOURCE_NAMES],
    clock_speedup: 60,
  };
}

/** The remediation plan; its last step is done once the drill completed. */
function drillRemediation(status: JournalDraft["status"]): JournalDraft["remediation"] {
  return [
    {
      step: "Pause non-critical operations (mints) while the price is unreliable",
      owner: "stack",
      due: "T+1 min",
      done: true,
    },
    {
      step: "Switch the collateral monitor to the secondary oracle sources",
      owner: "stack",
      due: "T+2 min",
      done: true,
    },
    {
      step: "Notify the emergency team and prepare the regulator notification",
      owner: "on-call SRE",
      due: "T+5 min",
      done: true,
    },
    {
      step: "Resume mints once two sources agree within 0.5% for 5 minutes",
      owner: "incident lead",
      due: "T+15 min",
      done: status === "completed",
    },
  ];
}

/** The BCP's incident alert text for the drill. */
function incidentText(tpl: ScenarioTemplate, alertTime: string, status: JournalDraft["status"]): string {
  return [
    "## INCIDENT ALERT - CRITICAL",
    `**Time**: ${alertTime}`,
    "**System**: Stablecoin Operations",
    `**Impact**: ${tpl.impact}`,
    `**Current Status**: ${status === "completed" ? "Recovery" : "Mitigation"}`,
    "**Immediate Actions Taken**:",
    "- [x] Primary systems status verified",
    "- [x] Secondary systems activated",
    "- [x] Team notification sent",
    `- [${tpl.targets.includes("compliance_tools") ? "x" : " "}] Regulatory notification prepared (if required)`,
    "**Next Steps**:",
    `1. Confirm ${tpl.targets[0]} healthy on all providers (owner: on-call SRE, within 15 min)`,
    "2. Post-mortem with the timeline of this drill (owner: incident lead, within 48 h)",
    "**Communication Schedule**: Updates every 30 minutes until resolved",
  ].join("\n");
}

/** A sealed journal (first in its chain unless `previous` is given), secrets not redacted. */
export function makeJournal(options: FixtureOptions = {}, previous: Integrity["previous"] = null): Journal {
  return sealJournal(makeJournalDraft(options), previous);
}

/**
 * `count` journals of a monthly-drill history, one to three days apart, cycling through
 * the scenarios, about one in six failing, chained as `writeJournal` chains them.
 */
export function makeJournalSeries(count: number, seed = 7): Journal[] {
  const r = rng(seed);
  const out: Journal[] = [];
  let startMs = Date.parse("2026-03-01T02:00:00.000Z");
  let previous: Integrity["previous"] = null;
  for (let i = 0; i < count; i++) {
    startMs += 86_400_000 * (1 + Math.floor(r() * 3)) + Math.floor(r() * 3_600_000);
    const journal = makeJournal(
      { seed: 1000 + i, scenario: Math.floor(r() * SCENARIOS.length), startMs, fail: r() < 0.17 },
      previous,
    );
    previous = {
      file: `${journal.id}${JOURNAL_SUFFIX}`,
      sha256: journal.integrity.sha256,
      sequence: journal.integrity.sequence,
    };
    out.push(journal);
  }
  return out;
}

/** Writes journals (as `makeJournalSeries` chained them) and the head file into `dir`. Returns the paths. */
export async function writeJournalFiles(dir: string, journals: readonly Journal[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const journal of journals) {
    const path = join(dir, `${journal.id}${JOURNAL_SUFFIX}`);
    await writeFile(path, `${JSON.stringify(journal, null, 2)}\n`);
    paths.push(path);
  }
  const last = journals.at(-1);
  if (last !== undefined) {
    await writeFile(
      join(dir, HEAD_FILE),
      `${JSON.stringify({ file: `${last.id}${JOURNAL_SUFFIX}`, sha256: last.integrity.sha256, sequence: last.integrity.sequence })}\n`,
    );
  }
  return paths;
}

/** The journals a test's run wrote into `dir`, oldest first (none when there is no `dir`). */
export function journalsIn(dir: string): Journal[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(JOURNAL_SUFFIX))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Journal);
}
