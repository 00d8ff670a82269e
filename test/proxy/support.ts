/**
 * Helpers for the proxy tests (this file defines no tests): loopback targets, the servers
 * under test, and socket probes with deadlines.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { ToxiproxyClient } from "../../harness/proxy/client.ts";
import {
  findToxiproxyServer,
  startEmbeddedToxiproxy,
  startRealToxiproxy,
} from "../../harness/proxy/server.ts";

export interface Running {
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("no address");
  return address.port;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** A TCP server that runs `onSocket` for each connection (and tracks them to close). */
export async function startTcpServer(onSocket: (socket: Socket) => void): Promise<Running> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  const port = await listen(server);
  return { port, close: closer(server, sockets) };
}

/** Echoes every byte back. */
export function startEchoServer(): Promise<Running> {
  return startTcpServer((socket) => socket.pipe(socket));
}

export interface ServerUnderTest {
  kind: "embedded" | "real";
  url: string;
  client: ToxiproxyClient;
  close(): Promise<void>;
}

export async function startEmbedded(): Promise<ServerUnderTest> {
  const server = await startEmbeddedToxiproxy();
  return { kind: "embedded", url: server.url, client: new ToxiproxyClient(server.url), close: server.close };
}

/** Starts the real toxiproxy-server on a free port; undefined when it is not installed. */
export async function startReal(): Promise<ServerUnderTest | undefined> {
  const bin = findToxiproxyServer();
  if (!bin) return undefined;
  const server = await startRealToxiproxy({ bin });
  return { kind: "real", url: server.url, client: new ToxiproxyClient(server.url), close: server.close };
}

/** Opens a TCP connection to a loopback port. */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Records what a socket receives and how it ends. */
export class Probe {
  readonly socket: Socket;
  readonly chunks: Array<{ at: number; data: Buffer }> = [];
  bytes = 0;
  ended: { at: number; error?: string } | undefined;
  private waiters: Array<() => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (data: Buffer) => {
      this.chunks.push({ at: performance.now(), data });
      this.bytes += data.length;
      this.notify();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.ended ??= { at: performance.now(), error: error.code ?? error.message };
      this.notify();
    });
    socket.on("close", () => {
      this.ended ??= { at: performance.now() };
      this.notify();
    });
  }

  static async open(port: number): Promise<Probe> {
    return new Probe(await connectTo(port));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `condition` holds; rejects after `timeoutMs` with `what`. */
  async until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true if `condition` holds within `ms`, false otherwise (never throws). */
  async holdsWithin(condition: () => boolean, ms: number): Promise<boolean> {
    try {
      await this.until(condition, ms, "condition");
      return true;
    } catch {
      return false;
    }
  }

  received(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }

  /** Sends `data` and waits for `data.length` more bytes; returns the round trip in ms. */
  async roundTrip(data: Buffer | string, timeoutMs = 5000): Promise<number> {
    const payload = typeof data === "string" ? Buffer.from(data) : data;
    const target = this.bytes + payload.length;
    const start = performance.now();
    this.socket.write(payload);
    await this.until(() => this.bytes >= target, timeoutMs, `${payload.length} bytes echoed`);
    return performance.now() - start;
  }

  close(): void {
    this.socket.destroy();
  }
}
