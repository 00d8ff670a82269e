/**
 * The lab's JSON-RPC layers, one per provider of each chain, and the nodes of the diverged
 * forks some of them serve; the control API's `/rpc` routes drive them.
 */
import { createHash } from "node:crypto";
import { labError } from "../errors.ts";
import { type Chain, rpcCall, startAnvil } from "./anvil.ts";
import type { Routes } from "./http.ts";
import { KNOWN_METHODS, type RpcLayer, type RpcRule, startRpcLayer } from "./rpc-layer.ts";

export interface RpcLayers {
  /** Layers by proxy name (`<chain>-<provider>`). */
  layers: Map<string, RpcLayer>;
  routes: Routes;
  close(): Promise<void>;
}

interface ChainNode {
  name: string;
  url: string;
  chainId: number;
  blockTimeMs: number;
}

const isCount = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0;
const isShare = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;

/** What is wrong with a rule sent to the control API, or nothing. */
export function ruleProblem(rule: unknown): string | undefined {
  const r = (rule ?? {}) as Record<string, unknown>;
  if (typeof r["id"] !== "string" || r["id"] === "") return "a rule needs an id";
  switch (r["kind"]) {
    case "lag":
      return isCount(r["blocks"]) || isCount(r["seconds"]) ? undefined : "lag needs blocks or seconds";
    case "rate_limit":
      if (r["share"] === undefined && r["perSecond"] === undefined)
        return "rate_limit needs share or perSecond";
      if (r["share"] !== undefined && !isShare(r["share"])) return "share must be within 0..1";
      if (r["perSecond"] !== undefined && !isCount(r["perSecond"])) return "perSecond must be a count";
      if (r["answer"] !== "http_429" && r["answer"] !== "rpc_error")
        return "answer must be http_429 or rpc_error";
      return isCount(r["retryAfterSeconds"]) && isCount(r["seed"])
        ? undefined
        : "retryAfterSeconds and seed needed";
    case "method_errors": {
      const methods = r["methods"];
      if (!Array.isArray(methods) || methods.length === 0) return "method_errors needs methods";
      const unknown = methods.find((m) => !(KNOWN_METHODS as readonly unknown[]).includes(m));
      if (unknown !== undefined) return `unknown method ${String(unknown)}`;
      return ["logs_range", "header_not_found", "internal", "timeout"].includes(String(r["error"]))
        ? undefined
        : "error must be logs_range, header_not_found, internal or timeout";
    }
    case "batch_limit":
      return isCount(r["maxBatch"]) && (r["answer"] === "rpc_error" || r["answer"] === "http_400")
        ? undefined
        : "batch_limit needs maxBatch and answer rpc_error or http_400";
    default:
      return `unknown kind ${String(r["kind"])}`;
  }
}

/**
 * The lowest block from `wanted` up whose state the node still has: a node that loaded its
 * state from a snapshot (the lab's cached deployments) has none below the snapshot's block.
 */
async function firstWithState(url: string, wanted: number, head: number): Promise<number> {
  const has = (n: number) =>
    rpcCall(url, "eth_getBalance", [
      "0x0000000000000000000000000000000000000000",
      `0x${n.toString(16)}`,
    ]).then(
      () => true,
      () => false,
    );
  if (await has(wanted)) return wanted;
  let lo = wanted;
  let hi = head;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await has(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Starts a layer in front of each chain's node for each provider. Forks are started on
 * request (`POST /rpc/:proxy/fork`) and stopped with the rule that uses them, or at close.
 */
export async function startRpcLayers(
  chains: readonly ChainNode[],
  providers: readonly string[],
  forkOptions: { pidDir: string; cacheParent: string },
): Promise<RpcLayers> {
  const layers = new Map<string, RpcLayer>();
  const chainOf = new Map<string, ChainNode>();
  const forks = new Map<string, Chain>();
  const closeAll = async () => {
    await Promise.all([...forks.values()].map((f) => f.process.stop()));
    forks.clear();
    await Promise.all([...layers.values()].map((l) => l.close()));
  };
  try {
    for (const chain of chains) {
      for (const provider of providers) {
        const name = `${chain.name}-${provider}`;
        layers.set(name, await startRpcLayer(name, chain.url));
        chainOf.set(name, chain);
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const layerOf = (proxy: string | undefined) => (proxy === undefined ? undefined : layers.get(proxy));
  const noLayer = (proxy: string | undefined) => ({
    status: 404,
    body: { error: `no JSON-RPC layer ${proxy}` },
  });

  const startFork = async (proxy: string, id: string, depth: number) => {
    const chain = chainOf.get(proxy)!;
    const head = Number(await rpcCall<string>(chain.url, "eth_blockNumber"));
    if (depth > head) throw labError(`fork of ${chain.name}`, `depth ${depth} is beyond the head (${head})`);
    const block = await firstWithState(chain.url, head - depth, head);
    const node = await startAnvil({
      name: `${chain.name}-fork-${id}`,
      chainId: chain.chainId,
      blockTimeMs: chain.blockTimeMs,
      fork: { url: chain.url, block },
      ...forkOptions,
    });
    forks.set(`${proxy} ${id}`, node);
    // A beneficiary of its own, so that no two forks (nor the chain) mine the same empty block.
    const coinbase = `0x${createHash("sha256").update(`${proxy} ${id}`).digest("hex").slice(0, 40)}`;
    await rpcCall(node.url, "anvil_setCoinbase", [coinbase]);
    // As long as the chain it left: its own blocks up to the same height, then one per block time.
    if (head > block) await rpcCall(node.url, "anvil_mine", [`0x${(head - block).toString(16)}`]);
    return { url: node.url, block };
  };
  const stopFork = async (proxy: string, id: string) => {
    const node = forks.get(`${proxy} ${id}`);
    forks.delete(`${proxy} ${id}`);
    await node?.process.stop();
  };

  const routes: Routes = {
    "GET /rpc/:proxy": ({ params }) => {
      const layer = layerOf(params["proxy"]);
      return layer ? { status: 200, body: { rules: layer.rules() } } : noLayer(params["proxy"]);
    },
    "POST /rpc/:proxy/rules": ({ params, body }) => {
      const layer = layerOf(params["proxy"]);
      if (!layer) return noLayer(params["proxy"]);
      const problem = ruleProblem(body);
      if (problem) return { status: 400, body: { error: problem } };
      layer.add(body as RpcRule);
      return { status: 200, body: { rules: layer.rules() } };
    },
    "POST /rpc/:proxy/fork": async ({ params, body }) => {
      const proxy = params["proxy"]!;
      const layer = layerOf(proxy);
      if (!layer) return noLayer(proxy);
      const { id, depth } = (body ?? {}) as { id?: unknown; depth?: unknown };
      if (typeof id !== "string" || !/^[a-z0-9_-]{1,40}$/.test(id) || !isCount(depth))
        return { status: 400, body: { error: "expected {id: [a-z0-9_-]+, depth: a count of blocks}" } };
      try {
        await stopFork(proxy, id);
        const fork = await startFork(proxy, id, depth as number);
        layer.add({ id, kind: "upstream", url: fork.url, label: `fork at block ${fork.block}` });
        return { status: 200, body: { ...fork, rules: layer.rules() } };
      } catch (error) {
        await stopFork(proxy, id);
        const details = (error as { details?: readonly string[] }).details ?? [];
        return { status: 409, body: { error: [(error as Error).message, ...details.slice(-3)].join(" | ") } };
      }
    },
    "DELETE /rpc/:proxy/rules/:id": async ({ params }) => {
      const layer = layerOf(params["proxy"]);
      if (!layer) return noLayer(params["proxy"]);
      const removed = layer.remove(params["id"]!);
      await stopFork(params["proxy"]!, params["id"]!);
      return { status: 200, body: { removed, rules: layer.rules() } };
    },
  };
  return { layers, routes, close: closeAll };
}
