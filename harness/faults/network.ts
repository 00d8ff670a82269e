/**
 * What the network faults share: degrading one Toxiproxy proxy of the lab (disabled, a
 * `timeout` toxic, a `latency` toxic) and probing it the way the system under test would
 * reach it, on a fresh connection each time so that no pooled socket hides the fault.
 */
import { request } from "node:http";
import { z } from "zod";
import { positiveDuration } from "../duration.ts";
import { labError } from "../errors.ts";
import type { Pair, SourceName } from "../names.ts";
import { ToxiproxyClient } from "../proxy/client.ts";
import { healOnce } from "./common.ts";
import type { FaultContext, FaultProof, Injected } from "./context.ts";
import { proof } from "./context.ts";

/** How a proxy degrades: connections refused, held with no answer, or answered late. */
export type Degrade =
  | { mode: "refuse" }
  | { mode: "timeout" }
  | { mode: "slow"; latencyMs: number; jitterMs?: number | undefined };

/** One request through a proxy, as the system under test would send it. */
export interface ProbeRequest {
  /** `http://host:port` of the proxy. */
  url: string;
  path: string;
  method?: "GET" | "POST";
  body?: string;
}

export interface ProbeResult {
  /** True when an HTTP answer came. */
  ok: boolean;
  status?: number;
  /** The answer's body, when one came. */
  body?: string;
  /** Its `Retry-After` header, when it has one. */
  retryAfter?: string;
  /** Error code when no answer came: ECONNREFUSED, ECONNRESET, TIMEOUT, ... */
  error?: string;
  /** Time to the answer (or the failure), ms. */
  ms: number;
}

/** The name every toxic a fault adds carries, so that a heal removes exactly its own. */
export const TOXIC_PREFIX = "firedrill_";

/** Sends one request on a new connection; never throws. */
export function probe(target: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<ProbeResult, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...result, ms: Math.round((performance.now() - started) * 10) / 10 });
    };
    const url = new URL(target.path, target.url);
    const req = request(url, {
      method: target.method ?? "GET",
      agent: false,
      headers: target.body === undefined ? {} : { "content-type": "application/json" },
    });
    const timer = setTimeout(() => finish({ ok: false, error: "TIMEOUT" }), timeoutMs);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const retry = res.headers["retry-after"];
        finish({
          ok: true,
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          ...(typeof retry === "string" ? { retryAfter: retry } : {}),
        });
      });
      res.on("error", (error: NodeJS.ErrnoException) => finish({ ok: false, error: error.code ?? "ERROR" }));
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      finish({ ok: false, error: error.code ?? error.message }),
    );
    req.end(target.body);
  });
}

/** A JSON-RPC `eth_blockNumber` through a provider proxy. */
export function rpcProbe(url: string): ProbeRequest {
  return {
    url,
    path: "/",
    method: "POST",
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
  };
}

/** The lab's Toxiproxy, through the project's client. */
export function toxiproxy(ctx: FaultContext): ToxiproxyClient {
  return new ToxiproxyClient(ctx.lab.toxiproxy.url);
}

/** Applies `how` to the proxy `name`; returns the undo, which is idempotent. */
export async function degradeProxy(
  ctx: FaultContext,
  name: string,
  how: Degrade,
): Promise<() => Promise<void>> {
  const client = toxiproxy(ctx);
  if (how.mode === "refuse") {
    await client.setEnabled(name, false);
    return async () => {
      await client.setEnabled(name, true);
    };
  }
  const spec =
    how.mode === "timeout"
      ? // timeout 0 on the way up: the request never reaches the server, the connection is
        // held and no answer comes. (On the way down, a server that closes after answering
        // would turn it into a reset.)
        {
          name: `${TOXIC_PREFIX}timeout`,
          type: "timeout" as const,
          stream: "upstream" as const,
          attributes: { timeout: 0 },
        }
      : {
          name: `${TOXIC_PREFIX}latency`,
          type: "latency" as const,
          stream: "downstream" as const,
          attributes: { latency: Math.round(how.latencyMs), jitter: Math.round(how.jitterMs ?? 0) },
        };
  // A toxic left by a crashed run would make the add fail with 409: replace it.
  await client.removeToxic(name, spec.name, { ifPresent: true });
  return client.injectToxic(name, spec);
}

/**
 * The `mode` and `latency` parameters of a fault that degrades one endpoint in any of the
 * three ways; `latency` is checked against `mode` by `latencyProblems`.
 */
export function degradeParams(modes: string, latency: string) {
  return {
    mode: z.enum(["refuse", "timeout", "slow"]).default("refuse").describe(modes),
    latency: positiveDuration.optional().describe(latency),
  };
}

/** A `refuse | timeout | slow` fault in a few words: `refused`, `hanging`, `delayed by 2 s`. */
export function degradeText(
  p: { mode: "refuse" | "timeout" | "slow"; latency?: number | undefined },
  words: { refuse: string; timeout: string; slow: string },
  duration: (ms: number) => string,
): string {
  return p.mode === "slow" ? `${words.slow} ${duration(p.latency ?? 0)}` : words[p.mode];
}

/** The rule of every fault with a `slow` mode: `latency` goes with `slow` and only with it. */
export function latencyProblems(mode: string, latency: number | undefined, modeKey: string) {
  if (mode === "slow" && latency === undefined) {
    return [{ path: ["latency"], message: `is required when ${modeKey} is slow` }];
  }
  if (mode !== "slow" && latency !== undefined) {
    return [{ path: ["latency"], message: `only applies when ${modeKey} is slow, not ${mode}` }];
  }
  return [];
}

/** A fault's `mode` (and `latency`) as a proxy degradation. */
export function degradeOf(mode: "refuse" | "timeout" | "slow", latencyMs: number | undefined): Degrade {
  return mode === "slow" ? { mode, latencyMs: latencyMs ?? 0 } : { mode };
}

/** How long a probe waits before calling the endpoint unresponsive, ms. */
export const PROBE_TIMEOUT_MS = 750;

/**
 * Proves that `how` acts on the proxy: a refused proxy refuses, a held one answers
 * nothing within the probe timeout, a slow one answers no sooner than latency - jitter.
 */
export async function proveDegraded(
  target: ProbeRequest,
  how: Degrade,
  what: string,
  baseline?: ProbeResult,
): Promise<FaultProof> {
  if (how.mode === "slow") {
    const floor = how.latencyMs - (how.jitterMs ?? 0);
    const result = await probe(target, how.latencyMs + (how.jitterMs ?? 0) + 5_000);
    const tookEffect = result.ok && result.ms >= floor * 0.95;
    return proof(
      tookEffect,
      `${what} answered in ${result.ms} ms (added latency ${how.latencyMs} ms${how.jitterMs ? ` ± ${how.jitterMs} ms` : ""}${baseline ? `, ${baseline.ms} ms before` : ""})`,
      { probe: result, floorMs: floor, ...(baseline ? { baseline } : {}) },
    );
  }
  const result = await probe(target, PROBE_TIMEOUT_MS);
  const tookEffect =
    how.mode === "refuse"
      ? !result.ok && result.error !== "TIMEOUT"
      : !result.ok && result.error === "TIMEOUT";
  const seen = result.ok
    ? `answered HTTP ${result.status}`
    : result.error === "TIMEOUT"
      ? `no answer in ${PROBE_TIMEOUT_MS} ms`
      : `connection failed (${result.error})`;
  return proof(tookEffect, `${what}: ${seen}`, { probe: result, mode: how.mode });
}

/** Whether a proxy is enabled, and the toxics the faults left on it. */
export async function proxyState(
  ctx: FaultContext,
  name: string,
): Promise<{ enabled: boolean; toxics: string[] }> {
  const info = await toxiproxy(ctx).proxy(name);
  return {
    enabled: info.enabled,
    toxics: info.toxics.map((t) => t.name).filter((t) => t.startsWith(TOXIC_PREFIX)),
  };
}

/**
 * Proves a heal: the proxy is enabled with none of the faults' toxics, and answers promptly.
 * `fastMs`, when given, is the answer time it must beat (a latency fault's heal).
 */
export async function proveAnswering(
  ctx: FaultContext,
  name: string,
  target: ProbeRequest,
  what: string,
  fastMs?: number,
): Promise<FaultProof> {
  const state = await proxyState(ctx, name);
  const result = await probe(target, 2_000);
  const answered = result.ok && (result.status ?? 0) < 500 && (fastMs === undefined || result.ms < fastMs);
  const tookEffect = answered && state.enabled && state.toxics.length === 0;
  const summary = tookEffect
    ? `${what} answers again: HTTP ${result.status} in ${result.ms} ms`
    : `${what} not healed: ${result.ok ? `HTTP ${result.status} in ${result.ms} ms` : result.error}, proxy ${state.enabled ? "enabled" : "disabled"}, toxics [${state.toxics.join(", ")}]`;
  return proof(tookEffect, summary, { probe: result, proxy: { name, ...state } });
}

/**
 * Degrades the proxy `name` and proves it on `target`; the heal undoes it and proves the
 * endpoint answers again. What a fault on one HTTP endpoint behind one proxy amounts to.
 */
export async function degradeAndProve(
  ctx: FaultContext,
  name: string,
  target: ProbeRequest,
  how: Degrade,
  what: string,
): Promise<Injected> {
  const undo = await degradeProxy(ctx, name, how);
  return {
    proof: await proveDegraded(target, how, what),
    heal: healOnce(async () => {
      await undo();
      return proveAnswering(ctx, name, target, what);
    }),
  };
}

/** The listen URL of a proxy, from lab.json. */
export function proxyUrl(ctx: FaultContext, name: string): string {
  const entry = ctx.lab.proxies.find((p) => p.name === name);
  if (!entry) throw labError("toxiproxy", `the lab has no proxy named ${name}`);
  return `http://${entry.listen}`;
}

/** What the lab's control API reports: market prices, shocks, source modes, the keeper's feeds. */
export interface LabState {
  prices: Record<Pair, number>;
  shocked: Pair[];
  sources: Record<string, { kind: string; offset?: number; since?: number }>;
  keeper: { chain: string; pair: Pair; paused: boolean; lastPushAt?: string; rounds: number }[];
}

/** `GET /state` of the lab's control API. */
export async function labState(ctx: FaultContext): Promise<LabState> {
  const response = await fetch(`${ctx.lab.control}/state`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw labError("lab control", `GET /state: HTTP ${response.status}`);
  return (await response.json()) as LabState;
}

/** A price source's quote for `pair`, read through its proxy as the stack reads it. */
export async function sourceQuote(
  ctx: FaultContext,
  source: SourceName,
  pair: Pair,
): Promise<{ price: number; updatedAt: string }> {
  const url = `${ctx.lab.oracles.sources[source]}/price/${pair.replace("/", "-")}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw labError(`oracle ${source}`, `GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as { price: number; updatedAt: string };
}
