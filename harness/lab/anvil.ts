/**
 * One anvil process per chain, from the npm package `@foundry-rs/anvil`. Chains mine in
 * "mixed" mode: a transaction is mined on arrival and the head also advances on the
 * chain's block interval, so monitors see a live chain and a halted one differs.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { JsonRpcProvider, Network } from "ethers";
import { labError } from "../errors.ts";
import { send } from "../http.ts";
import { type OwnedProcess, startProcess } from "../process.ts";

const require = createRequire(import.meta.url);

/** Path of the anvil binary shipped for this platform. */
export function anvilBinary(): string {
  const platform = `${process.platform === "win32" ? "win32" : process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  try {
    return join(dirname(require.resolve(`@foundry-rs/anvil-${platform}/package.json`)), "bin", "anvil");
  } catch {
    throw labError(
      "anvil",
      `no anvil binary for ${platform}: run \`npm ci\` (package @foundry-rs/anvil-${platform})`,
    );
  }
}

/** The deepest reorg a scenario may ask for (`reorg.depth`). */
export const MAX_REORG_DEPTH = 256;

/**
 * States of past blocks each node keeps, all in memory: enough for the deepest reorg plus
 * the blocks mined while the reorg fault reads the chain. Without a bound anvil writes
 * every state that leaves its in-memory window to ~/.foundry/anvil/tmp, one file per
 * block that grows with the chain, and leaves them there when it is stopped: 0.9 GB after
 * 6000 vault mints, tens of GB after a day of drills.
 */
export const KEPT_STATES = MAX_REORG_DEPTH + 44;

export interface AnvilOptions {
  name: string;
  chainId: number;
  /** @default 0 (a free port) */
  port?: number;
  blockTimeMs: number;
  fork?: { url: string; block?: number | undefined } | undefined;
  pidDir?: string;
  /** Where the node's cache folder goes (removed once the node has exited). @default os.tmpdir() */
  cacheParent?: string;
}

export interface Chain {
  name: string;
  chainId: number;
  url: string;
  port: number;
  process: OwnedProcess;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
}

let rpcId = 0;

/** A JSON-RPC call to `url`; throws with the node's own error message. */
export async function rpcCall<T>(
  url: string,
  method: string,
  params: unknown[] = [],
  timeoutMs = 10_000,
): Promise<T> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params });
  const answer = await send(url, { method: "POST", body, signal: AbortSignal.timeout(timeoutMs) });
  const reply = JSON.parse(answer.text) as { result?: T; error?: { message: string } };
  if (reply.error) throw labError(method, reply.error.message);
  return reply.result as T;
}

/** Starts anvil for one chain and returns once it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions): Promise<Chain> {
  const parent = options.cacheParent ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const cache = mkdtempSync(join(parent, `firedrill-anvil-${options.name}-`));
  const removeCache = () => rmSync(cache, { recursive: true, force: true });
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--chain-id",
    String(options.chainId),
    "--block-time",
    String(options.blockTimeMs / 1000),
    "--mixed-mining",
    "--accounts",
    "10",
    "--prune-history",
    String(KEPT_STATES),
    // anvil makes a folder of its own here at every start (empty with --prune-history) and
    // leaves it there; by default under ~/.foundry/anvil/tmp. This one is removed once the
    // node has exited, or by the lab's sweep when a killed run could not.
    "--cache-path",
    cache,
  ];
  if (options.fork) {
    args.push("--fork-url", options.fork.url);
    if (options.fork.block !== undefined) args.push("--fork-block-number", String(options.fork.block));
  }
  let process: OwnedProcess;
  try {
    process = await startProcess({
      name: `anvil-${options.name}`,
      command: anvilBinary(),
      args,
      ready: /Listening on 127\.0\.0\.1:(\d+)/,
      readyTimeoutMs: options.fork ? 60_000 : 15_000,
      ...(options.pidDir ? { pidDir: options.pidDir } : {}),
    });
  } catch (error) {
    removeCache();
    throw error;
  }
  void process.exited.then(removeCache);
  const port = Number(process.readyMatch?.[1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    name: options.name,
    chainId: options.chainId,
    url,
    port,
    process,
    rpc: (method, params) => rpcCall(url, method, params),
  };
}

/**
 * An ethers provider for a lab chain. The network is built by hand: ethers' own network
 * for chain id 137 fetches fees from Polygon's public gas station, which a lab must never
 * call (and which this machine cannot reach).
 */
export function labProvider(url: string, chainId: number): JsonRpcProvider {
  return new JsonRpcProvider(url, new Network(`lab-${chainId}`, chainId), {
    staticNetwork: true,
    batchMaxCount: 1,
    pollingInterval: 250,
  });
}
