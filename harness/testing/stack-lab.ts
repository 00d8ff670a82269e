/**
 * A small lab for the stack's tests and benchmarks (defines no tests): anvil chains with the contracts
 * deployed by `deployStack`, a TCP forwarder per RPC provider that a test can break,
 * controllable price sources, a regulator, a webhook receiver that verifies signatures,
 * and the lab.json + SUT environment that point at them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createConnection,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReplayGuard, SIGNATURE_HEADER, verifyWebhook } from "../contract/webhook.ts";
import { type Chain, rpcCall, startAnvil } from "../lab/anvil.ts";
import { deployStack, type LabAccounts, labAccounts } from "../lab/deploy.ts";
import { SOURCE_NAMES } from "../names.ts";
import type { Alert } from "../stack/alerts.ts";

export type ForwarderMode = "up" | "down" | "hang";

/** A TCP forwarder in front of a node: `down` refuses (and cuts open connections), `hang` accepts and never answers. */
export interface Forwarder {
  url: string;
  setMode(mode: ForwarderMode): void;
  close(): Promise<void>;
}

export async function startForwarder(targetPort: number): Promise<Forwarder> {
  let mode: ForwarderMode = "up";
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (mode === "down") {
      client.destroy();
      return;
    }
    if (mode === "hang") {
      client.resume();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setMode(next) {
      mode = next;
      if (next !== "up") for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export type SourceMode = "live" | "down" | "frozen" | "hang";

export interface FakeSource {
  name: string;
  url: string;
  prices: Record<string, number>;
  mode: SourceMode;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A price source with the lab's HTTP API whose prices and mode a test sets. */
export async function startFakeSource(name: string, prices: Record<string, number>): Promise<FakeSource> {
  const frozenAt = { value: Date.now() };
  const source: FakeSource = {
    name,
    url: "",
    prices: { ...prices },
    mode: "live",
    close: async () => undefined,
  };
  const { server, url } = await listen((req, res) => {
    if (source.mode === "down") {
      res.socket?.destroy();
      return;
    }
    if (source.mode === "hang") return;
    const now = source.mode === "frozen" ? frozenAt.value : Date.now();
    if (source.mode !== "frozen") frozenAt.value = now;
    const quotes = Object.entries(source.prices).map(([pair, price]) => ({
      pair,
      price,
      updatedAt: new Date(now).toISOString(),
      source: name,
    }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(req.url === "/prices" ? { source: name, prices: quotes } : (quotes[0] ?? {})));
  });
  source.url = url;
  source.close = () => closeServer(server);
  return source;
}

export interface Regulator {
  url: string;
  up: boolean;
  filed: unknown[];
  close(): Promise<void>;
}

export async function startFakeRegulator(): Promise<Regulator> {
  const regulator: Regulator = { url: "", up: true, filed: [], close: async () => undefined };
  const { server, url } = await listen((req, res) => {
    if (!regulator.up) {
      res.writeHead(503).end();
      req.resume();
      return;
    }
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      regulator.filed.push(JSON.parse(body));
      res
        .writeHead(201, { "content-type": "application/json" })
        .end(JSON.stringify({ receipt: regulator.filed.length }));
    });
  });
  regulator.url = `${url}/reports`;
  regulator.close = () => closeServer(server);
  return regulator;
}

export type ReceivedAlert = Alert & { receivedAtMs: number };

export interface Receiver {
  url: string;
  secret: string;
  alerts: ReceivedAlert[];
  rejected: string[];
  /** Resolves with the first alert (received from now on, or already) matching `pred`. */
  waitFor(pred: (a: ReceivedAlert) => boolean, timeoutMs?: number): Promise<ReceivedAlert>;
  close(): Promise<void>;
}

/** The harness side of the webhook: verifies every delivery with `verifyWebhook`. */
export async function startReceiver(secret: string): Promise<Receiver> {
  const guard = new ReplayGuard();
  const listeners = new Set<() => void>();
  const receiver: Receiver = {
    url: "",
    secret,
    alerts: [],
    rejected: [],
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = receiver.alerts.find(pred);
          if (hit) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `no matching alert within ${timeoutMs} ms; got ${receiver.alerts.map((a) => `${a.event}${a.chain ? `[${a.chain}]` : ""}`).join(", ")}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: async () => undefined,
  };
  const { server, url } = await listen((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const verdict = verifyWebhook(
        secret,
        typeof header === "string" ? header : undefined,
        body,
        Date.now(),
        guard,
      );
      if (!verdict.ok) {
        receiver.rejected.push(verdict.reason);
        res.writeHead(401).end();
        return;
      }
      receiver.alerts.push({ ...(JSON.parse(body) as Alert), receivedAtMs: Date.now() });
      res.writeHead(204).end();
      for (const l of [...listeners]) l();
    });
  });
  receiver.url = url;
  receiver.close = () => closeServer(server);
  return receiver;
}

export interface TestChain {
  name: string;
  chain: Chain;
  providers: Forwarder[];
  contracts: Awaited<ReturnType<typeof deployStack>>;
}

export interface TestLab {
  dir: string;
  labFile: string;
  accounts: LabAccounts;
  chains: TestChain[];
  sources: FakeSource[];
  regulator: Regulator;
  receiver: Receiver;
  env: Record<string, string>;
  rpc<T>(chain: string, method: string, params?: unknown[]): Promise<T>;
  close(): Promise<void>;
}

const CHAIN_IDS: Record<string, number> = { ethereum: 1, polygon: 137, arbitrum: 42_161 };

export interface TestLabOptions {
  chains?: string[];
  blockTimeMs?: number;
  /** Feed heartbeat, lab ms. @default 60000 */
  heartbeatMs?: number;
  /** lab.json clockSpeedup (the sequencer grace period is 3600 s divided by it). @default 60 */
  clockSpeedup?: number;
}

/** Starts a small lab; `close()` stops all of it. */
export async function startTestLab(options: TestLabOptions = {}): Promise<TestLab> {
  const names = options.chains ?? ["ethereum", "polygon"];
  const blockTimeMs = options.blockTimeMs ?? 500;
  const dir = mkdtempSync(join(tmpdir(), "firedrill-stack-"));
  const releases: (() => Promise<unknown>)[] = [];
  const accounts = labAccounts();
  try {
    const chains: TestChain[] = [];
    for (const name of names) {
      const chain = await startAnvil({ name, chainId: CHAIN_IDS[name] ?? 31337, blockTimeMs });
      releases.push(() => chain.process.stop());
      const contracts = await deployStack(chain.url, accounts, {
        ethUsd: 3000,
        usdcUsd: 1,
        minCollateralRatio: 1.05,
        maxPriceAgeSeconds: 3600,
        withSequencerFeed: name === "arbitrum",
        initialCollateralUsdc: 1_100_000n * 10n ** 6n,
        initialSupply: 1_000_000n * 10n ** 18n,
      });
      const providers: Forwarder[] = [];
      for (let i = 0; i < 3; i++) {
        const f = await startForwarder(chain.port);
        releases.push(() => f.close());
        providers.push(f);
      }
      chains.push({ name, chain, providers, contracts });
    }
    const sources: FakeSource[] = [];
    for (const name of SOURCE_NAMES) {
      const s = await startFakeSource(name, { "ETH/USD": 3000, "USDC/USD": 1 });
      releases.push(() => s.close());
      sources.push(s);
    }
    const regulator = await startFakeRegulator();
    releases.push(() => regulator.close());
    const receiver = await startReceiver("test-webhook-secret-0123456789");
    releases.push(() => receiver.close());
    const heartbeatMs = options.heartbeatMs ?? 60_000;
    const lab = {
      version: 1,
      seed: 42,
      clockSpeedup: options.clockSpeedup ?? 60,
      startedAt: new Date().toISOString(),
      chains: Object.fromEntries(
        chains.map((c) => [
          c.name,
          {
            chainId: c.chain.chainId,
            nodeUrl: c.chain.url,
            rpc: {
              primary: c.providers[0]!.url,
              secondary: c.providers[1]!.url,
              emergency: c.providers[2]!.url,
            },
            blockTimeMs,
            contracts: c.contracts,
          },
        ]),
      ),
      oracles: {
        sources: Object.fromEntries(sources.map((s) => [s.name, s.url])),
        heartbeats: { "ETH/USD": heartbeatMs, "USDC/USD": heartbeatMs },
      },
      regulator: { url: regulator.url },
      accounts,
    };
    const labFile = join(dir, "lab.json");
    writeFileSync(labFile, JSON.stringify(lab, null, 2));
    const env: Record<string, string> = {
      FIREDRILL_LAB: labFile,
      FIREDRILL_ORACLE_URLS: sources.map((s) => `${s.name}=${s.url}`).join(","),
      FIREDRILL_REGULATOR_URL: regulator.url,
      FIREDRILL_ALERT_WEBHOOK: receiver.url,
      FIREDRILL_WEBHOOK_SECRET: receiver.secret,
      FIREDRILL_GATEWAY_TOKEN: "test-gateway-token-abcdef",
      FIREDRILL_SUT_PORT: "0",
    };
    for (const c of chains) {
      ["PRIMARY", "SECONDARY", "EMERGENCY"].forEach((p, i) => {
        env[`FIREDRILL_RPC_${c.name.toUpperCase()}_${p}`] = c.providers[i]!.url;
      });
    }
    return {
      dir,
      labFile,
      accounts,
      chains,
      sources,
      regulator,
      receiver,
      env,
      rpc: (chain, method, params = []) =>
        rpcCall(chains.find((c) => c.name === chain)!.chain.url, method, params),
      async close() {
        while (releases.length > 0) await releases.pop()!().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    while (releases.length > 0) await releases.pop()!().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Sends a transaction from `privateKey` straight to the chain's node and waits for it. */
export async function sendAs(
  lab: TestLab,
  chainName: string,
  privateKey: string,
  to: string,
  abi: string[],
  fn: string,
  args: unknown[],
): Promise<void> {
  const { Contract, JsonRpcProvider, Network, Wallet } = await import("ethers");
  const c = lab.chains.find((x) => x.name === chainName)!;
  const provider = new JsonRpcProvider(c.chain.url, new Network("lab", c.chain.chainId), {
    staticNetwork: true,
    pollingInterval: 50,
  });
  try {
    const contract = new Contract(to, abi, new Wallet(privateKey, provider));
    const tx = await contract.getFunction(fn)(...args);
    await tx.wait();
  } finally {
    provider.destroy();
  }
}

/** Pushes a new answer (USD, 8 decimals) to a feed as the lab's keeper. */
export function pushFeed(
  lab: TestLab,
  chainName: string,
  feed: "ethUsdFeed" | "usdcUsdFeed",
  usd: number,
): Promise<void> {
  const c = lab.chains.find((x) => x.name === chainName)!;
  return sendAs(
    lab,
    chainName,
    lab.accounts.keeper.privateKey,
    c.contracts[feed],
    ["function transmit(int256 answer)"],
    "transmit",
    [BigInt(Math.round(usd * 1e8))],
  );
}

/** Alerts received since `sinceMs`. */
export function alertsSince(lab: TestLab, sinceMs: number): ReceivedAlert[] {
  return lab.receiver.alerts.filter((a) => a.receivedAtMs >= sinceMs);
}

/** An HTTP JSON-RPC forwarder whose head a test can freeze (a provider stuck on an old block). */
export interface FreezableProvider {
  url: string;
  freeze(frozen: boolean): void;
  /** Answers every JSON-RPC batch with an error, as providers that limit batches do. */
  refuseBatches(refuse: boolean): void;
  close(): Promise<void>;
}

export async function startFreezableProvider(targetUrl: string): Promise<FreezableProvider> {
  let frozen = false;
  let noBatches = false;
  const cache = new Map<string, unknown>();
  const { server, url } = await listen((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      void (async () => {
        const call = JSON.parse(body) as { id?: unknown; method?: string; params?: unknown[] };
        if (noBatches && Array.isArray(call)) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              jsonrpc: "2.0",
              id: null,
              error: { code: -32600, message: "batches not allowed" },
            }),
          );
          return;
        }
        const headCall =
          !Array.isArray(call) &&
          (call.method === "eth_blockNumber" ||
            (call.method === "eth_getBlockByNumber" && call.params?.[0] === "latest"));
        const key = `${call.method}`;
        if (frozen && headCall && cache.has(key)) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: cache.get(key) }));
          return;
        }
        const upstream = await fetch(targetUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const text = await upstream.text();
        if (headCall && !frozen) cache.set(key, (JSON.parse(text) as { result: unknown }).result);
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(text);
      })().catch(() => res.writeHead(502).end());
    });
  });
  return {
    url,
    freeze(f) {
      frozen = f;
    },
    refuseBatches(refuse) {
      noBatches = refuse;
    },
    close: () => closeServer(server),
  };
}
