/**
 * The journal draft of a finished run: what was drilled (scenario, systems, lab, versions),
 * what happened (timeline, faults, phases) and how it was judged (verdicts, invariants,
 * load, KPIs, the BCP's incident alert and the remediation plan). `writeJournal` seals it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { anvilBinary } from "../lab/anvil.ts";
import type { LabInfo } from "../lab/index.ts";
import { ROOT } from "../paths.ts";
import { incidentAlert, remediationPlan } from "./incident.ts";
import type { Invariant, Journal, JournalDraft, LoadSummary as JournalLoad, Verdict } from "./journal.ts";
import { JOURNAL_VERSION, journalId } from "./journal.ts";
import type { PhaseClock } from "./phases.ts";
import type { RunRecord } from "./record.ts";
import type { Scenario } from "./scenario.ts";
import type { SystemsMap } from "./systems-map.ts";

/** Everything a run knows once it is over. */
export interface RunOutcome {
  scenario: Scenario;
  map: SystemsMap;
  seed: number;
  status: Journal["status"];
  deviated: boolean;
  record: RunRecord;
  clock: PhaseClock;
  faults: JournalDraft["faults"];
  verdicts: Verdict[];
  invariants: Invariant[];
  load: JournalLoad | null;
  kpis: Journal["kpis"];
  /** Undefined when the run ended before it had a lab. */
  lab: LabInfo | undefined;
  sutName: string;
  /** The start jitter drawn for the run; null when it had none. */
  startJitter: { maxMs: number; drawnMs: number } | null;
}

export async function journalDraft(run: RunOutcome): Promise<JournalDraft> {
  const { scenario, map, seed, status, record, clock, lab, load } = run;
  const timeline = record.placed();
  const t0 = record.t0;
  const phases = clock.times();
  return {
    version: JOURNAL_VERSION,
    id: journalId(record.startedAt.toISOString(), scenario.name, seed),
    scenario: {
      name: scenario.name,
      file: relative(ROOT, scenario.file) || scenario.file,
      sha256: scenario.sha256,
      description: scenario.description ?? scenario.name,
      targets: scenario.targets,
      tier: scenario.tier,
    },
    seed,
    replay_compression: scenario.replay_compression,
    start_jitter:
      run.startJitter === null ? null : { max_ms: run.startJitter.maxMs, drawn_ms: run.startJitter.drawnMs },
    status,
    deviated: run.deviated,
    started_at: record.startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    first_injection_at: t0 === undefined ? null : new Date(t0).toISOString(),
    versions: {
      firedrill: packageVersion(),
      node: process.versions.node,
      anvil: versionOfAnvil(),
      toxiproxy: { kind: lab?.toxiproxy.kind ?? "embedded", version: lab?.toxiproxy.version ?? "unknown" },
      k6: load?.engine === "k6" ? await versionOfK6() : null,
      stack: { name: run.sutName, version: packageVersion() },
    },
    lab: {
      chains: lab
        ? Object.entries(lab.chains).map(([name, chain]) => ({
            name,
            chain_id: chain.chainId,
            block_time_ms: chain.blockTimeMs,
            providers: Object.keys(chain.rpc),
            fork: chain.fork ? `${chain.fork.host} at block ${chain.fork.block}` : null,
          }))
        : [],
      sources: lab ? Object.keys(lab.oracles.sources) : [],
      clock_speedup: lab?.clockSpeedup ?? null,
    },
    systems: {
      touched: scenario.blastRadius.map((name) => {
        const system = map.systems.get(name)!;
        return {
          name,
          tier: system.tier,
          rto_seconds: (map.tiers.get(system.tier)?.rtoMs ?? scenario.rtoMs) / 1000,
          via: scenario.targets.includes(name) ? ("target" as const) : ("dependent" as const),
        };
      }),
      rto_seconds: scenario.rtoMs / 1000,
      rto_system:
        scenario.blastRadius.find((s) => map.systems.get(s)?.tier === scenario.tier) ?? scenario.targets[0]!,
    },
    timeline,
    faults: run.faults,
    phases: {
      detection_ms: phases.detection,
      response_ms: phases.response,
      mitigation_ms: phases.mitigation,
      recovery_ms: phases.recovery,
    },
    phase_limits_ms: {
      detection: scenario.expect.within.detection ?? null,
      response: scenario.expect.within.response ?? null,
      mitigation: scenario.expect.within.mitigation ?? null,
      recovery: scenario.expect.within.recovery ?? null,
    },
    mttr_ms: phases.recovery,
    verdicts: run.verdicts,
    invariants: run.invariants,
    load,
    kpis: run.kpis,
    alert: incidentAlert(scenario, timeline, status, phases, clock.origin ?? null),
    remediation: remediationPlan(scenario, run.verdicts, record.seen),
    notes: record.notes,
  };
}

let anvilVersion: string | undefined;
function versionOfAnvil(): string {
  if (anvilVersion) return anvilVersion;
  try {
    anvilVersion = execFileSync(anvilBinary(), ["--version"], { encoding: "utf8" })
      .split("\n")[0]!
      .replace(/^anvil Version: /, "");
  } catch {
    anvilVersion = "unknown";
  }
  return anvilVersion;
}

/** `k6 v1.8.1 (...)` of the k6 binary the load engine would use; null when none is found. */
async function versionOfK6(): Promise<string | null> {
  const { findK6 } = await import("../loadgen/k6.ts");
  const bin = findK6();
  if (!bin) return null;
  try {
    return execFileSync(bin, ["version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}
