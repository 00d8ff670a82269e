/**
 * JSON-RPC over HTTP with a deadline per call, and a chain's providers in failover order
 * (primary -> secondary -> emergency). The collateral monitor decides when to switch; a
 * call that fails on the network tries the next provider at once.
 */
import type { RpcProvider } from "../contract/lab-file.ts";
import { bugError } from "../errors.ts";
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

/** The provider did not answer (refused, reset, timeout, bad HTTP status). */
export class ProviderError extends Error {
  readonly provider: string;
  constructor(provider: string, message: string) {
    super(`${provider}: ${message}`);
    this.name = "ProviderError";
    this.provider = provider;
  }
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
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: deadline.signal,
    });
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      throw new ProviderError(label, `HTTP ${response.status}`);
    }
    return await response.json();
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    const e = error as Error;
    throw new ProviderError(label, e.name === "TimeoutError" ? `timeout after ${timeoutMs} ms` : e.message);
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
  if (reply.error) throw new RpcError(method, reply.error);
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
    throw new ProviderError(label, `batch of ${calls.length} answered with a single reply: ${why}`);
  }
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

/** A chain's providers with one active; `call` falls through to the next on a provider failure. */
export class FailoverRpc {
  readonly providers: readonly Provider[];
  active = 0;
  timeoutMs: number;
  /** Called when a call had to leave the active provider. */
  onProviderFailure: ((provider: Provider, error: ProviderError) => void) | undefined;

  constructor(providers: readonly Provider[], timeoutMs = 1000) {
    if (providers.length === 0) throw bugError("FailoverRpc: no providers");
    this.providers = providers;
    this.timeoutMs = timeoutMs;
  }

  get activeProvider(): Provider {
    return this.providers[this.active]!;
  }

  /** Calls the active provider, then each other in order while the failure is the provider's. */
  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    let last: unknown;
    const start = this.active;
    for (let i = 0; i < this.providers.length; i++) {
      const index = (start + i) % this.providers.length;
      const provider = this.providers[index]!;
      try {
        return await jsonRpc<T>(provider.url, method, params, this.timeoutMs, provider.name);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        last = error;
        if (i === 0) this.onProviderFailure?.(provider, error);
      }
    }
    throw last;
  }

  /** A batch through the active provider, then the others while the failure is the provider's. */
  async batch(
    calls: readonly { method: string; params: unknown[] }[],
    timeoutMs = this.timeoutMs * 4,
  ): Promise<(unknown | RpcError)[]> {
    let last: unknown;
    const start = this.active;
    for (let i = 0; i < this.providers.length; i++) {
      const provider = this.providers[(start + i) % this.providers.length]!;
      try {
        return await jsonRpcBatch(provider.url, calls, timeoutMs, provider.name);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        last = error;
        if (i === 0) this.onProviderFailure?.(provider, error);
      }
    }
    throw last;
  }

  /** A batch to one provider directly. */
  batchOn(
    index: number,
    calls: readonly { method: string; params: unknown[] }[],
    timeoutMs = this.timeoutMs * 4,
  ): Promise<(unknown | RpcError)[]> {
    const provider = this.providers[index]!;
    return jsonRpcBatch(provider.url, calls, timeoutMs, provider.name);
  }

  /** Calls one provider directly (health checks). */
  callOn<T>(index: number, method: string, params: unknown[] = [], timeoutMs = this.timeoutMs): Promise<T> {
    const provider = this.providers[index]!;
    return jsonRpc<T>(provider.url, method, params, timeoutMs, provider.name);
  }
}
