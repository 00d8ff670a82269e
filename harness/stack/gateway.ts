/**
 * The ops gateway on 127.0.0.1: `POST /mint`, `POST /redeem`, `GET /redemptions/:id`,
 * `POST /reports` (bearer token), and `GET /health`, `GET /metrics` (open, as probes
 * and scrapers expect). Bad input gets the status the issue names: 401, 400 naming the
 * field, 413, 409 for a replayed key with a different body, 404.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getAddress, id as keccakId, parseUnits, ZeroAddress } from "ethers";
import { redact } from "../redact.ts";
import { TxReverted } from "./chain.ts";
import { AllChainsFailed, type CrossChainManager } from "./crosschain.ts";
import type { StackMetrics } from "./metrics.ts";
import { bodyHashOf, type Redemption, type RedemptionQueue } from "./queue.ts";

/** Largest request body accepted, bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest amount of one request, fdUSD. */
export const MAX_AMOUNT = 1_000_000_000;

export interface GatewayOptions {
  port: number;
  token: string;
  queue: RedemptionQueue;
  crosschain: CrossChainManager;
  metrics: StackMetrics;
  /** Chain redemptions are paid on (where the holders' fdUSD is). */
  redemptionChain: string;
  chains: readonly string[];
  /** How long `POST /redeem` waits for the payment before answering 202. @default 10000 */
  redeemWaitMs?: number;
  /** Holds every mint and redeem answer back this long, to slow the gateway down on purpose. @default 0 */
  delayMs?: number;
  health: () => { status: "ok" | "degraded" | "down"; components: Record<string, unknown> };
  /** Files an emergency report now (POST /reports), within `deadlineMs` when given. */
  fileReport: (reason: string, deadlineMs?: number) => Promise<unknown>;
}

export interface Gateway {
  port: number;
  server: Server;
  /** Tells waiting `POST /redeem` requests that a redemption settled. */
  settled(redemption: Redemption): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body["error"]));
    this.status = status;
    this.body = body;
  }
}

const invalid = (field: string, message: string) =>
  new HttpError(400, { error: "invalid request", field, message });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new HttpError(413, { error: `body over ${MAX_BODY_BYTES} bytes` }));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, { error: `body over ${MAX_BODY_BYTES} bytes` }));
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("body", "not valid JSON");
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw invalid("body", "expected a JSON object");
  return value as Record<string, unknown>;
}

/** Validates a decimal amount ("1000.00"); returns it as text and in 18-decimal units. */
export function parseAmount(value: unknown, field = "amount"): { text: string; wei: bigint } {
  if (value === undefined) throw invalid(field, "required");
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string" || !/^\d{1,12}(\.\d{1,18})?$/.test(text)) {
    throw invalid(field, 'expected a positive decimal string like "1000.00"');
  }
  const wei = parseUnits(text, 18);
  if (wei === 0n) throw invalid(field, "must be greater than zero");
  if (wei > parseUnits(String(MAX_AMOUNT), 18)) throw invalid(field, `must be at most ${MAX_AMOUNT}`);
  return { text, wei };
}

/** Validates an address (checksum when mixed case); returns it checksummed. */
export function parseAddress(value: unknown, field: string): string {
  if (value === undefined) throw invalid(field, "required");
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value))
    throw invalid(field, "expected a 0x address");
  let address: string;
  try {
    address = getAddress(value);
  } catch {
    throw invalid(field, "bad address checksum");
  }
  if (address === ZeroAddress) throw invalid(field, "must not be the zero address");
  return address;
}

function idempotencyKey(req: IncomingMessage, required: boolean): string | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined || key === "") {
    if (required) throw invalid("Idempotency-Key", "header required");
    return undefined;
  }
  if (Array.isArray(key) || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw invalid("Idempotency-Key", "1 to 255 printable characters");
  }
  return key;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain; version=0.0.4" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Status names of the API: queued, sending, settled (paid on chain), failed. */
function publicStatus(r: Redemption): string {
  return r.status === "paid" ? "settled" : r.status;
}

function view(r: Redemption): Record<string, unknown> {
  return {
    id: r.id,
    idempotency_key: r.idempotencyKey,
    status: publicStatus(r),
    chain: r.chain,
    holder: r.holder,
    pay_to: r.payTo,
    amount: r.amount,
    collateral_type: r.collateralType,
    tx_hash: r.txHash,
    error: r.error,
    accepted_at: new Date(r.acceptedAt).toISOString(),
    paid_at: r.paidAt ? new Date(r.paidAt).toISOString() : null,
  };
}

/** Starts the gateway on 127.0.0.1:`port` (0 for a free port). */
export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const token = Buffer.from(o.token, "utf8");
  const waiters = new Map<string, Set<(r: Redemption) => void>>();
  let mintsOk = 0;
  let mintsTotal = 0;

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? "";
    const m = header.match(/^Bearer\s+(.+)$/i);
    if (!m) return false;
    const given = Buffer.from(m[1]!.trim(), "utf8");
    return given.length === token.length && timingSafeEqual(given, token);
  };

  const waitFor = (id: string, ms: number): Promise<Redemption | undefined> =>
    new Promise((resolve) => {
      const set = waiters.get(id) ?? new Set();
      waiters.set(id, set);
      const done = (r: Redemption | undefined) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) waiters.delete(id);
        resolve(r);
      };
      const timer = setTimeout(() => done(undefined), ms);
      set.add(done);
    });

  const redeem = async (req: IncomingMessage): Promise<[number, unknown, Record<string, string>?]> => {
    const key = idempotencyKey(req, true)!;
    const body = parseJson(await readBody(req));
    const amount = parseAmount(body["amount"]);
    const holder = parseAddress(body["holder"], "holder");
    const payTo = body["pay_to"] === undefined ? holder : parseAddress(body["pay_to"], "pay_to");
    const collateralType = body["collateral_type"] ?? "USDC";
    if (collateralType !== "USDC") throw invalid("collateral_type", 'only "USDC" is redeemable');
    const chain = body["chain"] ?? o.redemptionChain;
    if (typeof chain !== "string" || !o.chains.includes(chain))
      throw invalid("chain", `one of ${o.chains.join(", ")}`);
    const bodyHash = bodyHashOf({ amount: amount.wei.toString(), holder, payTo, collateralType, chain });
    const result = await o.queue.accept({
      idempotencyKey: key,
      chain,
      holder,
      payTo,
      amount: amount.text,
      amountWei: amount.wei.toString(),
      collateralType,
      bodyHash,
    });
    if (result.kind === "conflict") {
      throw new HttpError(409, {
        error: "Idempotency-Key was used with a different request",
        id: result.redemption.id,
      });
    }
    const replay = result.kind === "existing" ? { "idempotent-replayed": "true" } : {};
    let r = result.redemption;
    if (r.status === "queued" || r.status === "sending") {
      r = (await waitFor(r.id, o.redeemWaitMs ?? 10_000)) ?? o.queue.get(r.id) ?? r;
    }
    if (r.status === "paid") return [200, view(r), replay];
    if (r.status === "failed") return [422, view(r), replay];
    return [202, view(r), replay];
  };

  const mint = async (req: IncomingMessage): Promise<[number, unknown, Record<string, string>?]> => {
    const key = idempotencyKey(req, false);
    const body = parseJson(await readBody(req));
    const amount = parseAmount(body["amount"]);
    const recipient = parseAddress(body["recipient"], "recipient");
    const mintId = key ? keccakId(`mint:${key}`) : undefined;
    if (key && mintId) {
      const bodyHash = bodyHashOf({ amount: amount.wei.toString(), recipient });
      if (!o.queue.claimMint(key, mintId, bodyHash)) {
        const existing = o.queue.getMint(key);
        if (existing && existing.bodyHash !== bodyHash) {
          throw new HttpError(409, { error: "Idempotency-Key was used with a different request" });
        }
        if (existing?.response)
          return [existing.response.status, existing.response.body, { "idempotent-replayed": "true" }];
        throw new HttpError(409, { error: "a request with this Idempotency-Key is in progress" });
      }
    }
    mintsTotal++;
    try {
      const result = await o.crosschain.mint(recipient, amount.wei, mintId);
      mintsOk++;
      o.metrics.mints.inc({ chain: result.chain, outcome: "ok" });
      const out = {
        // `id` as every gateway resource has one (clients and the k6 checks read it).
        id: result.mintId,
        mint_id: result.mintId,
        status: "minted",
        chain: result.chain,
        tx_hash: result.txHash,
        block_number: result.blockNumber,
        amount: amount.text,
        recipient,
        failover: result.skipped,
      };
      if (key) o.queue.finishMint(key, "done", { status: 200, body: out });
      return [200, out];
    } catch (error) {
      o.metrics.mints.inc({ chain: "none", outcome: "failed" });
      if (error instanceof AllChainsFailed) {
        if (key) o.queue.releaseMint(key);
        throw new HttpError(503, { error: error.message, skipped: error.skipped });
      }
      if (error instanceof TxReverted) {
        const out = { error: "mint reverted", reason: error.reason, tx_hash: error.hash };
        if (key) o.queue.finishMint(key, "failed", { status: 422, body: out });
        throw new HttpError(422, out);
      }
      if (key) o.queue.releaseMint(key);
      throw error;
    } finally {
      o.metrics.mintSuccessRate.set(mintsTotal === 0 ? 1 : mintsOk / mintsTotal);
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    if (method === "GET" && path === "/health") {
      const health = o.health();
      send(res, health.status === "down" ? 503 : 200, health);
      return "/health";
    }
    if (method === "GET" && path === "/metrics") {
      send(res, 200, await o.metrics.registry.metrics());
      return "/metrics";
    }
    const known = ["/mint", "/redeem", "/reports"].includes(path) || path.startsWith("/redemptions/");
    if (!known) throw new HttpError(404, { error: `no route ${method} ${path}` });
    if (!authorized(req)) {
      req.resume();
      throw new HttpError(401, { error: "missing or wrong bearer token" });
    }
    let result: [number, unknown, Record<string, string>?];
    let name = path;
    const slow = o.delayMs ? () => new Promise((r) => setTimeout(r, o.delayMs)) : undefined;
    if (method === "POST" && path === "/mint") {
      result = await mint(req);
      await slow?.();
    } else if (method === "POST" && path === "/redeem") {
      result = await redeem(req);
      await slow?.();
    } else if (method === "POST" && path === "/reports") {
      const text = await readBody(req);
      const body = text.trim() === "" ? {} : parseJson(text);
      const report = body["report"] ?? "incident_report";
      if (typeof report !== "string" || !/^[a-z_]{1,40}$/.test(report))
        throw invalid("report", "a report name like incident_report");
      const deadline = body["deadline_ms"];
      if (deadline !== undefined && (typeof deadline !== "number" || !(deadline > 0))) {
        throw invalid("deadline_ms", "a positive number of milliseconds");
      }
      const filing = o.fileReport(
        `${report} requested through POST /reports`,
        deadline as number | undefined,
      );
      result = [202, { status: "filing", report }];
      void filing.catch(() => undefined);
    } else if (method === "GET" && path.startsWith("/redemptions/")) {
      name = "/redemptions/:id";
      const r = o.queue.get(decodeURIComponent(path.slice("/redemptions/".length)));
      if (!r) throw new HttpError(404, { error: "no such redemption" });
      result = [200, view(r)];
    } else {
      req.resume();
      throw new HttpError(405, { error: `${method} not allowed on ${path}` });
    }
    send(res, result[0], result[1], result[2] ?? {});
    return name;
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    // The route template, never the raw path: ids and keys stay out of metric labels.
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    let name = path.startsWith("/redemptions/")
      ? "/redemptions/:id"
      : ["/mint", "/redeem", "/reports", "/health", "/metrics"].includes(path)
        ? path
        : "unmatched";
    route(req, res)
      .then((n) => {
        name = n;
      })
      .catch((error: unknown) => {
        if (error instanceof HttpError)
          send(res, error.status, error.body, error.status === 413 ? { connection: "close" } : {});
        else send(res, 500, { error: redact((error as Error).message) });
      })
      .finally(() => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        o.metrics.httpDuration.observe(
          { method: req.method ?? "GET", route: name, status: String(res.statusCode) },
          seconds,
        );
      });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    settled(r) {
      for (const done of waiters.get(r.id) ?? []) done(r);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [, set] of waiters) for (const done of set) done(undefined as unknown as Redemption);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
