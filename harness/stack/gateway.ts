/**
 * The ops gateway on 127.0.0.1, serving the routes of harness/contract/gateway.ts:
 * `POST /mint`, `POST /redeem`, `GET /redemptions/:id`, `POST /reports` (bearer token), and
 * `GET /health`, `GET /metrics` (open, as probes and scrapers expect). Bad input gets the
 * status the issue names: 401, 400 naming the field, 413, 409 for a replayed key with a
 * different body, 404.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { id as keccakId, parseUnits } from "ethers";
import type { z } from "zod";
import {
  type Health,
  IDEMPOTENCY_KEY,
  IDEMPOTENCY_KEY_HEADER,
  MAX_BODY_BYTES,
  type MintResponse,
  matchRoute,
  mintRequestSchema,
  REPLAYED_HEADER,
  type RedemptionView,
  type ReportAccepted,
  ROUTES,
  type RouteName,
  redeemRequestSchema,
  reportRequestSchema,
} from "../contract/gateway.ts";
import { sleep } from "../process.ts";
import { redact } from "../redact.ts";
import { TxReverted } from "./chain.ts";
import { AllChainsFailed, type CrossChainManager } from "./crosschain.ts";
import type { StackMetrics } from "./metrics.ts";
import { bodyHashOf, type Redemption, type RedemptionQueue } from "./queue.ts";

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
  health: () => Health;
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

/** A status, a body (text for /metrics, JSON otherwise) and extra headers. */
type Answer = [status: number, body: unknown, headers?: Record<string, string>];
/** Answers one route; `id` is the redemption id of `GET /redemptions/:id`. */
type Handler = (req: IncomingMessage, id: string | undefined) => Promise<Answer>;

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

/** The body as `schema` reads it; a 400 names the first field that is wrong. */
function bodyOf<S extends z.ZodType>(schema: S, body: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw invalid(String(issue.path[0] ?? "body"), issue.message);
}

function idempotencyKey(req: IncomingMessage, required: boolean): string | undefined {
  const key = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (key === undefined || key === "") {
    if (required) throw invalid(IDEMPOTENCY_KEY_HEADER, "header required");
    return undefined;
  }
  if (Array.isArray(key) || !IDEMPOTENCY_KEY.test(key)) {
    throw invalid(IDEMPOTENCY_KEY_HEADER, "1 to 255 printable characters");
  }
  return key;
}

const REPLAYED = { [REPLAYED_HEADER]: "true" };

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

function view(r: Redemption): RedemptionView {
  return {
    id: r.id,
    idempotency_key: r.idempotencyKey,
    // The queue's `paid` is the API's `settled` (paid on chain).
    status: r.status === "paid" ? "settled" : r.status,
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

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?")[0]!;
}

/** Checks `Authorization: Bearer <token>` in constant time. */
function bearer(token: string): (req: IncomingMessage) => boolean {
  const expected = Buffer.from(token, "utf8");
  return (req) => {
    const header = req.headers.authorization ?? "";
    const m = header.match(/^Bearer\s+(.+)$/i);
    if (!m) return false;
    const given = Buffer.from(m[1]!.trim(), "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

/** `POST /redeem` requests waiting for their redemption to settle. */
function settlementWaiters() {
  const waiters = new Map<string, Set<(r: Redemption | undefined) => void>>();
  return {
    /** The redemption once settled, or undefined after `ms`. */
    waitFor: (id: string, ms: number): Promise<Redemption | undefined> =>
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
      }),
    settled(r: Redemption): void {
      for (const done of waiters.get(r.id) ?? []) done(r);
    },
    releaseAll(): void {
      for (const [, set] of waiters) for (const done of set) done(undefined);
    },
  };
}

function redeemHandler(o: GatewayOptions, waiters: ReturnType<typeof settlementWaiters>): Handler {
  return async (req) => {
    const key = idempotencyKey(req, true)!;
    const body = bodyOf(redeemRequestSchema, parseJson(await readBody(req)));
    const chain = body.chain ?? o.redemptionChain;
    if (!o.chains.includes(chain)) throw invalid("chain", `one of ${o.chains.join(", ")}`);
    const amountWei = parseUnits(body.amount, 18).toString();
    const { holder, collateral_type: collateralType } = body;
    const payTo = body.pay_to ?? holder;
    const bodyHash = bodyHashOf({ amount: amountWei, holder, payTo, collateralType, chain });
    const result = await o.queue.accept({
      idempotencyKey: key,
      chain,
      holder,
      payTo,
      amount: body.amount,
      amountWei,
      collateralType,
      bodyHash,
    });
    if (result.kind === "conflict") {
      throw new HttpError(409, {
        error: "Idempotency-Key was used with a different request",
        id: result.redemption.id,
      });
    }
    const replay = result.kind === "existing" ? REPLAYED : {};
    let r = result.redemption;
    if (r.status === "queued" || r.status === "sending") {
      r = (await waiters.waitFor(r.id, o.redeemWaitMs ?? 10_000)) ?? o.queue.get(r.id) ?? r;
    }
    if (r.status === "paid") return [200, view(r), replay];
    if (r.status === "failed") return [422, view(r), replay];
    return [202, view(r), replay];
  };
}

function mintHandler(o: GatewayOptions): Handler {
  let mintsOk = 0;
  let mintsTotal = 0;
  return async (req) => {
    const key = idempotencyKey(req, false);
    const { amount, recipient } = bodyOf(mintRequestSchema, parseJson(await readBody(req)));
    const wei = parseUnits(amount, 18);
    const mintId = key ? keccakId(`mint:${key}`) : undefined;
    if (key && mintId) {
      const bodyHash = bodyHashOf({ amount: wei.toString(), recipient });
      if (!o.queue.claimMint(key, mintId, bodyHash)) {
        const existing = o.queue.getMint(key);
        if (existing && existing.bodyHash !== bodyHash) {
          throw new HttpError(409, { error: "Idempotency-Key was used with a different request" });
        }
        if (existing?.response) return [existing.response.status, existing.response.body, REPLAYED];
        throw new HttpError(409, { error: "a request with this Idempotency-Key is in progress" });
      }
    }
    mintsTotal++;
    try {
      const result = await o.crosschain.mint(recipient, wei, mintId);
      mintsOk++;
      o.metrics.mints.inc({ chain: result.chain, outcome: "ok" });
      const out: MintResponse = {
        id: result.mintId,
        mint_id: result.mintId,
        status: "minted",
        chain: result.chain,
        tx_hash: result.txHash,
        block_number: result.blockNumber,
        amount,
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
}

function handlers(
  o: GatewayOptions,
  waiters: ReturnType<typeof settlementWaiters>,
): Record<RouteName, Handler> {
  return {
    health: async () => {
      const health = o.health();
      return [health.status === "down" ? 503 : 200, health];
    },
    metrics: async () => [200, await o.metrics.registry.metrics()],
    mint: mintHandler(o),
    redeem: redeemHandler(o, waiters),
    redemption: async (_req, id) => {
      const r = id === undefined ? undefined : o.queue.get(id);
      if (!r) throw new HttpError(404, { error: "no such redemption" });
      return [200, view(r)];
    },
    reports: async (req) => {
      const text = await readBody(req);
      const { report, deadline_ms } = bodyOf(reportRequestSchema, text.trim() === "" ? {} : parseJson(text));
      const filing = o.fileReport(`${report} requested through POST /reports`, deadline_ms);
      void filing.catch(() => undefined);
      return [202, { status: "filing", report } satisfies ReportAccepted];
    },
  };
}

/** Starts the gateway on 127.0.0.1:`port` (0 for a free port). */
export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const authorized = bearer(o.token);
  const waiters = settlementWaiters();
  const answer = handlers(o, waiters);
  const slow = o.delayMs ? () => sleep(o.delayMs ?? 0) : undefined;

  /** Answers one request; returns the route's template for the metrics. */
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const path = pathOf(req);
    const method = req.method ?? "GET";
    const match = matchRoute(path);
    if (!match) throw new HttpError(404, { error: `no route ${method} ${path.replace(/\/+$/, "") || "/"}` });
    const spec = ROUTES[match.name];
    if (spec.token && !authorized(req)) {
      req.resume();
      throw new HttpError(401, { error: "missing or wrong bearer token" });
    }
    if (method !== spec.method) {
      req.resume();
      throw new HttpError(405, { error: `${method} not allowed on ${spec.path}` });
    }
    const [status, body, headers] = await answer[match.name](req, match.id);
    if (match.name === "mint" || match.name === "redeem") await slow?.();
    send(res, status, body, headers ?? {});
    return spec.path;
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    // The route template, never the raw path: ids and keys stay out of metric labels.
    const matched = matchRoute(pathOf(req));
    let name: string = matched ? ROUTES[matched.name].path : "unmatched";
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
    settled: (r) => waiters.settled(r),
    close: () =>
      new Promise<void>((resolve) => {
        waiters.releaseAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
