/**
 * The fault schedule: every fault injected at its `at` and, when it has a `for`, healed
 * after it; the others stay active until `healAll`. It keeps each fault's journal record
 * (when it was injected and healed, and the proof it took effect) and starts the phase
 * clock at the first injection.
 */
import { FiredrillError } from "../errors.ts";
import type { FaultContext, FaultProof, Injected } from "../faults/context.ts";
import { type Fault, faultDefinition } from "../faults/index.ts";
import { sleep } from "../process.ts";
import type { JournalDraft } from "./journal.ts";
import type { PhaseClock } from "./phases.ts";
import type { RunRecord } from "./record.ts";
import type { Scenario } from "./scenario.ts";

export class FaultSchedule {
  /** One journal record per fault of the scenario, in scenario order. */
  readonly records: JournalDraft["faults"];
  readonly #scenario: Scenario;
  readonly #record: RunRecord;
  readonly #clock: PhaseClock;
  /** Faults injected and not healed yet, by index. */
  readonly #active = new Map<number, Injected>();

  constructor(scenario: Scenario, record: RunRecord, clock: PhaseClock) {
    this.#scenario = scenario;
    this.#record = record;
    this.#clock = clock;
    this.records = scenario.faults.map((fault) => ({
      ...(fault.id ? { id: fault.id } : {}),
      type: fault.type,
      params: paramsOf(fault),
      description: faultDefinition(fault.type)?.describe(fault as never) ?? fault.type,
      scheduled_at_ms: fault.at,
      scheduled_for_ms: fault.for ?? null,
      injected_at: null,
      healed_at: null,
      proof: null,
    }));
  }

  /**
   * Starts every fault on its schedule, counted from now. Settles when each fault is
   * injected and, if it has a `for`, healed; a fault not yet due when `signal` aborts or
   * `stopped()` holds is never injected.
   */
  start(
    ctx: FaultContext,
    signal: AbortSignal,
    stopped: () => boolean,
  ): Promise<PromiseSettledResult<void>[]> {
    this.#record.t0 = Date.now();
    let firstApplied = false;
    const tasks = this.#scenario.faults.map((fault, index) =>
      (async () => {
        await sleep(fault.at, signal);
        if (signal.aborted || stopped()) return;
        const definition = faultDefinition(fault.type);
        if (!definition) throw new FiredrillError("FD209", `unknown fault type ${fault.type}`);
        // The fault is in effect from the moment it is applied; its proof may take a block to come.
        const appliedAt = Date.now();
        // Phases count from the first injection itself, not from the start of the schedule.
        if (!firstApplied) {
          firstApplied = true;
          this.#record.t0 = appliedAt;
          this.#clock.start(appliedAt);
        }
        const injected = await definition.inject(ctx, fault as never);
        this.#active.set(index, injected);
        this.#injected(index, fault, appliedAt, injected);
        if (fault.for !== undefined) {
          await sleep(fault.for, signal);
          await this.heal(index);
        }
      })(),
    );
    return Promise.allSettled(tasks);
  }

  /** Heals one fault if it is active, and records the heal. */
  async heal(index: number): Promise<void> {
    const injected = this.#active.get(index);
    if (!injected) return;
    this.#active.delete(index);
    const began = Date.now();
    const proof = await injected.heal();
    const { accepted, emit } = this.#record;
    // A fault that drives the gateway (redemption_run) reports every accepted id when it ends.
    for (const id of acceptedIds(proof)) if (!accepted.some((a) => a.id === id)) accepted.push({ id });
    this.records[index]!.healed_at = new Date().toISOString();
    emit({
      kind: "fault.healed",
      fault: index,
      summary: `${this.#scenario.faults[index]!.type} healed: ${proof.summary}`,
      // The heal's action and its proof: the fault may have lifted at any time in between.
      details: { ...proofDetails(proof), heal_took_ms: Date.now() - began },
    });
  }

  /** Heals every active fault, the last injected first. */
  async healAll(): Promise<void> {
    for (const index of [...this.#active.keys()].reverse()) await this.heal(index);
  }

  /** Records an injection: its time and proof in the journal record, and on the timeline. */
  #injected(index: number, fault: Fault, appliedAt: number, injected: Injected): void {
    const { emit, notes, accepted } = this.#record;
    const record = this.records[index]!;
    record.injected_at = new Date(appliedAt).toISOString();
    record.proof = {
      ok: injected.proof.tookEffect,
      at: injected.proof.at,
      summary: injected.proof.summary,
      observed: injected.proof.evidence,
    };
    emit({
      kind: "fault.injected",
      atMs: appliedAt,
      fault: index,
      summary: `${record.description}`,
    });
    emit({
      kind: "fault.proof",
      fault: index,
      summary: injected.proof.summary,
      details: proofDetails(injected.proof),
    });
    for (const id of acceptedIds(injected.proof)) accepted.push({ id });
    if (!injected.proof.tookEffect)
      notes.push(
        `fault ${fault.id ?? index} (${fault.type}) could not be shown to take effect: ${injected.proof.summary}`,
      );
  }
}

function paramsOf(fault: Fault): Record<string, unknown> {
  const { type: _t, id: _i, at: _a, for: _f, ...params } = fault as Fault & Record<string, unknown>;
  return params;
}

function proofDetails(proof: FaultProof): Record<string, unknown> {
  return { took_effect: proof.tookEffect, ...proof.evidence };
}

function acceptedIds(proof: FaultProof): string[] {
  const ids = proof.evidence["acceptedIds"];
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
}
