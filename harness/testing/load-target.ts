/**
 * A loopback stand-in for the ops gateway (`POST /mint`, `POST /redeem`,
 * `GET /redemptions/:id`, `GET /health`) with configurable latency, so that the load
 * tests and the benchmark run without the reference stack. Run it on its own with
 * `node harness/testing/load-target.ts [--latency-ms N] [--mint-latency-ms N] [--redeem-latency-ms N]
 * [--status-latency-ms N] [--settle-after-ms N] [--fail-every N] [--token T] [--port N]`; it prints
 * `listening on http://127.0.0.1:PORT`. Drilled as a system under test (`firedrill run --sut`),
 * it takes its port and token from `FIREDRILL_SUT_PORT` and `FIREDRILL_GATEWAY_TOKEN` when the
 * flags are absent, so a test sets the gateway's latency and failures exactly.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

export interface TestingTargetOptions {
  /** Added to every mint and redeem answer, in milliseconds. @default 0 */
  latencyMs?: number;
  /** Added to every mint answer instead of `latencyMs`, in milliseconds. */
  mintLatencyMs?: number;
  /** Added to every redeem answer instead of `latencyMs`, in milliseconds. */
  redeemLatencyMs?: number;
  /** Every n-th mint or redeem is answered 503 (counted in `failed`); none when absent. */
  failEvery?: number;
  /** Added to every `GET /redemptions/:id` answer, in milliseconds. @default 0 */
  statusLatencyMs?: number;
  /** A redemption reads `settled` this long after it was accepted. @default 0 */
  settleAfterMs?: number;
  /** Bearer token demanded; none demanded when absent. */
  token?: string;
  /** @default 0 (a free port) */
  port?: number;
}

export interface TestingTarget {
  readonly url: string;
  /** Requests answered so far, by route. */
  readonly counts: {
    mint: number;
    redeem: number;
    status: number;
    health: number;
    rejected: number;
    failed: number;
  };
  /** Changes the latency while running (a "slowed gateway"). */
  setLatencyMs(latencyMs: number): void;
  close(): Promise<void>;
}

// Old entries go first: a stand-in keeps only recent ids, so a long benchmark does not slow it down.
const MAX_REDEMPTIONS = 20_000;

/** Starts the stand-in gateway on 127.0.0.1 and returns it with its release, `close()`. */
export async function startTestingTarget(options: TestingTargetOptions = {}): Promise<TestingTarget> {
  let latencyMs = options.latencyMs ?? 0;
  const routeLatencyMs = (route: "mint" | "redeem") =>
    (route === "mint" ? options.mintLatencyMs : options.redeemLatencyMs) ?? latencyMs;
  const failEvery = options.failEvery ?? 0;
  let answered = 0;
  const statusLatencyMs = options.statusLatencyMs ?? 0;
  const settleAfterMs = options.settleAfterMs ?? 0;
  const expectedAuth = options.token === undefined ? undefined : `Bearer ${options.token}`;
  const counts = { mint: 0, redeem: 0, status: 0, health: 0, rejected: 0, failed: 0 };
  const redemptions = new Map<string, number>();
  const byKey = new Map<string, string>();

  const send = (res: ServerResponse, status: number, body: string, delayMs: number) => {
    const write = () => {
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    };
    if (delayMs > 0) setTimeout(write, delayMs);
    else write();
  };

  const accept = (req: IncomingMessage, res: ServerResponse, route: "mint" | "redeem", raw: string) => {
    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      counts.rejected++;
      return send(res, 401, '{"error":"unauthorized"}', 0);
    }
    const key = req.headers["idempotency-key"];
    if (typeof key !== "string" || key.length === 0) {
      counts.rejected++;
      return send(res, 400, '{"error":"Idempotency-Key header required"}', 0);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      counts.rejected++;
      return send(res, 400, '{"error":"body is not JSON"}', 0);
    }
    const party = route === "mint" ? body["recipient"] : body["holder"];
    if (typeof body["amount"] !== "string" || typeof party !== "string") {
      counts.rejected++;
      return send(res, 400, '{"error":"amount and recipient/holder required"}', 0);
    }
    counts[route]++;
    answered++;
    if (failEvery > 0 && answered % failEvery === 0) {
      counts.failed++;
      return send(res, 503, '{"error":"failed on purpose"}', routeLatencyMs(route));
    }
    let id = byKey.get(key);
    if (id === undefined) {
      id = randomUUID();
      byKey.set(key, id);
      if (byKey.size > MAX_REDEMPTIONS) byKey.delete(byKey.keys().next().value as string);
      if (route === "redeem") {
        redemptions.set(id, performance.now());
        if (redemptions.size > MAX_REDEMPTIONS) redemptions.delete(redemptions.keys().next().value as string);
      }
    }
    send(res, 200, `{"id":"${id}"}`, routeLatencyMs(route));
  };

  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.method === "POST" && (url === "/mint" || url === "/redeem")) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () =>
        accept(req, res, url === "/mint" ? "mint" : "redeem", Buffer.concat(chunks).toString()),
      );
      return;
    }
    if (req.method === "GET" && url.startsWith("/redemptions/")) {
      const id = url.slice("/redemptions/".length);
      const acceptedAt = redemptions.get(id);
      if (acceptedAt === undefined) return send(res, 404, '{"error":"unknown redemption"}', 0);
      counts.status++;
      const status = performance.now() - acceptedAt >= settleAfterMs ? "settled" : "processing";
      return send(res, 200, `{"id":"${id}","status":"${status}"}`, statusLatencyMs);
    }
    if (req.method === "GET" && url === "/health") {
      counts.health++;
      return send(res, 200, '{"status":"ok"}', 0);
    }
    send(res, 404, '{"error":"not found"}', 0);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setLatencyMs(value) {
      latencyMs = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env["FIREDRILL_SUT_PORT"] ?? "0" },
      "latency-ms": { type: "string", default: "0" },
      "mint-latency-ms": { type: "string" },
      "redeem-latency-ms": { type: "string" },
      "fail-every": { type: "string", default: "0" },
      "status-latency-ms": { type: "string", default: "0" },
      "settle-after-ms": { type: "string", default: "0" },
      token: { type: "string" },
    },
  });
  const optionalMs = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const mintLatencyMs = optionalMs(values["mint-latency-ms"]);
  const redeemLatencyMs = optionalMs(values["redeem-latency-ms"]);
  const token = values.token ?? process.env["FIREDRILL_GATEWAY_TOKEN"];
  const target = await startTestingTarget({
    port: Number(values.port),
    latencyMs: Number(values["latency-ms"]),
    statusLatencyMs: Number(values["status-latency-ms"]),
    settleAfterMs: Number(values["settle-after-ms"]),
    failEvery: Number(values["fail-every"]),
    ...(mintLatencyMs === undefined ? {} : { mintLatencyMs }),
    ...(redeemLatencyMs === undefined ? {} : { redeemLatencyMs }),
    ...(token === undefined ? {} : { token }),
  });
  process.stdout.write(`listening on ${target.url}\n`);
  const stop = () => {
    void target.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
