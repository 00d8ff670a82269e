/**
 * The oracle polling loop: polls every price source about every `pollMs` and reports each
 * poll, until stopped; a stop cuts the wait between two polls short.
 */
import type { OracleAggregator } from "./oracle.ts";

export class OraclePolling {
  readonly #aggregator: OracleAggregator;
  readonly #pollMs: number;
  readonly #onPoll: () => void;
  #running = true;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(aggregator: OracleAggregator, pollMs: number, onPoll: () => void) {
    this.#aggregator = aggregator;
    this.#pollMs = pollMs;
    this.#onPoll = onPoll;
  }

  start(): void {
    this.#loop = this.#poll();
  }

  /** Ends the loop after the poll in progress, if any. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  /** Settles when the loop has ended (at once when it never started). */
  async finished(): Promise<void> {
    await this.#loop?.catch(() => undefined);
  }

  async #poll(): Promise<void> {
    while (this.#running) {
      const started = Date.now();
      await this.#aggregator.poll().catch(() => undefined);
      this.#onPoll();
      const wait = Math.max(5, this.#pollMs - (Date.now() - started));
      await new Promise<void>((r) => {
        this.#wake = r;
        this.#timer = setTimeout(r, wait);
      });
    }
  }
}
