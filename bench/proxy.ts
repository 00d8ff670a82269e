/**
 * Proxy benchmark: the same loopback targets reached directly, through the embedded
 * server and through the real toxiproxy-server (when installed), in one run.
 *   - added latency of a small request (64-byte TCP echo, and an HTTP GET on a kept-alive
 *     connection), p50 and p99, proxied minus direct;
 *   - bulk throughput, MB/s, of a 128 MiB download (median of the rounds);
 *   - 1,000 connections opened and closed through the embedded proxy leave no file
 *     descriptor behind (/proc/self/fd), without and with a toxic.
 * Both proxies run in their own process, so they compete for the CPU alike.
 * Targets: embedded/real added latency <= 1.5x, throughput >= 0.5x.
 *
 *   node bench/proxy.ts
 */
import { readdirSync } from "node:fs";
import { Agent, createServer as createHttpServer, request } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { BIN } from "../harness/paths.ts";
import { startProcess } from "../harness/process.ts";
import { ToxiproxyClient } from "../harness/proxy/client.ts";
import { findToxiproxyServer, startEmbeddedToxiproxy, startRealToxiproxy } from "../harness/proxy/server.ts";
import { median, percentile } from "../harness/stats.ts";

const LATENCY_ROUNDS = 200;
const DOWNLOAD_ROUNDS = 5;
const ROUND_TRIPS = 10_000;
const HTTP_REQUESTS = 5000;
const WARMUP = 500;
const DOWNLOAD_BYTES = 128 * 1024 * 1024;
const FD_CONNECTIONS = 1000;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, () => resolve()));
  const address = server.address();
  return address && typeof address === "object" ? address.port : 0;
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

interface Result {
  p50: number;
  p99: number;
  httpP50: number;
  httpP99: number;
  mbps: number;
}

/** A kept-open connection to an echo target; `run(n)` does n round trips of 64 bytes (times in ms). */
async function echoClient(port: number): Promise<{ run(count: number): Promise<number[]>; close(): void }> {
  const socket = await connectTo(port);
  const payload = Buffer.alloc(64, 1);
  let pending: (() => void) | undefined;
  let got = 0;
  socket.on("data", (d: Buffer) => {
    got += d.length;
    if (got >= payload.length) {
      got -= payload.length;
      pending?.();
    }
  });
  return {
    async run(count) {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await new Promise<void>((resolve) => {
          pending = resolve;
          socket.write(payload);
        });
        times.push(performance.now() - start);
      }
      return times;
    },
    close: () => socket.destroy(),
  };
}

/** A kept-alive HTTP connection; `run(n)` does n sequential GETs (times in ms). */
function httpClient(port: number): { run(count: number): Promise<number[]>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    async run(count) {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
            res.resume();
            res.on("end", () => resolve());
          });
          req.on("error", reject);
          req.end();
        });
        times.push(performance.now() - start);
      }
      return times;
    },
    close: () => agent.destroy(),
  };
}

/** Downloads DOWNLOAD_BYTES; returns MB/s. */
async function download(port: number): Promise<number> {
  const socket = await connectTo(port);
  const start = performance.now();
  let got = 0;
  await new Promise<void>((resolve) => {
    socket.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= DOWNLOAD_BYTES) resolve();
    });
    socket.write("go");
  });
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return DOWNLOAD_BYTES / 1e6 / seconds;
}

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

async function settle(expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = fdCount();
  while (count > expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = fdCount();
  }
  return count;
}

async function main(): Promise<void> {
  // Targets: a 64-byte echo, an HTTP server, a bulk source.
  const echo = createServer({ noDelay: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  const echoPort = await listen(echo);
  const chunk = Buffer.alloc(64 * 1024, 7);
  const source = createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => {
      let sent = 0;
      const pump = () => {
        while (sent < DOWNLOAD_BYTES) {
          sent += chunk.length;
          if (!s.write(chunk)) {
            s.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
  });
  const sourcePort = await listen(source);
  const http = createHttpServer({ keepAlive: true, noDelay: true }, (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 11 });
    res.end('{"ok":true}');
  });
  const httpPort = await listen(http);

  const stops: Array<() => Promise<void>> = [];
  const servers: Array<{ label: string; client: ToxiproxyClient }> = [];
  const embedded = await startProcess({
    name: "embedded-toxiproxy",
    command: process.execPath,
    args: [BIN, "proxy", "serve", "--port", "0"],
    ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  });
  stops.push(() => embedded.stop());
  servers.push({ label: "embedded", client: new ToxiproxyClient(embedded.readyMatch![1]!) });
  const realBin = findToxiproxyServer();
  if (realBin) {
    const real = await startRealToxiproxy({ bin: realBin });
    stops.push(() => real.close());
    servers.push({ label: "real", client: new ToxiproxyClient(real.url) });
  } else {
    console.log(
      "toxiproxy-server not found (PATH, TOXIPROXY_BIN, .tools/bin): measuring direct and embedded only",
    );
  }

  // Rounds interleave the targets so that warm-up, GC and noisy neighbours hit all alike.
  const targets: Array<{ label: string; ports: { echo: number; http: number; source: number } }> = [
    { label: "direct", ports: { echo: echoPort, http: httpPort, source: sourcePort } },
  ];
  for (const { label, client } of servers) {
    const port = async (name: string, upstream: number) => {
      const p = await client.createProxy({ name, listen: "127.0.0.1:0", upstream: `127.0.0.1:${upstream}` });
      return Number(p.listen.slice(p.listen.lastIndexOf(":") + 1));
    };
    targets.push({
      label,
      ports: {
        echo: await port("echo", echoPort),
        http: await port("http", httpPort),
        source: await port("source", sourcePort),
      },
    });
  }
  const samples: Record<string, { echo: number[]; http: number[]; mbps: number[] }> = {};
  const clients: Record<
    string,
    { echo: Awaited<ReturnType<typeof echoClient>>; http: ReturnType<typeof httpClient> }
  > = {};
  for (const t of targets) {
    samples[t.label] = { echo: [], http: [], mbps: [] };
    clients[t.label] = { echo: await echoClient(t.ports.echo), http: httpClient(t.ports.http) };
    await clients[t.label]!.echo.run(WARMUP); // warm-up, discarded
    await clients[t.label]!.http.run(WARMUP);
  }
  // The machine may be shared: small interleaved batches spread any burst of noise over every target.
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const s = samples[t.label]!;
      s.echo.push(...(await clients[t.label]!.echo.run(ROUND_TRIPS / LATENCY_ROUNDS)));
      s.http.push(...(await clients[t.label]!.http.run(HTTP_REQUESTS / LATENCY_ROUNDS)));
    }
  }
  for (const c of Object.values(clients)) {
    c.echo.close();
    c.http.close();
  }
  for (let round = 0; round < DOWNLOAD_ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      samples[t.label]!.mbps.push(await download(t.ports.source));
    }
  }
  const results: Record<string, Result> = {};
  for (const [label, s] of Object.entries(samples)) {
    results[label] = {
      p50: percentile(s.echo, 50),
      p99: percentile(s.echo, 99),
      httpP50: percentile(s.http, 50),
      httpP99: percentile(s.http, 99),
      mbps: median(s.mbps),
    };
  }

  const ms = (x: number) => `${(x * 1000).toFixed(0).padStart(6)} µs`;
  const direct = results["direct"]!;
  console.log(
    `proxy benchmark: ${ROUND_TRIPS} TCP echo round trips of 64 B, ${HTTP_REQUESTS} HTTP GETs (keep-alive), ` +
      `${DOWNLOAD_BYTES / 1024 / 1024} MiB download; loopback, node ${process.versions.node}`,
  );
  console.log(
    `${"".padEnd(9)} ${"echo p50".padStart(9)} ${"echo p99".padStart(9)} ${"http p50".padStart(9)} ${"http p99".padStart(9)} ${"added echo p50/p99".padStart(20)} ${"added http p50/p99".padStart(20)} ${"MB/s".padStart(7)}`,
  );
  const added: Record<string, { e50: number; e99: number; h50: number; h99: number }> = {};
  for (const [label, r] of Object.entries(results)) {
    const a = {
      e50: r.p50 - direct.p50,
      e99: r.p99 - direct.p99,
      h50: r.httpP50 - direct.httpP50,
      h99: r.httpP99 - direct.httpP99,
    };
    added[label] = a;
    console.log(
      `${label.padEnd(9)} ${ms(r.p50)} ${ms(r.p99)} ${ms(r.httpP50)} ${ms(r.httpP99)} ${label === "direct" ? "".padStart(20) : `${ms(a.e50)}/${ms(a.e99)}`.padStart(20)} ${label === "direct" ? "".padStart(20) : `${ms(a.h50)}/${ms(a.h99)}`.padStart(20)} ${r.mbps.toFixed(0).padStart(7)}`,
    );
  }
  if (results["real"] && results["embedded"]) {
    const e = added["embedded"]!;
    const r = added["real"]!;
    const ratio = (x: number, y: number) =>
      y > 0 ? `${(x / y).toFixed(2)}x` : "n/a (real adds nothing measurable)";
    const E = results["embedded"]!;
    const R = results["real"]!;
    console.log(
      `embedded/real added latency, echo p50: ${ratio(e.e50, r.e50)}  p99: ${ratio(e.e99, r.e99)}  (target <= 1.5x)`,
    );
    console.log(
      `embedded/real added latency, http p50: ${ratio(e.h50, r.h50)}  p99: ${ratio(e.h99, r.h99)}  (target <= 1.5x)`,
    );
    console.log(
      `embedded/real round trip, echo p50: ${ratio(E.p50, R.p50)}  p99: ${ratio(E.p99, R.p99)}; ` +
        `http p50: ${ratio(E.httpP50, R.httpP50)}  p99: ${ratio(E.httpP99, R.httpP99)}`,
    );
    console.log(`embedded/real throughput: ${ratio(E.mbps, R.mbps)}  (target >= 0.5x)`);
  }

  // File descriptors: an in-process embedded server, 1,000 connections opened and closed.
  const inProcess = await startEmbeddedToxiproxy();
  stops.push(() => inProcess.close());
  const client = new ToxiproxyClient(inProcess.url);
  const created = await client.createProxy({
    name: "fd",
    listen: "127.0.0.1:0",
    upstream: `127.0.0.1:${echoPort}`,
  });
  const fdPort = Number(created.listen.slice(created.listen.lastIndexOf(":") + 1));
  const churn = async () => {
    const batch = 50;
    for (let i = 0; i < FD_CONNECTIONS; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, async () => {
          const s = await connectTo(fdPort);
          await new Promise<void>((resolve) => {
            s.once("data", () => resolve());
            s.write("x");
          });
          await new Promise<void>((resolve) => {
            s.once("close", () => resolve());
            s.end();
          });
        }),
      );
    }
  };
  for (const withToxic of [false, true]) {
    if (withToxic) await client.addToxic("fd", { type: "latency", attributes: { latency: 1 } });
    const before = fdCount();
    await churn();
    const after = await settle(before, 5000);
    console.log(
      `fd check${withToxic ? " (latency toxic)" : ""}: ${FD_CONNECTIONS} connections through the embedded proxy ` +
        `left ${after - before} descriptors behind (before ${before}, after ${after})`,
    );
  }

  for (const stop of stops.reverse()) await stop();
  for (const s of [echo, source, http]) s.close();
  http.closeAllConnections();
}

await main();
