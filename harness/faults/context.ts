/**
 * What a fault gets to act on the lab, and what it gives back. A fault never reaches the
 * lab any other way, so the same fault works on a lab in this process or one attached by
 * its lab.json.
 */
import type { LabInfo } from "../lab/index.ts";
import type { Random } from "../random.ts";

/** Evidence that a fault (or its heal) took effect, measured, for the journal and the report. */
export interface FaultProof {
  /** False when the fault could not be shown to act: the runner marks the run `deviated`. */
  tookEffect: boolean;
  /** One line for the report, e.g. "next block base fee 1000.0 gwei (block 812)". */
  summary: string;
  /** The measured values behind the summary. */
  evidence: Record<string, unknown>;
  /** ISO time of the measurement. */
  at: string;
}

export interface Injected {
  proof: FaultProof;
  /** Undoes the fault and proves it is undone. Idempotent: a second call does nothing and returns the first result. */
  heal(): Promise<FaultProof>;
}

export interface FaultContext {
  lab: LabInfo;
  /** JSON-RPC straight to a chain's node (not through a proxy). */
  rpc<T = unknown>(chain: string, method: string, params?: unknown[]): Promise<T>;
  /** POST to the lab's control API (market, sources, keeper, sequencer); returns its JSON. */
  control<T = unknown>(path: string, body: unknown): Promise<T>;
  /** The system under test's ops gateway, for faults that drive it (redemption_run). */
  gateway?: { url: string; token: string } | undefined;
  /**
   * The proxy between the system under test and the alert receiver (its name on the lab's
   * Toxiproxy, and `http://host:port` of its listener), when the run put one there.
   */
  alertPath?: { proxy: string; url: string } | undefined;
  /** The run's seeded generator: a fault draws all its randomness here. */
  random: Random;
  /** Aborted when the run is interrupted: long-running injections stop their loops. */
  signal: AbortSignal;
  /** A progress line (redacted before it is printed). */
  log(line: string): void;
}

/** The proof helper every fault uses. */
export function proof(
  tookEffect: boolean,
  summary: string,
  evidence: Record<string, unknown> = {},
): FaultProof {
  return { tookEffect, summary, evidence, at: new Date().toISOString() };
}
