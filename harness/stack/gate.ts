import { bugError } from "../errors.ts";

/**
 * Admission control: at most `limit` holders at once; the rest wait in arrival order, each
 * until its own deadline. The reference stack keeps the transactions it has in flight on a
 * chain within what the node mines promptly, so that a burst of requests queues here, in
 * the gateway, instead of in the node, where it would slow every read the monitor makes
 * and make a busy chain look like a dead one.
 */
export class Gate {
  readonly limit: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw bugError(`gate limit must be a whole number >= 1, got ${limit}`);
    this.limit = limit;
  }

  /** Places taken now. */
  get held(): number {
    return this.#held;
  }

  /** Requests waiting for a place now. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Takes a place, waiting at most `timeoutMs` for one; resolves true when it has one (give
   * it back with `leave`), false when the deadline passed first.
   */
  enter(timeoutMs: number): Promise<boolean> {
    if (this.#held < this.limit && this.#waiting.length === 0) {
      this.#held++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const admit = () => {
        clearTimeout(timer);
        this.#held++;
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          const at = this.#waiting.indexOf(admit);
          if (at >= 0) this.#waiting.splice(at, 1);
          resolve(false);
        },
        Math.max(0, timeoutMs),
      );
      this.#waiting.push(admit);
    });
  }

  /** Gives a place back; the longest waiting request takes it. */
  leave(): void {
    if (this.#held === 0) throw bugError("gate: leave without enter");
    this.#held--;
    const next = this.#waiting.shift();
    if (next) next();
  }
}
