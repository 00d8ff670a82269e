/**
 * Starting the embedded Toxiproxy-compatible server in this process, and finding the real
 * `toxiproxy-server` binary when one is installed (the lab prefers it).
 */
import { accessSync, constants } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { delimiter, join } from "node:path";
import { labError } from "../errors.ts";
import { TOOLS_BIN } from "../paths.ts";
import { startProcess } from "../process.ts";
import { ToxiproxyApi } from "./api.ts";
import { ToxiproxyClient } from "./client.ts";

export interface EmbeddedToxiproxy {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:8474`. */
  url: string;
  /** Stops every proxy, the API listener and every live connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the embedded server in-process.
 * @default host "127.0.0.1"
 * @default port 0 (a free port)
 */
export async function startEmbeddedToxiproxy(
  options: { host?: string; port?: number } = {},
): Promise<EmbeddedToxiproxy> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const api = new ToxiproxyApi();
  const sockets = new Set<Socket>();
  const server: Server = createServer({ keepAlive: true, noDelay: true }, (req, res) => api.handle(req, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        labError("toxiproxy", `the embedded server could not listen on ${host}:${port}: ${error.message}`),
      );
    });
    server.listen({ host, port }, () => resolve());
  });
  server.removeAllListeners("error");
  const address = server.address();
  const boundPort = address && typeof address === "object" ? address.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${boundPort}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        api.stopAll();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of the real `toxiproxy-server`: `TOXIPROXY_BIN`, else PATH, else the repository's
 * `.tools/bin`. Undefined when none is found.
 */
export function findToxiproxyServer(): string | undefined {
  const fromEnv = process.env["TOXIPROXY_BIN"];
  if (fromEnv && executable(fromEnv)) return fromEnv;
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "toxiproxy-server");
    if (executable(candidate)) return candidate;
  }
  const local = join(TOOLS_BIN, "toxiproxy-server");
  return executable(local) ? local : undefined;
}

async function freeLoopbackPort(host: string): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port: 0 }, () => resolve());
  });
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address && typeof address === "object" ? address.port : 0;
}

/**
 * Starts the real `toxiproxy-server` as an owned process and waits until GET /version
 * answers. toxiproxy-server cannot report a port it picked, so a free one is chosen first.
 * @default host "127.0.0.1"
 * @default port a free port
 * @default readyTimeoutMs 10000
 */
export async function startRealToxiproxy(options: {
  bin: string;
  host?: string;
  port?: number;
  pidDir?: string;
  readyTimeoutMs?: number;
}): Promise<EmbeddedToxiproxy & { pid: number }> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (await freeLoopbackPort(host));
  const proc = await startProcess({
    name: "toxiproxy-server",
    command: options.bin,
    args: ["-host", host, "-port", String(port)],
    ...(options.pidDir === undefined ? {} : { pidDir: options.pidDir }),
  });
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let failed: string | undefined;
  try {
    failed = await Promise.race([
      new ToxiproxyClient(url).waitReady(options.readyTimeoutMs ?? 10_000).then(() => undefined),
      proc.exited.then((e) => `exited before it was ready (code ${e.code}, signal ${e.signal})`),
    ]);
  } catch (error) {
    failed = (error as Error).message;
  }
  if (failed !== undefined) {
    await proc.stop(500);
    throw labError("toxiproxy-server", failed, proc.lastLines());
  }
  return { url, pid: proc.pid, close: () => proc.stop() };
}
