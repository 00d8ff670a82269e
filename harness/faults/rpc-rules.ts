/**
 * What the JSON-RPC faults share: rules on a provider's JSON-RPC layer (set and removed
 * through the lab's control API), forks it serves, and requests sent the way the system
 * under test sends them (through the provider's proxy, on a fresh connection), so that a
 * proof shows what a monitor would see next to what the node itself says.
 */
import { labError } from "../errors.ts";
import { poll } from "../process.ts";
import type { FaultContext } from "./context.ts";
import { probe } from "./network.ts";

/** A rule as the layer takes it (harness/lab/rpc-layer.ts), without its id. */
export type RuleBody = Record<string, unknown> & { kind: string };

/**
 * How long a proof may keep probing before it concludes, ms: a busy machine may answer a
 * first probe late, and one late answer is not the fault failing to take (or to heal).
 */
export const PROOF_MS = 10_000;

/** Reads again until `shows` holds of a reading, for at most PROOF_MS; the last reading. */
export async function untilShown<T>(read: () => Promise<T>, shows: (reading: T) => boolean): Promise<T> {
  let last = await read();
  if (!shows(last))
    await poll(
      async () => {
        last = await read();
        return shows(last) ? true : undefined;
      },
      PROOF_MS,
      200,
    );
  return last;
}

/** The id of a fault's rule: one per fault type on a provider (faults of one type never overlap there). */
export const ruleId = (type: string) => `firedrill_${type}`;

export function providerUrl(ctx: FaultContext, chain: string, provider: string): string {
  const url = ctx.lab.chains[chain]?.rpc[provider as "primary"];
  if (url === undefined) throw labError("lab", `no provider ${provider} on chain ${chain}`);
  return url;
}

/** Adds a rule to the provider's layer; a rule a crashed run left under the same id is replaced. */
export async function addRule(ctx: FaultContext, proxy: string, id: string, rule: RuleBody): Promise<void> {
  await ctx.control(`/rpc/${proxy}/rules`, { ...rule, id });
}

/** Removes a rule (and the fork node it used); idempotent. */
export async function removeRule(ctx: FaultContext, proxy: string, id: string): Promise<void> {
  const response = await fetch(`${ctx.lab.control}/rpc/${proxy}/rules/${id}`, {
    method: "DELETE",
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok)
    throw labError("lab control", `DELETE /rpc/${proxy}/rules/${id}: HTTP ${response.status}`);
}

/** Puts the provider on a fork of its chain from `depth` blocks back; returns the fork's node and block. */
export async function forkProvider(
  ctx: FaultContext,
  proxy: string,
  id: string,
  depth: number,
): Promise<{ url: string; block: number }> {
  return ctx.control(`/rpc/${proxy}/fork`, { id, depth });
}

export interface RpcAnswer {
  /** HTTP status; 0 when no answer came. */
  status: number;
  retryAfter?: string | undefined;
  /** The JSON-RPC reply (or replies, for a batch). */
  body?: unknown;
  /** Why no answer came: TIMEOUT, ECONNRESET... */
  error?: string;
  ms: number;
}

/** POSTs a JSON-RPC body on a new connection (a network fault's probe); never throws. */
export async function rpcPost(url: string, body: unknown, timeoutMs = 3_000): Promise<RpcAnswer> {
  const answer = await probe({ url, path: "/", method: "POST", body: JSON.stringify(body) }, timeoutMs);
  if (!answer.ok) return { status: 0, error: answer.error ?? "ERROR", ms: answer.ms };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body ?? "");
  } catch {
    parsed = undefined;
  }
  return { status: answer.status ?? 0, retryAfter: answer.retryAfter, body: parsed, ms: answer.ms };
}

export const call = (method: string, params: unknown[] = [], id = 1) => ({
  jsonrpc: "2.0",
  id,
  method,
  params,
});

interface Block {
  number: string;
  hash: string;
  timestamp: string;
}

/** A block through the provider, or undefined when it gave none. */
export async function providerBlock(url: string, tag: string | number): Promise<Block | undefined> {
  const t = typeof tag === "number" ? `0x${tag.toString(16)}` : tag;
  const answer = await rpcPost(url, call("eth_getBlockByNumber", [t, false]));
  return (answer.body as { result?: Block | null } | undefined)?.result ?? undefined;
}

/** A block straight from the chain's node. */
export async function nodeBlock(ctx: FaultContext, chain: string, tag: string | number): Promise<Block> {
  const t = typeof tag === "number" ? `0x${tag.toString(16)}` : tag;
  return ctx.rpc<Block>(chain, "eth_getBlockByNumber", [t, false]);
}

/** Hex to number. */
export const num = (hex: string) => Number.parseInt(hex, 16);
