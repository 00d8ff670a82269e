/**
 * Prices stop moving where the stack reads them: either one price source keeps answering
 * with its last price and old timestamp (`source`), or the keeper stops pushing rounds to
 * the on-chain feeds of a chain (`chain`, optionally one `pair`), so `updatedAt` freezes.
 */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { type NodeRpc, type ProxyControl, takeProxy } from "../lab/chainlink.ts";
import { labChain, labContracts } from "../lab/index.ts";
import { type ChainName, chain, oracleSource, PAIRS, type Pair, pair, type SourceName } from "../names.ts";
import { poll, sleep } from "../process.ts";
import { latestRound } from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, type FaultProof, type Injected, proof } from "./context.ts";
import { labState, sourceQuote } from "./network.ts";

/** Long enough for several ticks of the lab's clock (every 250 ms): a live value would move. */
const WATCH_MS = 1_000;

const feedOf = (ctx: FaultContext, c: ChainName, p: Pair) => {
  const contracts = labContracts(ctx.lab, c, "oracle_stale on the lab's feeds");
  return p === "ETH/USD" ? contracts.ethUsdFeed : contracts.usdcUsdFeed;
};

/**
 * A team's real feeds on a fork: nobody transmits there, so a feed is made stale by taking
 * its proxy's answers and recording the latest round again, older than the feed's heartbeat
 * (by a minute). The answer is kept; heal gives the proxy back and proves it.
 */
async function staleTeamFeeds(ctx: FaultContext, c: ChainName, only: Pair | undefined): Promise<Injected> {
  const team = labChain(ctx.lab, c).team!;
  const pairs = (Object.keys(team.feeds) as Pair[]).filter((p) => only === undefined || p === only);
  if (pairs.length === 0)
    throw new FiredrillError(
      "FD320",
      `oracle_stale: chain ${c} lists no ${only ?? ""} feed in deployment.yml`,
    );
  const rpc: NodeRpc = (method, params) => ctx.rpc(c, method, params);
  const block = await ctx.rpc<{ timestamp: string }>(c, "eth_getBlockByNumber", ["latest", false]);
  const nowS = BigInt(block.timestamp);
  const controls: ProxyControl[] = [];
  try {
    for (const pair of pairs) {
      const control = await takeProxy(rpc, team.feeds[pair]!, ctx.lab.accounts.operator.address);
      controls.push(control);
      const old = nowS - BigInt(Math.ceil(team.heartbeatsMs[pair]! / 1000) + 60);
      await control.record(control.start.answer, old, old);
    }
  } catch (error) {
    for (const control of controls) await control.giveBack().catch(() => undefined);
    throw error;
  }
  const rounds = await Promise.all(controls.map((control) => control.latest()));
  const stale = rounds.map((r, i) => ({
    pair: pairs[i]!,
    proxy: controls[i]!.proxy,
    ageS: Number(nowS - r.updatedAt),
    heartbeatS: team.heartbeatsMs[pairs[i]!]! / 1000,
  }));
  const tookEffect = stale.every((f) => f.ageS > f.heartbeatS);
  return {
    proof: proof(
      tookEffect,
      `${stale.map((f) => `${f.pair} proxy ${f.proxy} answers a round ${f.ageS} s old (heartbeat ${f.heartbeatS} s)`).join("; ")}`,
      {
        chain: c,
        feeds: stale,
        original: controls.map((k) => k.original),
        controlled: controls.map((k) => k.controlled),
      },
    ),
    heal: healOnce(async (): Promise<FaultProof> => {
      const back = [];
      for (const control of controls) back.push(await control.giveBack());
      return proof(
        back.every((b) => b.ok),
        back.map((b) => b.summary).join("; "),
        { chain: c, aggregators: back.map((b) => b.aggregator) },
      );
    }),
  };
}

/** A price source keeps answering with its last price and timestamp. */
async function freezeSource(ctx: FaultContext, source: SourceName): Promise<Injected> {
  await ctx.control(`/sources/${source}`, { kind: "frozen" });
  const first = await sourceQuote(ctx, source, "ETH/USD");
  await sleep(WATCH_MS, ctx.signal);
  const second = await sourceQuote(ctx, source, "ETH/USD");
  const frozen = first.updatedAt === second.updatedAt && first.price === second.price;
  return {
    proof: proof(
      frozen,
      frozen
        ? `${source} still reports ETH/USD ${second.price} updated ${second.updatedAt} after ${WATCH_MS} ms`
        : `${source} moved: ${first.updatedAt} -> ${second.updatedAt}`,
      { first, second, watchedMs: WATCH_MS },
    ),
    heal: healOnce(async () => {
      await ctx.control(`/sources/${source}`, { kind: "live" });
      const fresh = await poll(
        async () => {
          const q = await sourceQuote(ctx, source, "ETH/USD");
          return q.updatedAt > second.updatedAt ? q : undefined;
        },
        3_000,
        50,
      );
      return proof(
        fresh !== undefined,
        fresh
          ? `${source} live again: ETH/USD ${fresh.price} updated ${fresh.updatedAt}`
          : `${source} still frozen at ${second.updatedAt}`,
        { frozenAt: second.updatedAt, ...(fresh ? { fresh } : {}) },
      );
    }),
  };
}

/** The keeper stops pushing rounds to a chain's feeds, so their `updatedAt` freezes. */
async function freezeFeeds(ctx: FaultContext, c: ChainName, only: Pair | undefined): Promise<Injected> {
  const pairs = only ? [only] : [...PAIRS];
  const body = { chain: c, ...(only ? { pair: only } : {}) };
  await ctx.control("/keeper", { paused: true, ...body });
  const read = () =>
    Promise.all(pairs.map(async (p) => ({ pair: p, ...(await latestRound(ctx, c, feedOf(ctx, c, p))) })));
  const lanes = (state: Awaited<ReturnType<typeof labState>>) =>
    state.keeper.filter((k) => k.chain === c && pairs.includes(k.pair));
  const before = await read();
  const keeperBefore = lanes(await labState(ctx));
  await sleep(WATCH_MS, ctx.signal);
  const after = await read();
  const keeperAfter = lanes(await labState(ctx));
  const frozen =
    keeperAfter.length === pairs.length &&
    keeperAfter.every((k) => k.paused) &&
    after.every((r, i) => r.updatedAt === before[i]!.updatedAt && r.roundId === before[i]!.roundId) &&
    keeperAfter.every((k, i) => k.rounds === keeperBefore[i]?.rounds);
  const show = (r: (typeof after)[number]) =>
    `${r.pair} round ${r.roundId} updatedAt ${new Date(r.updatedAt * 1000).toISOString()}`;
  const heartbeats = Object.fromEntries(pairs.map((p) => [p, ctx.lab.oracles.heartbeats[p]]));
  return {
    proof: proof(
      frozen,
      `keeper paused on ${c}; ${after.map(show).join(", ")} unchanged over ${WATCH_MS} ms: ${frozen}`,
      {
        before: before.map(bigints),
        after: after.map(bigints),
        keeper: keeperAfter,
        heartbeatsMs: heartbeats,
      },
    ),
    heal: healOnce(async (): Promise<FaultProof> => {
      await ctx.control("/keeper", { paused: false, ...body });
      const state = lanes(await labState(ctx));
      const resumed = state.length === pairs.length && state.every((k) => !k.paused);
      // A feed frozen past its heartbeat gets a round as soon as the keeper runs again.
      const nowS = Math.floor(Date.now() / 1000);
      const overdue = after.filter(
        (r) => (nowS - r.updatedAt) * 1000 >= (ctx.lab.oracles.heartbeats[r.pair] ?? 0),
      );
      const pushed = await poll(
        async () => {
          const now = await read();
          return overdue.every((o) => now.find((r) => r.pair === o.pair)!.updatedAt > o.updatedAt)
            ? now
            : undefined;
        },
        5_000,
        100,
      );
      return proof(
        resumed && pushed !== undefined,
        `keeper resumed on ${c} for ${pairs.join(", ")}${overdue.length ? `; overdue feeds got new rounds: ${pushed !== undefined}` : ""}`,
        {
          keeper: state,
          overdue: overdue.map((r) => r.pair),
          ...(pushed ? { now: pushed.map(bigints) } : {}),
        },
      );
    }),
  };
}

/** JSON has no bigint: round ids as strings. */
function bigints<T extends { roundId: bigint; answer: bigint }>(r: T) {
  return { ...r, roundId: r.roundId.toString(), answer: r.answer.toString() };
}

export const params = z
  .strictObject({
    source: oracleSource
      .optional()
      .describe(
        "A price source that keeps answering with its last price and timestamp. Exactly one of `source` and `chain`.",
      ),
    chain: chain
      .optional()
      .describe("A chain whose on-chain feeds stop getting new rounds. Exactly one of `source` and `chain`."),
    pair: pair
      .optional()
      .describe("With `chain` only: freeze this feed alone instead of every feed of the chain."),
  })
  .describe(
    "Prices stop moving where the stack reads them: a price source keeps answering with its last price and old timestamp, or the keeper stops pushing rounds to a chain's on-chain feeds, so `updatedAt` freezes.",
  );

export const oracleStale = {
  type: "oracle_stale",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => (p.source !== undefined ? `oracle:${p.source}` : `feed:${p.chain}:${p.pair ?? "*"}`),
  check: (p) => {
    if ((p.source === undefined) === (p.chain === undefined)) {
      return [
        { path: [], message: "needs exactly one of source (a price source) and chain (its on-chain feeds)" },
      ];
    }
    if (p.source !== undefined && p.pair !== undefined) {
      return [{ path: ["pair"], message: "only applies with chain: a frozen source freezes every pair" }];
    }
    return [];
  },
  describe: (p) =>
    p.source !== undefined
      ? `price source ${p.source} frozen (last price, old timestamp)${forText(p, formatDuration)}`
      : `${p.pair ?? "every"} feed on ${p.chain} frozen (no new rounds)${forText(p, formatDuration)}`,
  inject: (ctx, p) =>
    p.source !== undefined
      ? freezeSource(ctx, p.source)
      : labChain(ctx.lab, p.chain!).team !== undefined
        ? staleTeamFeeds(ctx, p.chain!, p.pair)
        : freezeFeeds(ctx, p.chain!, p.pair),
} as const satisfies FaultDefinition<typeof params>;
