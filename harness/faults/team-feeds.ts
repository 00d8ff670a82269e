/**
 * A team's real price feeds following the lab's market during a fault: the proxy of a pair
 * on every chain that runs a team's deployment is taken (see harness/lab/chainlink.ts) and
 * fed the market's price on every tick of the lab's clock, as Chainlink's network would
 * report a real move; `release` gives every proxy back and proves it.
 */
import { type NodeRpc, type ProxyControl, takeProxy } from "../lab/chainlink.ts";
import type { ChainName, Pair } from "../names.ts";
import { sleep } from "../process.ts";
import type { FaultContext } from "./context.ts";
import { labState } from "./network.ts";

/** The lab's clock ticks every 250 ms: a new round each tick the price moved. */
const TICK_MS = 250;

export interface FollowingFeeds {
  /** The market's price now, for comparison. */
  market(): Promise<number>;
  /** Chain and proxy of every feed that follows the market. */
  feeds: { chain: ChainName; proxy: string }[];
  /** The answers of every followed proxy now, in USD. */
  read(): Promise<{ chain: ChainName; proxy: string; price: number }[]>;
  /** Stops following and gives every proxy back; the proof of each. */
  release(): Promise<{ ok: boolean; summary: string }>;
}

/**
 * Takes the `pair` feeds of the team's chains (or of `only`) and feeds them the market's
 * price times `factor` (1 + a deviation) until released.
 */
export async function followMarket(
  ctx: FaultContext,
  pair: Pair,
  options: { only?: ChainName; factor?: number } = {},
): Promise<FollowingFeeds> {
  const factor = options.factor ?? 1;
  const taken: { chain: ChainName; control: ProxyControl }[] = [];
  for (const [chain, info] of Object.entries(ctx.lab.chains)) {
    if (options.only !== undefined && chain !== options.only) continue;
    const proxy = info.team?.feeds[pair];
    if (proxy === undefined) continue;
    const rpc: NodeRpc = (method, params) => ctx.rpc(chain, method, params);
    try {
      taken.push({ chain, control: await takeProxy(rpc, proxy, ctx.lab.accounts.operator.address) });
    } catch (error) {
      for (const t of taken) await t.control.giveBack().catch(() => undefined);
      throw error;
    }
  }
  const stop = new AbortController();
  const last = new Map<string, bigint>();
  const push = async () => {
    const price = (await labState(ctx)).prices[pair] * factor;
    await Promise.all(
      taken.map(async ({ control }) => {
        const answer = BigInt(Math.round(price * 10 ** control.decimals));
        if (last.get(control.proxy) === answer) return;
        await control.transmit(answer);
        last.set(control.proxy, answer);
      }),
    );
  };
  if (taken.length > 0) await push();
  const loop = (async () => {
    while (taken.length > 0 && !stop.signal.aborted) {
      await sleep(TICK_MS, stop.signal);
      if (!stop.signal.aborted) await push().catch((e: Error) => ctx.log(`${pair} feeds: ${e.message}`));
    }
  })();
  return {
    market: async () => (await labState(ctx)).prices[pair],
    feeds: taken.map(({ chain, control }) => ({ chain, proxy: control.proxy })),
    read: () =>
      Promise.all(
        taken.map(async ({ chain, control }) => ({
          chain,
          proxy: control.proxy,
          price: Number((await control.latest()).answer) / 10 ** control.decimals,
        })),
      ),
    async release() {
      stop.abort();
      await loop;
      const back = [];
      for (const { control } of taken) back.push(await control.giveBack());
      return { ok: back.every((b) => b.ok), summary: back.map((b) => b.summary).join("; ") };
    },
  };
}
