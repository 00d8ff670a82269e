/**
 * What every fault shares: the shape of a fault definition and its helpers. The names of
 * the lab's chains, sources and providers are in harness/names.ts.
 */
import { z } from "zod";
import type { LabChainSet } from "../names.ts";
import type { FaultContext, FaultProof, Injected } from "./context.ts";

/** When a fault starts and how long it lasts, in milliseconds from the first injection. */
export interface FaultTiming {
  /** Start, ms after the run's faults begin. @default 0 */
  at: number;
  /** How long the fault holds before it is healed, ms; absent for instantaneous faults. */
  for?: number | undefined;
}

/**
 * Whether a fault takes a `for` duration: `required` (it holds until healed),
 * `optional` (it may hold, or act once and stay until the end of the run), `none`
 * (instantaneous, like a reorg).
 */
export type FaultWindow = "required" | "optional" | "none";

/** A rule between a fault's parameters that a schema alone cannot say; path is inside the fault. */
export interface FaultProblem {
  path: readonly string[];
  message: string;
}

/**
 * One fault type. `params` holds only the type's own parameters; `type`, `id`, `at` and
 * `for` are added by the scenario schema. `inject` acts on the lab through a
 * {@link FaultContext} only, proves the fault took effect and returns its heal.
 */
export interface FaultDefinition<P extends z.ZodObject = z.ZodObject> {
  readonly type: string;
  readonly params: P;
  readonly window: FaultWindow;
  /** Systems of systems-map.yml that the fault acts on directly. */
  readonly systems: readonly string[];
  /** What the fault acts on, e.g. `rpc:ethereum:primary`: two faults of one type on one target must not overlap. */
  target(p: z.output<P>): string;
  /** Cross-field rules, and rules against the chains of the lab the fault runs on. */
  check?(p: z.output<P> & FaultTiming, chains: LabChainSet): FaultProblem[];
  /** The parameters with the defaults that depend on the lab filled in. */
  forLab?(p: z.output<P> & FaultTiming, chains: LabChainSet): z.output<P> & FaultTiming;
  /** One line for the report. */
  describe(p: z.output<P> & Partial<FaultTiming>): string;
  /**
   * Applies the fault, measures that it took effect, and returns the proof with an
   * idempotent `heal()` that undoes everything and proves it (see {@link healOnce}).
   */
  inject(ctx: FaultContext, fault: z.output<P> & FaultTiming): Promise<Injected>;
}

/** A number in (0, 1): a share, a rate. */
export const fraction = z.number().gt(0).lt(1);

/** ` for 20s` when the fault has a duration. */
export function forText(p: Partial<FaultTiming>, format: (ms: number) => string): string {
  return p.for === undefined ? "" : ` for ${format(p.for)}`;
}

/**
 * Wraps a heal so that it runs once: later calls return the first result. A heal that
 * failed may be called again (the runner retries it), so only success is remembered.
 */
export function healOnce(heal: () => Promise<FaultProof>): () => Promise<FaultProof> {
  let healing: Promise<FaultProof> | undefined;
  return () => {
    healing ??= heal().catch((error: unknown) => {
      healing = undefined;
      throw error;
    });
    return healing;
  };
}
