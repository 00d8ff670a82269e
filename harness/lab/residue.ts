/**
 * What a fault could leave behind in a lab, looked for everywhere: a toxic or a disabled
 * proxy, a market shock, a source not live, a paused feed, a chain not mining, a base fee
 * still high. An empty list means the lab is as clean as it started.
 */
import { labError } from "../errors.ts";
import { isAlive, sleep } from "../process.ts";
import { rpcCall } from "./anvil.ts";
import type { LabInfo } from "./index.ts";

/** The name the runner gives its alert-path proxy: `alerts-<pid>-<ms>`, the pid its owner's. */
export const ALERT_PATH_PROXY = /^alerts-(\d+)-\d+$/;

/** A new alert-path proxy's name for the run in this process. */
export function alertPathProxyName(): string {
  return `alerts-${process.pid}-${Date.now()}`;
}

/** Base fee above which a chain counts as still spiked, in gwei (lab chains idle well under 1). */
const SPIKED_GWEI = 100;

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw labError(url, `HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Every leftover fault in the lab, one line each. */
export async function findResidue(info: LabInfo): Promise<string[]> {
  const found: string[] = [];
  const proxies = await getJson<Record<string, { enabled: boolean; toxics: { name: string }[] }>>(
    `${info.toxiproxy.url}/proxies`,
  );
  for (const [name, proxy] of Object.entries(proxies)) {
    // A run's proxy in front of its alert receiver goes with the run: one whose run is
    // gone was left behind.
    const owner = ALERT_PATH_PROXY.exec(name)?.[1];
    if (owner !== undefined && !isAlive(Number(owner)))
      found.push(`proxy ${name} outlived its run (pid ${owner})`);
    if (!proxy.enabled) found.push(`proxy ${name} is disabled`);
    for (const toxic of proxy.toxics) found.push(`proxy ${name} has toxic ${toxic.name}`);
  }
  const state = await getJson<{
    shocked: string[];
    sources: Record<string, { kind: string }>;
    keeper: { chain: string; pair: string; paused: boolean }[];
  }>(`${info.control}/state`);
  for (const pair of state.shocked) found.push(`market ${pair} is shocked`);
  for (const [name, mode] of Object.entries(state.sources))
    if (mode.kind !== "live") found.push(`source ${name} is ${mode.kind}`);
  for (const feed of state.keeper)
    if (feed.paused) found.push(`keeper paused for ${feed.pair} on ${feed.chain}`);
  for (const [name, chain] of Object.entries(info.chains))
    for (const provider of Object.keys(chain.rpc)) {
      const layer = await getJson<{ rules: { id: string; kind: string }[] }>(
        `${info.control}/rpc/${name}-${provider}`,
      );
      for (const rule of layer.rules)
        found.push(`${provider} provider of ${name} has JSON-RPC rule ${rule.id} (${rule.kind})`);
    }
  await Promise.all(
    Object.entries(info.chains).map(async ([name, chain]) => {
      const deadline = Date.now() + chain.blockTimeMs * 4 + 1000;
      const start = Number.parseInt(await rpcCall<string>(chain.nodeUrl, "eth_blockNumber"), 16);
      let mining = false;
      while (!mining && Date.now() < deadline) {
        await sleep(Math.min(100, chain.blockTimeMs / 2));
        mining = Number.parseInt(await rpcCall<string>(chain.nodeUrl, "eth_blockNumber"), 16) > start;
      }
      if (!mining) found.push(`chain ${name} is not mining`);
      const block = await rpcCall<{ baseFeePerGas?: string; gasLimit: string }>(
        chain.nodeUrl,
        "eth_getBlockByNumber",
        ["latest", false],
      );
      const gwei = Number(BigInt(block.baseFeePerGas ?? "0x0")) / 1e9;
      if (gwei > SPIKED_GWEI) found.push(`chain ${name} base fee is ${gwei.toFixed(1)} gwei`);
    }),
  );
  return found;
}
