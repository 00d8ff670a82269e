/**
 * The plumbing of a toxic pipeline, modelled on Toxiproxy's: a direction of a connection
 * is a chain of stubs joined by channels; each stub runs one toxic, which reads chunks
 * from its input and writes them to its output, and can be interrupted so that toxics
 * are added, updated and removed while the connection lives (the chain is re-linked
 * around the interrupted stub). A `null` chunk is the end of the stream.
 */

/** Bytes read from a socket, with the time they were read (`performance.now()`, ms). */
export interface Chunk {
  data: Buffer;
  ts: number;
}

const EMPTY: unique symbol = Symbol("empty");
export type Empty = typeof EMPTY;
export { EMPTY };

type Taker = (v: Chunk | null) => void;
interface Putter {
  v: Chunk;
  resolve: (delivered: boolean) => void;
}

/** A bounded channel (capacity 0 = a hand-over); closing it makes every later read `null`. */
export class Chan {
  readonly cap: number;
  private readonly buf: Chunk[] = [];
  private takers: Taker[] = [];
  private putters: Putter[] = [];
  private closed = false;

  constructor(cap: number) {
    this.cap = cap;
  }

  /** Chunks waiting in the buffer (Go's `len(ch)`). */
  get length(): number {
    return this.buf.length;
  }

  /** Sends `v`; undefined when it was taken or buffered at once, else a promise for when it is. */
  put(v: Chunk): Promise<boolean> | undefined {
    if (this.closed) return undefined;
    const taker = this.takers.shift();
    if (taker) {
      taker(v);
      return undefined;
    }
    if (this.buf.length < this.cap) {
      this.buf.push(v);
      return undefined;
    }
    return new Promise((resolve) => this.putters.push({ v, resolve }));
  }

  /** Sends `v` or gives up after `ms`; resolves whether it was delivered. */
  async putTimed(v: Chunk, ms: number): Promise<boolean> {
    if (this.closed) return false;
    const pending = this.put(v);
    if (pending === undefined) return true;
    const entry = this.putters[this.putters.length - 1]!;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.putters = this.putters.filter((p) => p !== entry);
        resolve(false);
      }, ms);
    });
    const delivered = await Promise.race([pending, timedOut]);
    clearTimeout(timer);
    return delivered;
  }

  /** Takes a chunk if one is ready: the chunk, `null` when closed and drained, or EMPTY. */
  tryTake(): Chunk | null | Empty {
    if (this.buf.length > 0) {
      const v = this.buf.shift()!;
      const putter = this.putters.shift();
      if (putter) {
        this.buf.push(putter.v);
        putter.resolve(true);
      }
      return v;
    }
    const putter = this.putters.shift();
    if (putter) {
      putter.resolve(true);
      return putter.v;
    }
    return this.closed ? null : EMPTY;
  }

  /** Waits for a chunk; `cancel()` withdraws the wait if it has not been served. */
  take(onValue: Taker): () => void {
    const ready = this.tryTake();
    if (ready !== EMPTY) {
      onValue(ready);
      return () => {};
    }
    let done = false;
    const taker: Taker = (v) => {
      done = true;
      onValue(v);
    };
    this.takers.push(taker);
    return () => {
      if (!done) this.takers = this.takers.filter((t) => t !== taker);
    };
  }

  /** Takes the next chunk, waiting as long as needed. */
  next(): Promise<Chunk | null> | Chunk | null {
    const ready = this.tryTake();
    if (ready !== EMPTY) return ready;
    return new Promise((resolve) => this.take(resolve));
  }

  /** Closes the channel: waiting and later readers get `null` once the buffer is drained. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const takers = this.takers;
    this.takers = [];
    for (const t of takers) t(null);
  }
}

interface PendingInterrupt {
  resolve: (interrupted: boolean) => void;
  acknowledged: boolean;
}

/** What a toxic needs to run on one stub. */
export interface Runnable {
  toxicity: number;
  pipe(stub: Stub): Promise<void>;
}

/** One toxic's place in one direction of one connection. */
export class Stub {
  input: Chan;
  output: Chan;
  /** Per-connection state of a stateful toxic (limit_data counts bytes here). */
  state: unknown = undefined;
  private closedFlag = false;
  private pending: PendingInterrupt | null = null;
  private wake: (() => void) | null = null;
  private runningPipe = false;

  constructor(input: Chan, output: Chan) {
    this.input = input;
    this.output = output;
  }

  closed(): boolean {
    return this.closedFlag;
  }

  /** Ends this stub's output (the rest of the chain sees the end of the stream). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.output.close();
    if (this.pending && !this.pending.acknowledged) {
      this.pending.resolve(false);
      this.pending = null;
    }
    this.wake?.();
  }

  /**
   * Stops the running toxic at its next wait (Go's InterruptToxic): true once it has
   * stopped, false if the stub is closed.
   */
  interrupt(): Promise<boolean> {
    if (this.closedFlag) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending = { resolve, acknowledged: false };
      this.wake?.();
    });
  }

  /** Runs a toxic on this stub; with probability 1 - toxicity it runs a noop instead. */
  run(toxic: Runnable): void {
    this.runningPipe = true;
    const active = Math.random() < Math.fround(toxic.toxicity);
    const pipe = active ? toxic.pipe(this) : noopPipe(this);
    pipe
      .catch(() => this.close())
      .finally(() => {
        this.runningPipe = false;
        if (this.pending?.acknowledged) {
          this.pending.resolve(true);
          this.pending = null;
        }
      });
  }

  /** True when a toxic is running on this stub. */
  running(): boolean {
    return this.runningPipe;
  }

  /**
   * Waits for the first of: an interrupt, a chunk on the input (when `input`), the timer
   * (when `timerMs` is given). An interrupt already requested wins at once.
   */
  select(options: {
    input: boolean;
    timerMs?: number;
    interruptible?: boolean;
  }): Promise<Selected> | Selected {
    const interruptible = options.interruptible ?? true;
    if (interruptible && this.pending && !this.pending.acknowledged) {
      this.pending.acknowledged = true;
      return INTERRUPTED;
    }
    if (options.input) {
      const ready = this.input.tryTake();
      if (ready !== EMPTY) return { kind: "chunk", chunk: ready };
    }
    if (options.timerMs !== undefined && options.timerMs <= 0 && !options.input) return TIMER;
    return new Promise((resolve) => {
      let settled = false;
      let cancelTake = () => {};
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const finish = (v: Selected) => {
        if (settled) return;
        settled = true;
        cancelTake();
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        this.wake = null;
        resolve(v);
      };
      if (interruptible) {
        this.wake = () => {
          if (this.pending && !this.pending.acknowledged) {
            this.pending.acknowledged = true;
            finish(INTERRUPTED);
          }
        };
      }
      if (options.input) cancelTake = this.input.take((chunk) => finish({ kind: "chunk", chunk }));
      if (options.timerMs !== undefined && !settled) {
        if (options.timerMs < 1) immediate = setImmediate(() => finish(TIMER));
        else {
          // Node truncates a timer to whole milliseconds and counts it on a millisecond clock,
          // so it can fire up to two milliseconds early; Go's never does. What is left is
          // waited out.
          const due = performance.now() + options.timerMs;
          const check = () => {
            const left = due - performance.now();
            if (left <= 0) finish(TIMER);
            else timer = setTimeout(check, Math.ceil(left));
          };
          timer = setTimeout(check, Math.ceil(options.timerMs));
        }
      }
    });
  }

  /** Writes to the output, giving up after `ms` (Toxiproxy's WriteOutput). */
  writeOutput(chunk: Chunk, ms: number): Promise<boolean> {
    return this.output.putTimed(chunk, ms);
  }
}

export type Selected = { kind: "interrupt" } | { kind: "timer" } | { kind: "chunk"; chunk: Chunk | null };
const INTERRUPTED: Selected = { kind: "interrupt" };
const TIMER: Selected = { kind: "timer" };

/** Sends a chunk to the output, waiting for room (Go's `stub.Output <- c`). */
export function send(stub: Stub, chunk: Chunk): Promise<boolean> | undefined {
  return stub.output.put(chunk);
}

/**
 * The next chunk of input, for a toxic's loop; undefined when the toxic must stop: it was
 * interrupted, or the input ended (the stub is then closed). Synchronous when a chunk or an
 * interrupt is already there, so a busy stream does not pay a turn of the event loop.
 */
export function nextChunk(stub: Stub): Chunk | undefined | Promise<Chunk | undefined> {
  const s = stub.select({ input: true });
  return s instanceof Promise ? s.then((r) => chunkOf(stub, r)) : chunkOf(stub, s);
}

function chunkOf(stub: Stub, s: Selected): Chunk | undefined | Promise<Chunk | undefined> {
  if (s.kind === "interrupt") return undefined;
  // No timer was asked for: wait for input again.
  if (s.kind === "timer") return nextChunk(stub);
  if (s.chunk === null) {
    stub.close();
    return undefined;
  }
  return s.chunk;
}

/** Passes everything through unchanged. */
export async function noopPipe(stub: Stub): Promise<void> {
  for (;;) {
    const next = nextChunk(stub);
    const c = next instanceof Promise ? await next : next;
    if (c === undefined) return;
    const p = send(stub, c);
    if (p) await p;
  }
}
