/**
 * One direction of one proxied connection: bytes read from `source` go through the chain
 * of toxics of that direction and are written to `dest`. With no toxic the bytes are
 * written straight through (the fast path); the first toxic added turns the link into a
 * chain of stubs, which then stays (a noop at its head, as in Toxiproxy).
 */
import type { Socket } from "node:net";
import { Chan, type Chunk, EMPTY, Stub } from "./chan.ts";
import type { ToxicKind } from "./toxics.ts";

export type Direction = "upstream" | "downstream";

/** A toxic as the collection holds it; `attributes` is updated in place. */
export interface ToxicEntry {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, number>;
  direction: Direction;
  index: number;
  kind: ToxicKind;
  pipe(stub: Stub): Promise<void>;
}

/** Both sockets of a proxied connection. */
export interface Connection {
  client: Socket;
  upstream: Socket;
  /** Set when a reset_peer toxic was present at start: closing then sends RST. */
  lingerZero: boolean;
}

/** Closes a socket the way Go's Close does: queued data first, then FIN (or RST with linger 0). */
export function closeSocket(socket: Socket, conn: Connection): void {
  if (socket.destroyed) return;
  if (conn.lingerZero) {
    socket.resetAndDestroy();
    return;
  }
  socket.destroySoon();
  // Go's Close leaves unsent bytes to the kernel; here they wait in the socket until the
  // peer reads them. A peer that never reads must not keep the descriptor forever.
  if (!socket.destroyed) {
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  }
}

/** How long a closing socket may wait for its peer to read what is left. */
const CLOSE_GRACE_MS = 10_000;

export interface LinkHost {
  chain(direction: Direction): ToxicEntry[];
  removeLink(link: Link): void;
}

export class Link {
  readonly direction: Direction;
  readonly conn: Connection;
  private readonly source: Socket;
  private readonly dest: Socket;
  private readonly host: LinkHost;
  private mode: "direct" | "chain" = "direct";
  private stubs: Stub[] = [];
  private input: Chan | undefined;
  private ended = false;
  private holds = 0;
  dead = false;

  constructor(host: LinkHost, conn: Connection, direction: Direction) {
    this.host = host;
    this.conn = conn;
    this.direction = direction;
    this.source = direction === "upstream" ? conn.client : conn.upstream;
    this.dest = direction === "upstream" ? conn.upstream : conn.client;
  }

  /** Starts moving bytes; with toxics on this direction, builds and runs the chain. */
  start(): void {
    const chain = this.host.chain(this.direction);
    if (chain.length > 1) this.buildChain(chain, true);
    this.source.on("data", this.onData);
    const onEnd = () => this.onSourceEnd();
    this.source.once("end", onEnd);
    this.source.once("close", onEnd);
  }

  private hold(): void {
    if (this.holds++ === 0) this.source.pause();
  }

  private release = (): void => {
    if (--this.holds === 0 && !this.source.destroyed) this.source.resume();
  };

  private onData = (data: Buffer): void => {
    if (this.mode === "direct") {
      if (this.dest.destroyed || this.dest.writableEnded) return;
      if (!this.dest.write(data)) {
        this.hold();
        const resume = () => {
          this.dest.off("drain", resume);
          this.dest.off("close", resume);
          this.release();
        };
        this.dest.on("drain", resume);
        this.dest.on("close", resume);
      }
      return;
    }
    const pending = this.input!.put({ data, ts: performance.now() });
    if (pending) {
      this.hold();
      pending.then(this.release, this.release);
    }
  };

  private onSourceEnd(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.mode === "direct") {
      closeSocket(this.dest, this.conn);
      this.dead = true;
      this.host.removeLink(this);
    } else {
      this.input!.close();
    }
  }

  private buildChain(chain: ToxicEntry[], atStart: boolean): void {
    let last = new Chan(0);
    this.input = last;
    this.stubs = [];
    for (let i = 0; i < chain.length; i++) {
      const next = i + 1 < chain.length ? new Chan(chain[i + 1]!.kind.bufferSize) : new Chan(0);
      this.stubs.push(new Stub(last, next));
      last = next;
    }
    const output = last;
    for (let i = 0; i < chain.length; i++) {
      const toxic = chain[i]!;
      const stub = this.stubs[i]!;
      if (toxic.kind.newState) stub.state = toxic.kind.newState();
      // Toxiproxy sets SO_LINGER 0 only when a link starts with a reset_peer toxic.
      if (atStart && toxic.kind.resetsPeer) this.conn.lingerZero = true;
      stub.run(toxic);
    }
    this.mode = "chain";
    if (this.ended) this.input.close();
    void this.writeLoop(output);
  }

  private async writeLoop(output: Chan): Promise<void> {
    for (;;) {
      let chunk: Chunk | null;
      const ready = output.tryTake();
      if (ready === EMPTY) {
        const next = output.next();
        chunk = next instanceof Promise ? await next : next;
      } else {
        chunk = ready;
      }
      if (chunk === null) break;
      const dest = this.dest;
      if (dest.destroyed || dest.writableEnded) continue; // drain and drop
      if (!dest.write(chunk.data)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            dest.off("drain", done);
            dest.off("close", done);
            resolve();
          };
          dest.on("drain", done);
          dest.on("close", done);
        });
      }
    }
    closeSocket(this.dest, this.conn);
    this.dead = true;
    this.host.removeLink(this);
  }

  /** Adds a toxic (already appended to the collection's chain) to this live link. */
  async addToxic(toxic: ToxicEntry): Promise<void> {
    if (this.dead) return;
    if (this.mode === "direct") {
      this.buildChain(this.host.chain(this.direction), false);
      return;
    }
    const i = this.stubs.length;
    const newInput = new Chan(toxic.kind.bufferSize);
    const previous = this.stubs[i - 1]!;
    const stub = new Stub(newInput, previous.output);
    this.stubs.push(stub);
    if (await previous.interrupt()) {
      previous.output = newInput;
      if (toxic.kind.newState) stub.state = toxic.kind.newState();
      stub.run(toxic);
      const head = this.host.chain(this.direction)[i - 1];
      if (head) previous.run(head);
    } else {
      // The link is closing: keep the chain consistent and closed.
      stub.output = newInput;
      stub.close();
    }
  }

  /** Restarts a toxic after its attributes or toxicity changed. */
  async updateToxic(toxic: ToxicEntry): Promise<void> {
    if (this.dead || this.mode === "direct") return;
    const stub = this.stubs[toxic.index];
    if (stub && (await stub.interrupt())) stub.run(toxic);
  }

  /** Removes a toxic from this live link, flushing what it holds (Toxiproxy's RemoveToxic). */
  async removeToxic(toxic: ToxicEntry, index: number): Promise<void> {
    if (this.dead || this.mode === "direct") return;
    const stub = this.stubs[index];
    const previous = this.stubs[index - 1];
    if (!stub || !previous) return;
    if (!(await stub.interrupt())) return;
    if (toxic.kind.cleanup) {
      toxic.kind.cleanup(stub);
      if (stub.closed()) return;
    }
    // Interrupt the previous toxic while forwarding what it still sends to this one.
    let stopValue: boolean | undefined;
    const stop = previous.interrupt().then((v) => {
      stopValue = v;
      return v;
    });
    let stopSeen = false;
    let interrupted = false;
    while (!interrupted) {
      if (!stopSeen && stopValue !== undefined) {
        stopSeen = true;
        interrupted = stopValue;
        if (interrupted) break;
      }
      let cancel = () => {};
      let got: { chunk: Chunk | null } | undefined;
      const taken = new Promise<{ kind: "chunk" }>((resolve) => {
        cancel = stub.input.take((chunk) => {
          got = { chunk };
          resolve({ kind: "chunk" });
        });
      });
      const winner = await Promise.race([
        stopSeen ? new Promise<never>(() => {}) : stop.then((v) => ({ kind: "stop" as const, v })),
        taken,
      ]);
      if (winner.kind === "stop") {
        cancel();
        stopSeen = true;
        interrupted = winner.v;
      }
      if (got === undefined) continue;
      if (got.chunk === null) {
        stub.close();
        if (!stopSeen) await stop;
        return;
      }
      await stub.writeOutput(got.chunk, 5000);
    }
    while (stub.input.length > 0) {
      const chunk = stub.input.tryTake();
      if (chunk === EMPTY) break;
      if (chunk === null) {
        stub.close();
        return;
      }
      await stub.writeOutput(chunk, 5000);
    }
    previous.output = stub.output;
    this.stubs.splice(index, 1);
    const head = this.host.chain(this.direction)[index - 1];
    if (head) previous.run(head);
  }
}
