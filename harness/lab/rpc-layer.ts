/**
 * The JSON-RPC layer: a small HTTP server between each provider's Toxiproxy proxy and the
 * chain's node. With no rule it passes requests through untouched, streamed and on kept-alive
 * connections; with rules (set by the JSON-RPC faults through the lab's control API) it reads
 * each request and batch and answers the way a misbehaving provider does: from a lagging
 * head, with 429s or -32005s, with errors on chosen methods, refusing large batches, or from
 * another node (a diverged fork). Toxiproxy stays the edge the system under test connects to,
 * so the TCP faults keep their exact meaning on top of these.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";
import { labError } from "../errors.ts";
import { type Random, seededRandom } from "../random.ts";

/** Methods answered from the state at a block tag, with the tag's position in `params`. */
const TAG_POSITION: Readonly<Record<string, number>> = {
  eth_call: 1,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_estimateGas: 1,
  eth_createAccessList: 1,
  eth_getProof: 2,
};

/** Methods whose result is a block, a transaction or a receipt: hidden above a lagged head. */
const BLOCK_RESULT = new Set([
  "eth_getBlockByHash",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getTransactionByBlockHashAndIndex",
]);

/** Every method a rule may name: the Ethereum JSON-RPC methods a monitor or a sender uses. */
export const KNOWN_METHODS = [
  "eth_blockNumber",
  "eth_chainId",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getLogs",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getTransactionByBlockHashAndIndex",
  "eth_sendRawTransaction",
  "eth_sendTransaction",
  "eth_syncing",
  "net_version",
  "web3_clientVersion",
  ...Object.keys(TAG_POSITION),
] as const;

export type RpcMethodError =
  /** `eth_getLogs` over more than `maxBlockRange` blocks refused (-32005, as Infura and others). */
  | "logs_range"
  /** `header not found` (-32000), as a node answers for a block it does not have yet. */
  | "header_not_found"
  /** A generic internal error (-32603). */
  | "internal"
  /** No answer at all: the request is held until the client gives up. */
  | "timeout";

/** What a rule does; the layer applies every active rule to every request. */
export type RpcRuleSpec =
  | { kind: "lag"; blocks: number }
  | { kind: "lag"; seconds: number }
  | {
      kind: "rate_limit";
      /** Share of requests refused, 0..1; or requests per second allowed above which all are refused. */
      share?: number;
      perSecond?: number;
      answer: "http_429" | "rpc_error";
      retryAfterSeconds: number;
      seed: number;
    }
  | { kind: "method_errors"; methods: string[]; error: RpcMethodError; maxBlockRange?: number }
  | { kind: "batch_limit"; maxBatch: number; answer: "rpc_error" | "http_400" }
  | { kind: "upstream"; url: string; label: string };

export type RpcRule = RpcRuleSpec & { id: string };

/** A rule as the control API shows it: what it is and how many requests it has changed. */
export type RpcRuleState = RpcRule & { hits: number };

interface Call {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

interface Reply {
  jsonrpc: "2.0";
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

const MAX_BODY = 8 << 20;
/** A held request (method timeout) is dropped after this, whatever the client does. */
const HOLD_MS = 120_000;

function errorReply(id: unknown, code: number, message: string): Reply {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** A tag or quantity as a block number; `undefined` for latest, pending, safe, finalized or none. */
function blockOf(tag: unknown): number | undefined {
  if (typeof tag === "string" && tag.startsWith("0x")) return Number.parseInt(tag, 16);
  if (typeof tag === "number") return tag;
  if (tag === "earliest") return 0;
  return undefined;
}

interface Active {
  rule: RpcRule;
  hits: number;
  random?: Random;
  /** Rate limit: when the current one-second window began and how many it let through. */
  windowStart?: number;
  inWindow?: number;
}

/** A request head larger than this is not a JSON-RPC client's: the connection stays opaque. */
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * One provider's JSON-RPC layer. With no rule, a connection is spliced to the node byte for
 * byte, the layer only finding where each request ends; at the first request that arrives
 * while a rule is active, the connection is handed to an HTTP server of the layer's own that
 * reads and answers every request from then on.
 */
export class RpcLayer {
  readonly name: string;
  readonly nodeUrl: string;
  url = "";
  #rules: Active[] = [];
  #tcp = createTcpServer({ noDelay: true }, (socket) => this.#splice(socket));
  #http = createServer({ keepAlive: true, noDelay: true }, (req, res) => this.#handle(req, res));
  #sockets = new Set<Socket>();
  /** Spliced connections whose requests the layer cannot delimit (chunked bodies): closed when a rule comes. */
  #opaque = new Set<Socket>();
  #held = new Set<ServerResponse>();
  #agent = new Agent({ keepAlive: true, maxSockets: 64, scheduling: "lifo" });
  #timestamps = new Map<string, number>();
  readonly #node: { host: string; port: number };

  constructor(name: string, nodeUrl: string) {
    this.name = name;
    this.nodeUrl = nodeUrl;
    const url = new URL(nodeUrl);
    this.#node = { host: url.hostname, port: Number(url.port) };
    this.#http.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#tcp.once("error", (error) => reject(labError(`rpc layer ${this.name}`, error.message)));
      this.#tcp.listen(0, "127.0.0.1", resolve);
    });
    this.url = `http://127.0.0.1:${(this.#tcp.address() as AddressInfo).port}`;
    return this.url;
  }

  /**
   * Splices a client connection to the node. The bytes go through as they come; the layer
   * keeps only where the current request ends (its head's Content-Length), so that it can
   * hand the connection over between two requests.
   */
  #splice(client: Socket): void {
    this.#sockets.add(client);
    client.once("close", () => {
      this.#sockets.delete(client);
      this.#opaque.delete(client);
    });
    client.on("error", () => client.destroy());
    const node = connect({ ...this.#node, noDelay: true });
    node.on("error", () => client.destroy());
    client.once("close", () => node.destroy());
    node.once("close", () => {
      if (!handed) client.destroy();
    });
    const down = (data: Buffer) => {
      if (!client.write(data)) {
        node.pause();
        client.once("drain", () => node.resume());
      }
    };
    node.on("data", down);
    let handed = false;
    let head: Buffer | undefined;
    let bodyLeft = 0;
    let opaque = false;
    const handOver = (rest: Buffer) => {
      handed = true;
      client.removeListener("data", onData);
      node.removeListener("data", down);
      node.destroy();
      if (rest.length > 0) client.unshift(rest);
      this.#http.emit("connection", client);
      client.resume();
    };
    const onData = (chunk: Buffer) => {
      let offset = 0;
      while (offset < chunk.length && !opaque) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, chunk.length - offset);
          bodyLeft -= take;
          offset += take;
          continue;
        }
        // A request that starts while a rule is active: the connection is the HTTP server's now.
        if (head === undefined && this.#rules.length > 0) {
          if (offset > 0) node.write(chunk.subarray(0, offset));
          handOver(chunk.subarray(offset));
          return;
        }
        const seen: Buffer =
          head === undefined ? chunk.subarray(offset) : Buffer.concat([head, chunk.subarray(offset)]);
        const end = seen.indexOf(HEAD_END);
        if (end < 0) {
          head = seen;
          offset = chunk.length;
          if (head.length > MAX_HEAD) opaque = true;
          if (opaque) this.#opaque.add(client);
          continue;
        }
        const text = seen.toString("latin1", 0, end);
        const consumed = end + 4 - (head?.length ?? 0);
        head = undefined;
        offset += consumed;
        if (/\r\ntransfer-encoding:/i.test(text)) {
          opaque = true;
          this.#opaque.add(client);
        }
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        bodyLeft = length ? Number(length[1]) : 0;
      }
      if (!node.write(chunk)) {
        client.pause();
        node.once("drain", () => client.resume());
      }
    };
    client.on("data", onData);
  }

  rules(): RpcRuleState[] {
    return this.#rules.map((a) => ({ ...a.rule, hits: a.hits }));
  }

  /** Adds (or replaces, by id) a rule. */
  add(rule: RpcRule): void {
    this.#rules = this.#rules.filter((a) => a.rule.id !== rule.id);
    const active: Active = { rule, hits: 0 };
    if (rule.kind === "rate_limit") active.random = seededRandom(rule.seed);
    this.#rules.push(active);
    // A connection the layer cannot follow would carry on to the node untouched: its client
    // opens a new one, which the rule reaches from its first request.
    for (const socket of this.#opaque) socket.destroy();
    this.#opaque.clear();
  }

  /** Removes a rule; true when it was there. Requests it holds are let go (closed). */
  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((a) => a.rule.id !== id);
    if (!this.#rules.some((a) => a.rule.kind === "method_errors")) this.#releaseHeld();
    return this.#rules.length < before;
  }

  clear(): void {
    this.#rules = [];
    this.#releaseHeld();
  }

  close(): Promise<void> {
    this.clear();
    this.#agent.destroy();
    return new Promise<void>((resolve) => {
      this.#tcp.close(() => resolve());
      this.#http.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  #releaseHeld(): void {
    for (const res of this.#held) res.destroy();
    this.#held.clear();
  }

  /** A request of a handed-over connection. */
  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.#rules.length === 0) {
      this.#passThrough(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      this.#answer(Buffer.concat(chunks), res).catch((error: Error) => {
        if (!res.headersSent) this.#send(res, 200, errorReply(null, -32603, error.message));
        else res.destroy();
      });
    });
  }

  /** No rule: the request streams to the node and the answer streams back. */
  #passThrough(req: IncomingMessage, res: ServerResponse, base = this.nodeUrl): void {
    const url = new URL(req.url ?? "/", base);
    const upstream = request(
      url,
      { method: req.method, headers: req.headers, agent: this.#agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  async #answer(raw: Buffer, res: ServerResponse): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      this.#send(res, 200, errorReply(null, -32700, "parse error"));
      return;
    }
    const batch = Array.isArray(parsed);
    const calls = (batch ? parsed : [parsed]) as Call[];
    const now = Date.now();
    // Refusals of the whole HTTP request come first, as a provider's gateway refuses them.
    for (const active of this.#rules) {
      const refusal = this.#refusal(active, calls, batch, now);
      if (refusal) {
        active.hits++;
        this.#send(res, refusal.status, refusal.body, refusal.headers);
        return;
      }
    }
    const base = this.#upstream();
    const lag = await this.#laggedHead(base);
    const replies: (Reply | undefined)[] = [];
    const forward: { index: number; call: Call }[] = [];
    for (const [index, call] of calls.entries()) {
      const method = typeof call.method === "string" ? call.method : "";
      const failed = this.#methodError(call, method, lag);
      if (failed === "hold") {
        this.#hold(res);
        return;
      }
      if (failed) {
        replies[index] = failed;
        continue;
      }
      if (lag !== undefined) {
        const local = this.#lagged(call, method, lag);
        if (local) {
          replies[index] = local;
          continue;
        }
      }
      forward.push({ index, call: lag === undefined ? call : this.#atHeight(call, method, lag.height) });
    }
    if (forward.length > 0) {
      const answers = await this.#post(
        base,
        forward.map((f) => f.call),
      );
      for (const [i, f] of forward.entries()) {
        const reply = answers[i] ?? errorReply(f.call.id, -32603, "no reply from the node");
        replies[f.index] = lag === undefined ? reply : this.#hideAbove(reply, f.call, lag.height);
      }
    }
    this.#send(res, 200, batch ? replies : replies[0]);
  }

  /** The node this provider answers from: the chain's, or a diverged one. */
  #upstream(): string {
    for (const active of this.#rules) {
      if (active.rule.kind === "upstream") {
        active.hits++;
        return active.rule.url;
      }
    }
    return this.nodeUrl;
  }

  #refusal(
    active: Active,
    calls: Call[],
    batch: boolean,
    now: number,
  ): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
    const rule = active.rule;
    if (rule.kind === "batch_limit" && batch && calls.length > rule.maxBatch) {
      const message = `batch size ${calls.length} exceeds the limit of ${rule.maxBatch}`;
      return rule.answer === "http_400"
        ? { status: 400, body: errorReply(null, -32600, message) }
        : { status: 200, body: errorReply(null, -32005, message) };
    }
    if (rule.kind !== "rate_limit") return undefined;
    let refuse = false;
    if (rule.perSecond !== undefined) {
      if (active.windowStart === undefined || now - active.windowStart >= 1000) {
        active.windowStart = now;
        active.inWindow = 0;
      }
      active.inWindow = (active.inWindow ?? 0) + 1;
      refuse = active.inWindow > rule.perSecond;
    }
    if (!refuse && rule.share !== undefined) refuse = active.random!.next() < rule.share;
    if (!refuse) return undefined;
    if (rule.answer === "http_429") {
      return {
        status: 429,
        body: errorReply(null, 429, "too many requests"),
        headers: { "retry-after": String(rule.retryAfterSeconds) },
      };
    }
    const replies = calls.map((c) => errorReply(c.id, -32005, "limit exceeded"));
    return { status: 200, body: batch ? replies : replies[0] };
  }

  /** A method error for this call, "hold" for a timeout, or nothing. */
  #methodError(call: Call, method: string, lag: LagView | undefined): Reply | "hold" | undefined {
    for (const active of this.#rules) {
      const rule = active.rule;
      if (rule.kind !== "method_errors" || !rule.methods.includes(method)) continue;
      if (rule.error === "logs_range") {
        const filter = (Array.isArray(call.params) ? call.params[0] : undefined) as
          | { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
          | undefined;
        if (filter?.blockHash !== undefined) continue;
        const head = lag?.height ?? lag?.head;
        const to = blockOf(filter?.toBlock) ?? head;
        const from = blockOf(filter?.fromBlock) ?? to;
        const limit = rule.maxBlockRange ?? 0;
        // Without a head known (no lag rule), a tag counts as the widest range.
        if (to !== undefined && from !== undefined && to - from + 1 <= limit) continue;
        active.hits++;
        return errorReply(call.id, -32005, `query exceeds the limit of ${limit} blocks per eth_getLogs`);
      }
      active.hits++;
      if (rule.error === "timeout") return "hold";
      if (rule.error === "header_not_found") return errorReply(call.id, -32000, "header not found");
      return errorReply(call.id, -32603, "internal error");
    }
    return undefined;
  }

  #hold(res: ServerResponse): void {
    this.#held.add(res);
    const timer = setTimeout(() => res.destroy(), HOLD_MS);
    res.once("close", () => {
      clearTimeout(timer);
      this.#held.delete(res);
    });
  }

  /** The lag rule's view: the node's head and the height this provider answers from. */
  async #laggedHead(base: string): Promise<LagView | undefined> {
    const active = this.#rules.find((a) => a.rule.kind === "lag");
    if (!active) {
      // A logs range limit needs the head to size `latest`.
      if (!this.#rules.some((a) => a.rule.kind === "method_errors" && a.rule.error === "logs_range"))
        return undefined;
      const [reply] = await this.#post(base, [
        { jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] },
      ]);
      const head = Number.parseInt(String(reply?.result ?? "0x0"), 16);
      return { head, height: undefined };
    }
    active.hits++;
    const rule = active.rule as Extract<RpcRuleSpec, { kind: "lag" }>;
    const [reply] = await this.#post(base, [
      { jsonrpc: "2.0", id: 0, method: "eth_getBlockByNumber", params: ["latest", false] },
    ]);
    const latest = reply?.result as { number: string; timestamp: string } | undefined;
    if (!latest) throw labError(`rpc layer ${this.name}`, "the node gave no latest block");
    const head = Number.parseInt(latest.number, 16);
    if ("blocks" in rule) return { head, height: Math.max(0, head - rule.blocks) };
    return {
      head,
      height: await this.#heightAt(base, Number.parseInt(latest.timestamp, 16) - rule.seconds, head),
    };
  }

  /** The highest block at or before `timestamp` (seconds), by binary search over cached timestamps. */
  async #heightAt(base: string, timestamp: number, head: number): Promise<number> {
    let low = Math.max(0, head - 512);
    let high = head;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if ((await this.#timestampOf(base, mid)) <= timestamp) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  async #timestampOf(base: string, n: number): Promise<number> {
    const key = `${base} ${n}`;
    const known = this.#timestamps.get(key);
    if (known !== undefined) return known;
    const [reply] = await this.#post(base, [
      { jsonrpc: "2.0", id: 0, method: "eth_getBlockByNumber", params: [hex(n), false] },
    ]);
    const block = reply?.result as { timestamp: string } | null | undefined;
    const ts = block ? Number.parseInt(block.timestamp, 16) : 0;
    if (this.#timestamps.size > 4096) this.#timestamps.clear();
    this.#timestamps.set(key, ts);
    return ts;
  }

  /** The calls a lagging provider answers by itself. */
  #lagged(call: Call, method: string, lag: LagView): Reply | undefined {
    if (method === "eth_blockNumber" && lag.height !== undefined)
      return { jsonrpc: "2.0", id: call.id, result: hex(lag.height) };
    if (method === "eth_getBlockByNumber" && lag.height !== undefined) {
      const n = blockOf(Array.isArray(call.params) ? call.params[0] : undefined);
      if (n !== undefined && n > lag.height) return { jsonrpc: "2.0", id: call.id, result: null };
    }
    const at = TAG_POSITION[method];
    if (at !== undefined && lag.height !== undefined && Array.isArray(call.params)) {
      const n = blockOf(call.params[at]);
      if (n !== undefined && n > lag.height) return errorReply(call.id, -32000, "header not found");
    }
    return undefined;
  }

  /** The call with `latest` (or no tag) pinned to the lagged height. */
  #atHeight(call: Call, method: string, height: number | undefined): Call {
    if (height === undefined || !Array.isArray(call.params)) return call;
    const params = [...call.params];
    const tagged = (tag: unknown) => blockOf(tag) === undefined && tag !== "earliest";
    if (method === "eth_getBlockByNumber" && tagged(params[0])) params[0] = hex(height);
    const at = TAG_POSITION[method];
    if (at !== undefined && tagged(params[at])) {
      while (params.length < at) params.push(undefined);
      params[at] = hex(height);
    }
    if (method === "eth_getLogs" && params[0] && typeof params[0] === "object") {
      const filter = { ...(params[0] as Record<string, unknown>) };
      if (filter["blockHash"] === undefined) {
        if (tagged(filter["toBlock"])) filter["toBlock"] = hex(height);
        if (tagged(filter["fromBlock"]) && filter["fromBlock"] !== undefined)
          filter["fromBlock"] = hex(height);
        const from = blockOf(filter["fromBlock"]);
        if (from !== undefined && from > height) filter["fromBlock"] = filter["toBlock"] = hex(height + 1);
      }
      params[0] = filter;
    }
    return { ...call, params };
  }

  /** Blocks, transactions, receipts and logs above the lagged height are not there yet. */
  #hideAbove(reply: Reply, call: Call, height: number | undefined): Reply {
    if (height === undefined || reply.error) return reply;
    const method = call.method as string;
    const numberOf = (value: unknown) => {
      const n = (value as { number?: string; blockNumber?: string } | null)?.number;
      const b = (value as { blockNumber?: string } | null)?.blockNumber;
      const text = n ?? b;
      return typeof text === "string" ? Number.parseInt(text, 16) : undefined;
    };
    if (BLOCK_RESULT.has(method)) {
      const n = numberOf(reply.result);
      if (n !== undefined && n > height) return { ...reply, result: null };
    }
    if (method === "eth_getLogs" && Array.isArray(reply.result))
      return { ...reply, result: reply.result.filter((log) => (numberOf(log) ?? 0) <= height) };
    return reply;
  }

  /** POSTs calls to a node as one body (a batch when more than one); replies in call order. */
  async #post(base: string, calls: Call[]): Promise<(Reply | undefined)[]> {
    // The node sees ids of the layer's own, so that a client's repeated or odd ids never mix.
    const numbered = calls.map((c, i) => ({ ...c, jsonrpc: "2.0", id: i }));
    const body = JSON.stringify(numbered.length === 1 ? numbered[0] : numbered);
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        base,
        {
          method: "POST",
          agent: this.#agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (c: Buffer) => chunks.push(c));
          answer.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          answer.on("error", reject);
        },
      );
      req.setTimeout(30_000, () =>
        req.destroy(labError(`rpc layer ${this.name}`, "the node did not answer within 30 s")),
      );
      req.on("error", reject);
      req.end(body);
    });
    const parsed = JSON.parse(text) as Reply | Reply[];
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const byId = new Map(list.map((r) => [r.id, r]));
    return calls.map((c, i) => {
      const reply = byId.get(i) ?? (calls.length === 1 ? list[0] : undefined);
      return reply ? { ...reply, id: c.id ?? null } : undefined;
    });
  }
}

interface LagView {
  /** The node's head. */
  head: number;
  /** The height answered from; `undefined` when no lag rule is active. */
  height: number | undefined;
}

/** Starts a layer for a provider in front of `nodeUrl`. */
export async function startRpcLayer(name: string, nodeUrl: string): Promise<RpcLayer> {
  const layer = new RpcLayer(name, nodeUrl);
  await layer.listen();
  return layer;
}
