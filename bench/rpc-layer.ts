/**
 * JSON-RPC layer benchmark: one anvil reached directly, through a Toxiproxy proxy alone,
 * through the JSON-RPC layer alone with no rule active, and through both (the lab's path), in
 * one run; with the embedded Toxiproxy, and with the real toxiproxy-server when it is
 * installed (the lab uses the real one when it finds it). The embedded proxy and the layer run
 * in a child process of their own, as they do in a lab.
 *   - added latency, p50 and p99, of a single call (`eth_blockNumber`) and of a batch of 10
 *     (`eth_getBlockByNumber`, `eth_getBalance`), on a kept-alive connection: path minus direct;
 *   - requests per second with 8 concurrent kept-alive clients.
 * Targets: the layer adds at most 1.5x the proxy's added latency, and keeps at least 0.7x its
 * requests per second. Printed for the layer alone against the proxy alone, and for the lab's
 * path (proxy and layer) against the proxy alone.
 *
 *   node bench/rpc-layer.ts
 */
import { Agent, request } from "node:http";
import { startAnvil } from "../harness/lab/anvil.ts";
import { startRpcLayer } from "../harness/lab/rpc-layer.ts";
import { startProcess } from "../harness/process.ts";
import { ToxiproxyClient } from "../harness/proxy/client.ts";
import { findToxiproxyServer, startEmbeddedToxiproxy, startRealToxiproxy } from "../harness/proxy/server.ts";
import { percentile } from "../harness/stats.ts";

const ROUNDS = 100;
const PER_ROUND = 50;
const WARMUP = 300;
const RPS_ROUNDS = 5;
const RPS_MS = 1000;
const CLIENTS = 8;

const SINGLE = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] });
const BATCH = JSON.stringify(
  Array.from({ length: 10 }, (_, i) =>
    i % 2 === 0
      ? { jsonrpc: "2.0", id: i, method: "eth_getBlockByNumber", params: ["latest", false] }
      : {
          jsonrpc: "2.0",
          id: i,
          method: "eth_getBalance",
          params: ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"],
        },
  ),
);

/** The child: an embedded Toxiproxy with a proxy to the node, and one to a layer in front of it. */
async function serve(nodeUrl: string): Promise<void> {
  const toxiproxy = await startEmbeddedToxiproxy();
  const client = new ToxiproxyClient(toxiproxy.url);
  const layer = await startRpcLayer("bench", nodeUrl);
  const hostOf = (url: string) => url.replace(/^http:\/\//, "");
  const proxy = await client.createProxy({ name: "proxy", listen: "127.0.0.1:0", upstream: hostOf(nodeUrl) });
  const layered = await client.createProxy({
    name: "layer",
    listen: "127.0.0.1:0",
    upstream: hostOf(layer.url),
  });
  console.log(`ready proxy=${proxy.listen} layer=${layered.listen} bare=${hostOf(layer.url)}`);
  process.on("SIGTERM", () => {
    void Promise.all([layer.close(), toxiproxy.close()]).then(() => process.exit(0));
  });
}

function post(agent: Agent, url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function timed(agent: Agent, url: string, body: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await post(agent, url, body);
    times.push(performance.now() - start);
  }
  return times;
}

async function throughput(url: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  let done = 0;
  const until = performance.now() + RPS_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        await post(agent, url, SINGLE);
        done++;
      }
    }),
  );
  agent.destroy();
  return done / (RPS_MS / 1000);
}

async function main(): Promise<void> {
  if (process.argv[2] === "--serve") return serve(process.argv[3]!);
  const node = await startAnvil({ name: "bench-rpc", chainId: 31337, blockTimeMs: 1000 });
  const child = await startProcess({
    name: "rpc-layer-bench",
    command: process.execPath,
    args: [import.meta.filename, "--serve", node.url],
    ready: /ready proxy=(\S+) layer=(\S+) bare=(\S+)/,
  });
  const stops: Array<() => Promise<void>> = [() => child.stop(), () => node.process.stop()];
  try {
    const paths: Record<string, string> = {
      direct: node.url,
      proxy: `http://${child.readyMatch![1]}`,
      layer: `http://${child.readyMatch![2]}`,
      "layer alone": `http://${child.readyMatch![3]}`,
    };
    const realBin = findToxiproxyServer();
    if (realBin) {
      const real = await startRealToxiproxy({ bin: realBin });
      stops.unshift(() => real.close());
      const client = new ToxiproxyClient(real.url);
      const upstream = node.url.replace(/^http:\/\//, "");
      const alone = await client.createProxy({ name: "proxy", listen: "127.0.0.1:0", upstream });
      const layered = await client.createProxy({
        name: "layer",
        listen: "127.0.0.1:0",
        upstream: child.readyMatch![3]!,
      });
      paths["real proxy"] = `http://${alone.listen}`;
      paths["real layer"] = `http://${layered.listen}`;
    } else console.log("toxiproxy-server not found: measuring the embedded Toxiproxy only");
    type Path = string;
    const labels = Object.keys(paths);
    const agents = Object.fromEntries(
      labels.map((l) => [l, new Agent({ keepAlive: true, maxSockets: 1 })]),
    ) as Record<Path, Agent>;
    const single = Object.fromEntries(labels.map((l) => [l, [] as number[]])) as Record<Path, number[]>;
    const batch = Object.fromEntries(labels.map((l) => [l, [] as number[]])) as Record<Path, number[]>;
    const rps = Object.fromEntries(labels.map((l) => [l, [] as number[]])) as Record<Path, number[]>;
    for (const l of labels) {
      await timed(agents[l]!, paths[l]!, SINGLE, WARMUP);
      await timed(agents[l]!, paths[l]!, BATCH, WARMUP / 3);
    }
    // Interleaved rounds, so that noise and warm-up hit every path alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of round % 2 === 0 ? labels : [...labels].reverse()) {
        single[l]!.push(...(await timed(agents[l]!, paths[l]!, SINGLE, PER_ROUND)));
        batch[l]!.push(...(await timed(agents[l]!, paths[l]!, BATCH, PER_ROUND / 5)));
      }
    }
    for (let round = 0; round < RPS_ROUNDS; round++)
      for (const l of round % 2 === 0 ? labels : [...labels].reverse())
        rps[l]!.push(await throughput(paths[l]!));
    for (const a of Object.values(agents)) a.destroy();

    const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
    const stat = (s: Record<Path, number[]>, p: number) =>
      Object.fromEntries(labels.map((l) => [l, percentile(s[l]!, p)])) as Record<Path, number>;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `rpc-layer benchmark: ${ROUNDS * PER_ROUND} single calls and ${(ROUNDS * PER_ROUND) / 5} batches of 10 per path (keep-alive), ` +
        `${RPS_ROUNDS} x ${RPS_MS} ms of ${CLIENTS} clients; anvil on loopback, node ${process.versions.node}`,
    );
    const r = Object.fromEntries(labels.map((l) => [l, median(rps[l]!)])) as Record<Path, number>;
    const p = { s50: stat(single, 50), s99: stat(single, 99), b50: stat(batch, 50), b99: stat(batch, 99) };
    for (const l of labels) {
      const added = (x: Record<Path, number>) => (l === "direct" ? "" : ` (+${us(x[l]! - x["direct"]!)})`);
      console.log(
        `${l.padEnd(12)} single p50 ${us(p.s50[l]!)}${added(p.s50)}, p99 ${us(p.s99[l]!)}${added(p.s99)}; ` +
          `batch p50 ${us(p.b50[l]!)}${added(p.b50)}, p99 ${us(p.b99[l]!)}${added(p.b99)}; ${r[l]!.toFixed(0)} requests/s`,
      );
    }
    const ratio = (x: Record<Path, number>, path: string, anchor: string) => {
      const a = x[anchor]! - x["direct"]!;
      return a > 0 ? `${((x[path]! - x["direct"]!) / a).toFixed(2)}x` : "n/a";
    };
    for (const [kind, anchor, path] of [
      ["layer alone against the embedded proxy alone", "proxy", "layer alone"],
      ["layer alone against the real proxy alone", "real proxy", "layer alone"],
      ["the lab's path (embedded proxy and layer) against the embedded proxy alone", "proxy", "layer"],
      ["the lab's path (real proxy and layer) against the real proxy alone", "real proxy", "real layer"],
    ] as const) {
      if (paths[anchor] === undefined) continue;
      console.log(
        `${kind}: added latency single p50 ${ratio(p.s50, path, anchor)}, p99 ${ratio(p.s99, path, anchor)}, ` +
          `batch p50 ${ratio(p.b50, path, anchor)}, p99 ${ratio(p.b99, path, anchor)} (target <= 1.5x); ` +
          `requests/s ${(r[path]! / r[anchor]!).toFixed(2)}x (target >= 0.7x)`,
      );
    }
  } finally {
    for (const stop of stops) await stop();
  }
}

await main();
