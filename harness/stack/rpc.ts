/**
 * JSON-RPC over HTTP with a deadline per call, and a chain's providers in failover order
 * (primary -> secondary -> emergency). The collateral monitor decides when to switch; a
 * call that fails on the network tries the next provider at once.
 */
import type { RpcProvider } from "../contract/lab-file.ts";
import { bugError } from "../errors.ts";
import { send } from "../http.ts";
import { stallTolerantDeadline } from "./deadline.ts";

/** The node answered with a JSON-RPC error (a revert, a bad nonce): not a provider failure. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(method: string, error: { code?: number; message?: string; data?: unknown }) {
    super(`${method}: ${error.message ?? "error"}`);
    this.name = "RpcError";
    this.code = error.code ?? 0;
    this.data = error.data;
  }
}

/**
 * How a provider failed a call: `down` (refused, reset, a bad HTTP status), `timeout` (no
 * answer in time), `rate_limited` (HTTP 429, or JSON-RPC -32005 "limit exceeded"), `method`
 * (an error only a provider gives: `header not found`, -32603, a logs range over its limit),
 * `batch` (a batch refused whole for its size).
 */
export type ProviderFailure = "down" | "timeout" | "rate_limited" | "method" | "batch";

/** The provider failed a call: the same call may work on another provider. */
export class ProviderError extends Error {
  readonly provider: string;
  readonly kind: ProviderFailure;
  /** For `rate_limited`: how long the provider asked to be left alone, ms. */
  readonly retryAfterMs: number | undefined;
  constructor(provider: string, message: string, kind: ProviderFailure = "down", retryAfterMs?: number) {
    super(`${provider}: ${message}`);
    this.name = "ProviderError";
    this.provider = provider;
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Retry-After in ms (seconds or an HTTP date); 1 s when absent or unreadable. */
function retryAfterMs(header: string | null): number {
  if (header === null) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}

/**
 * A JSON-RPC error that is the provider's, not the node's verdict on the call (a revert, a
 * bad nonce): the same call may work elsewhere.
 */
export function providerFailureOf(error: { code?: number; message?: string }): ProviderFailure | undefined {
  const message = error.message ?? "";
  if (/limit exceeded|rate limit|too many requests|exceeded .*capacity/i.test(message) || error.code === 429)
    return "rate_limited";
  if (/batch (size|too large)/i.test(message)) return "batch";
  // A node's verdict on a transaction or a call, whatever its code.
  if (/nonce|revert|insufficient|underpriced|already|intrinsic gas/i.test(message)) return undefined;
  if (
    error.code === -32603 ||
    error.code === -32005 ||
    /header not found|missing trie node|query exceeds|block range|response size/i.test(message)
  )
    return "method";
  return undefined;
}

let nextId = 1;

/** One JSON-RPC reply object. */
interface Reply<T = unknown> {
  id?: number;
  result?: T;
  error?: { code?: number; message?: string; data?: unknown };
}

/** POSTs one JSON-RPC body within the provider's deadline; returns the parsed reply. */
async function post(url: string, body: string, timeoutMs: number, label: string): Promise<unknown> {
  const deadline = stallTolerantDeadline(timeoutMs);
  try {
    const response = await send(url, { method: "POST", body, signal: deadline.signal });
    if (!response.ok) {
      if (response.status === 429) {
        const retryAfter = response.headers["retry-after"];
        const wait = retryAfterMs(typeof retryAfter === "string" ? retryAfter : null);
        throw new ProviderError(label, `HTTP 429, retry after ${wait} ms`, "rate_limited", wait);
      }
      const kind = /batch (size|too large)/i.test(response.text) ? "batch" : "down";
      throw new ProviderError(label, `HTTP ${response.status}`, kind);
    }
    return JSON.parse(response.text);
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    if (deadline.signal.aborted) throw new ProviderError(label, `timeout after ${timeoutMs} ms`, "timeout");
    throw new ProviderError(label, (error as Error).message);
  } finally {
    deadline.clear();
  }
}

/** One JSON-RPC call; throws RpcError for a node error, ProviderError for anything else. */
export async function jsonRpc<T>(
  url: string,
  method: string,
  params: unknown[],
  timeoutMs: number,
  label = "provider",
): Promise<T> {
  const reply = (await post(
    url,
    JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
    timeoutMs,
    label,
  )) as Reply<T>;
  if (reply.error) {
    const kind = providerFailureOf(reply.error);
    if (kind)
      throw new ProviderError(
        label,
        `${method}: ${reply.error.message ?? "error"}`,
        kind,
        kind === "rate_limited" ? 1000 : undefined,
      );
    throw new RpcError(method, reply.error);
  }
  return reply.result as T;
}

/** One JSON-RPC batch: results in call order, each a value or an RpcError. */
export async function jsonRpcBatch(
  url: string,
  calls: readonly { method: string; params: unknown[] }[],
  timeoutMs: number,
  label = "provider",
): Promise<(unknown | RpcError)[]> {
  // An empty batch is an invalid request in JSON-RPC 2.0: nodes answer it with an error.
  if (calls.length === 0) return [];
  const first = nextId;
  nextId += calls.length;
  const reply = (await post(
    url,
    JSON.stringify(
      calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params })),
    ),
    timeoutMs,
    label,
  )) as Reply[] | Reply;
  if (!Array.isArray(reply)) {
    const why = reply.error?.message ?? "no error given";
    const kind = reply.error ? providerFailureOf(reply.error) : undefined;
    throw new ProviderError(
      label,
      `batch of ${calls.length} answered with a single reply: ${why}`,
      kind === "rate_limited" ? kind : "batch",
      kind === "rate_limited" ? 1000 : undefined,
    );
  }
  // Every call refused for rate: the provider's, not the calls'.
  const limited = reply.find((r) => r.error && providerFailureOf(r.error) === "rate_limited");
  if (limited) throw new ProviderError(label, `batch: ${limited.error!.message}`, "rate_limited", 1000);
  const byId = new Map(reply.map((r) => [r.id, r]));
  return calls.map((c, i) => {
    const reply = byId.get(first + i);
    if (!reply) return new RpcError(c.method, { message: "no reply in batch" });
    return reply.error ? new RpcError(c.method, reply.error) : reply.result;
  });
}

export interface Provider {
  name: RpcProvider;
  url: string;
}

/** How long a rate-limited provider is left alone at most, whatever it asks, ms. */
const MAX_BACKOFF_MS = 30_000;
/** How long a batch size a provider refused is remembered before the full size is tried again, ms. */
const BATCH_LIMIT_MEMORY_MS = 30_000;

/**
 * A chain's providers with one active; a call falls through to the next on a provider
 * failure. A rate-limited provider is skipped until its Retry-After has passed (unless every
 * provider is); a batch refused for its size is sent again in halves to the same provider,
 * and the size that worked is kept for a while.
 */
export class FailoverRpc {
  readonly providers: readonly Provider[];
  active = 0;
  timeoutMs: number;
  /** Called when a call failed on a provider (the active one, or any for rate limits and batches). */
  onProviderFailure: ((provider: Provider, error: ProviderError, method: string) => void) | undefined;
  /** Wall-clock ms until which each provider is left alone (rate limits). */
  readonly backoffUntil: number[];
  /** The batch size each provider last answered after refusing a larger one, and until when it holds. */
  readonly #batchLimit: ({ size: number; untilMs: number } | undefined)[];

  constructor(providers: readonly Provider[], timeoutMs = 1000) {
    if (providers.length === 0) throw bugError("FailoverRpc: no providers");
    this.providers = providers;
    this.timeoutMs = timeoutMs;
    this.backoffUntil = providers.map(() => 0);
    this.#batchLimit = providers.map(() => undefined);
  }

  get activeProvider(): Provider {
    return this.providers[this.active]!;
  }

  /** Provider indexes in the order a call tries them: from the active one, backed-off ones last. */
  #order(): number[] {
    const n = this.providers.length;
    const all = Array.from({ length: n }, (_, i) => (this.active + i) % n);
    const now = Date.now();
    return [
      ...all.filter((i) => this.backoffUntil[i]! <= now),
      ...all.filter((i) => this.backoffUntil[i]! > now),
    ];
  }

  #failed(index: number, error: ProviderError, method: string, first: boolean): void {
    if (error.kind === "rate_limited")
      this.backoffUntil[index] =
        Date.now() + Math.min(MAX_BACKOFF_MS, Math.max(250, error.retryAfterMs ?? 1000));
    if (first || error.kind === "rate_limited")
      this.onProviderFailure?.(this.providers[index]!, error, method);
  }

  /** Calls the active provider, then each other in order while the failure is the provider's. */
  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    let last: unknown;
    for (const [i, index] of this.#order().entries()) {
      const provider = this.providers[index]!;
      try {
        return await jsonRpc<T>(provider.url, method, params, this.timeoutMs, provider.name);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        last = error;
        this.#failed(index, error, method, i === 0);
      }
    }
    throw last;
  }

  /**
   * A batch through the active provider, then the others while the failure is the provider's.
   * With `whole`, an error of one call that is the provider's (a `header not found`, a -32603)
   * also sends the whole batch on to the next provider, as `call` does with a single call.
   */
  async batch(
    calls: readonly { method: string; params: unknown[] }[],
    timeoutMs = this.timeoutMs * 4,
    whole = false,
  ): Promise<(unknown | RpcError)[]> {
    let last: unknown;
    for (const [i, index] of this.#order().entries()) {
      // The method a failure is reported for: the batch's first, or the call that failed.
      let method = calls[0]?.method ?? "batch";
      try {
        const results = await this.batchOn(index, calls, timeoutMs);
        const failed = whole ? results.findIndex((r) => r instanceof RpcError && providerFailureOf(r)) : -1;
        if (failed >= 0) {
          const error = results[failed] as RpcError;
          const kind = providerFailureOf(error)!;
          method = calls[failed]!.method;
          throw new ProviderError(
            this.providers[index]!.name,
            error.message,
            kind,
            kind === "rate_limited" ? 1000 : undefined,
          );
        }
        return results;
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        last = error;
        this.#failed(index, error, method, i === 0);
      }
    }
    throw last;
  }

  /** A batch to one provider directly, in pieces it accepts. */
  async batchOn(
    index: number,
    calls: readonly { method: string; params: unknown[] }[],
    timeoutMs = this.timeoutMs * 4,
  ): Promise<(unknown | RpcError)[]> {
    const provider = this.providers[index]!;
    const results: (unknown | RpcError)[] = [];
    let from = 0;
    while (from < calls.length) {
      const known = this.#batchLimit[index];
      const size = known && known.untilMs > Date.now() ? known.size : calls.length;
      const piece = calls.slice(from, from + size);
      try {
        results.push(...(await jsonRpcBatch(provider.url, piece, timeoutMs, provider.name)));
        from += piece.length;
      } catch (error) {
        if (!(error instanceof ProviderError) || error.kind !== "batch" || piece.length <= 1) throw error;
        // Refused for its size: half of it from now on, and the refusal reported.
        this.#batchLimit[index] = {
          size: Math.ceil(piece.length / 2),
          untilMs: Date.now() + BATCH_LIMIT_MEMORY_MS,
        };
        this.onProviderFailure?.(provider, error, piece[0]?.method ?? "batch");
      }
    }
    return results;
  }

  /** Calls one provider directly (health checks). */
  callOn<T>(index: number, method: string, params: unknown[] = [], timeoutMs = this.timeoutMs): Promise<T> {
    const provider = this.providers[index]!;
    return jsonRpc<T>(provider.url, method, params, timeoutMs, provider.name);
  }
}
