/**
 * What a run records as it goes, for its journal: the timeline, the notes, the alert events
 * received and the redemptions the gateway accepted. Times on the timeline count from the
 * first injection; events before it are placed again once it is known.
 */
import type { AcceptedRedemption } from "./invariants.ts";
import type { TimelineEvent } from "./journal.ts";

/** A timeline event as a part of the run reports it: `atMs` (epoch ms) defaults to now. */
export type Emit = (event: Omit<TimelineEvent, "at" | "t_ms"> & { atMs?: number }) => void;

export class RunRecord {
  readonly startedAt: Date;
  readonly timeline: TimelineEvent[] = [];
  readonly notes: string[] = [];
  /** Every alert event received, before or after the first injection. */
  readonly seen = new Set<string>();
  readonly accepted: AcceptedRedemption[] = [];
  /**
   * Undefined until the fault schedule starts; then its start, and from the first injection
   * on, the first injection. The run's journal is written only once it is set.
   */
  t0: number | undefined;
  readonly #onEvent: ((event: TimelineEvent, context: { beforeInjection: boolean }) => void) | undefined;

  constructor(
    startedAt: Date,
    onEvent: ((event: TimelineEvent, context: { beforeInjection: boolean }) => void) | undefined,
  ) {
    this.startedAt = startedAt;
    this.#onEvent = onEvent;
  }

  /** Puts an event on the timeline and hands it to the run's `onEvent`. */
  readonly emit: Emit = (event) => {
    const atMs = event.atMs ?? Date.now();
    const { atMs: _, ...rest } = event;
    const full: TimelineEvent = {
      ...rest,
      at: new Date(atMs).toISOString(),
      t_ms: atMs - (this.t0 ?? this.startedAt.getTime()),
    };
    this.timeline.push(full);
    this.#onEvent?.(full, { beforeInjection: this.t0 === undefined || atMs < this.t0 });
  };

  /** The alert events received before `atMs` (epoch ms); none when it is undefined. */
  alertsBefore(atMs: number | undefined): Set<string> {
    const out = new Set<string>();
    if (atMs === undefined) return out;
    for (const event of this.timeline)
      if (event.kind === "alert.received" && event.name && Date.parse(event.at) < atMs) out.add(event.name);
    return out;
  }

  /** The timeline for the journal: every `t_ms` counted from the first injection, in time order. */
  placed(): TimelineEvent[] {
    const origin = this.t0 ?? this.startedAt.getTime();
    for (const event of this.timeline) event.t_ms = Date.parse(event.at) - origin;
    this.timeline.sort((a, b) => a.t_ms - b.t_ms);
    return this.timeline;
  }
}
