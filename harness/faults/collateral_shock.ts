/** The market model moves an asset's price (a depeg, a crash) over a duration; healing restores it. */
import { z } from "zod";
import { duration, formatDuration } from "../duration.ts";
import { asset, type Pair, SOURCE_NAMES } from "../names.ts";
import { poll, sleep } from "../process.ts";
import { type FaultDefinition, type FaultTiming, forText, healOnce } from "./common.ts";
import { type FaultContext, type Injected, proof } from "./context.ts";
import { labState, sourceQuote } from "./network.ts";
import { type FollowingFeeds, followMarket } from "./team-feeds.ts";

/** How often the noise of a volatile shock is redrawn, ms (the lab's market ticks every 250 ms). */
const NOISE_TICK_MS = 250;

/** What every answering source reports for `pair` (one may be down under another fault). */
async function sourceQuotes(ctx: FaultContext, pair: Pair): Promise<{ source: string; price: number }[]> {
  const quotes = await Promise.all(
    SOURCE_NAMES.map((source) =>
      sourceQuote(ctx, source, pair).then(
        (q) => ({ source, price: q.price }),
        () => undefined,
      ),
    ),
  );
  return quotes.filter((q) => q !== undefined);
}

export const params = z
  .strictObject({
    asset: asset.describe("The asset whose price moves."),
    to: z
      .number()
      .gt(0)
      .max(1_000_000)
      .optional()
      .describe("Price to reach, USD. Exactly one of `to` and `change`."),
    change: z
      .number()
      .gt(-1)
      .max(10)
      .optional()
      .describe("Relative move: -0.43 is a 43% fall; not 0. Exactly one of `to` and `change`."),
    over: duration.default(0).describe("Time the move takes; 0s is a jump. At most `for`."),
    volatility: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .describe("Amplitude of seeded random noise around the path, as a share of the price."),
  })
  .describe(
    "The market model moves an asset's price (a depeg, a crash) over a duration; every price source follows it. Healing restores the market.",
  );

export const collateralShock = {
  type: "collateral_shock",
  params,
  window: "optional",
  systems: ["collateral_management"],
  target: (p) => `market:${p.asset}`,
  check: (p) => {
    if ((p.to === undefined) === (p.change === undefined)) {
      return [{ path: [], message: "needs exactly one of to (a price) and change (a share, e.g. -0.43)" }];
    }
    if (p.change === 0) return [{ path: ["change"], message: "must not be 0" }];
    if (p.for !== undefined && p.over > p.for) {
      return [{ path: ["over"], message: `must not exceed for (${formatDuration(p.for)})` }];
    }
    return [];
  },
  describe: (p) => {
    const move =
      p.to !== undefined
        ? `to ${p.to} USD`
        : `by ${p.change! > 0 ? "+" : ""}${(p.change! * 100).toFixed(1)}%`;
    const noise = p.volatility > 0 ? ` with ${(p.volatility * 100).toFixed(1)}% volatility` : "";
    return `${p.asset} price moves ${move} over ${formatDuration(p.over)}${noise}${forText(p, formatDuration)}`;
  },
  async inject(ctx, p) {
    const pair: Pair = `${p.asset}/USD`;
    const from = (await labState(ctx)).prices[pair];
    const to = p.to ?? from * (1 + p.change!);
    // A team's real feeds of the pair (on a fork) follow the market through the move; an
    // injection that fails gives them back.
    const team = await followMarket(ctx, pair);
    try {
      return await shock(ctx, p, { pair, from, to }, team);
    } catch (error) {
      await team.release().catch(() => undefined);
      throw error;
    }
  },
} as const satisfies FaultDefinition<typeof params>;

/** Moves the market (and the followed feeds with it) and proves it; the heal puts it back. */
async function shock(
  ctx: FaultContext,
  p: z.output<typeof params> & FaultTiming,
  { pair, from, to }: { pair: Pair; from: number; to: number },
  team: FollowingFeeds,
): Promise<Injected> {
  const startedMs = Date.now();
  const stop = new AbortController();
  const stopped = AbortSignal.any([stop.signal, ctx.signal]);
  let noise: Promise<void> = Promise.resolve();
  if (p.volatility === 0) {
    await ctx.control("/market/shock", { pair, to, overMs: p.over });
  } else {
    // The market model moves along a straight path; the noise around it is drawn here, from
    // the run's seed, and sent as short hops.
    const random = ctx.random.fork(`collateral_shock:${pair}`);
    const hop = () => {
      const progress = p.over <= 0 ? 1 : Math.min(1, (Date.now() - startedMs) / p.over);
      const path = from + (to - from) * progress;
      const draw = Math.max(-3, Math.min(3, random.normal()));
      return ctx.control("/market/shock", {
        pair,
        to: Math.max(path * 1e-6, path * (1 + p.volatility * draw)),
        overMs: NOISE_TICK_MS,
      });
    };
    await hop();
    noise = (async () => {
      while (!stopped.aborted) {
        await sleep(NOISE_TICK_MS, stopped);
        if (!stopped.aborted) await hop().catch((e: Error) => ctx.log(`collateral_shock: ${e.message}`));
      }
    })();
  }
  // The move is under way once the market and a source report a price off the start
  // towards the target (all the way when the move is a jump).
  const direction = Math.sign(to - from);
  const band = Math.max(p.volatility * 3, 0.002);
  // A jump is seen at its target; a move, once it is off the start towards the target. A
  // followed feed moves only with the market after the shock, so it is judged alike.
  const moved = (price: number) =>
    p.over === 0 && p.volatility === 0
      ? Math.abs(price / to - 1) < band
      : Math.sign(price - from) === direction && Math.abs(price / from - 1) > 1e-6;
  const seen = await poll(
    async () => {
      const state = await labState(ctx);
      const market = state.prices[pair];
      const quotes = await sourceQuotes(ctx, pair);
      if (!state.shocked.includes(pair) || quotes.length === 0) return undefined;
      return moved(market) && quotes.every((q) => moved(q.price)) ? { market, quotes } : undefined;
    },
    Math.min(p.over, 2_000) + 2_000,
    50,
  );
  const state = seen ? undefined : await labState(ctx);
  // Each followed feed answers a price off the start, in the move's direction.
  const feeds =
    team.feeds.length === 0
      ? []
      : ((await poll(
          async () => {
            const now = await team.read();
            return now.every((f) => moved(f.price)) ? now : undefined;
          },
          2_000,
          50,
        )) ?? (await team.read()));
  const feedsMoved = feeds.every((f) => moved(f.price));
  const feedText = feeds.length
    ? `; the team's feeds answer ${feeds.map((f) => `${f.price} on ${f.chain}`).join(", ")}`
    : "";
  return {
    proof: proof(
      seen !== undefined && feedsMoved,
      seen
        ? `${pair} moving from ${from.toFixed(4)} to ${to.toFixed(4)}: market ${seen.market.toFixed(4)}, sources report ${seen.quotes.map((q) => `${q.source} ${q.price}`).join(", ")}${feedText}`
        : `${pair} did not move towards ${to.toFixed(4)} (market ${state?.prices[pair]})`,
      {
        pair,
        from,
        to,
        overMs: p.over,
        volatility: p.volatility,
        ...(seen ?? { state }),
        teamFeeds: feeds,
      },
    ),
    heal: healOnce(async () => {
      stop.abort();
      await noise;
      const given = await team.release();
      await ctx.control("/market/reset", { pair });
      // The model's walk stays near its anchor, so the price returns close to where it started.
      const back = await poll(
        async () => {
          const now = await labState(ctx);
          const market = now.prices[pair];
          const quotes = await sourceQuotes(ctx, pair);
          // Every source has ticked since the reset: it reports the market again.
          const fresh = quotes.length > 0 && quotes.every((q) => Math.abs(q.price / market - 1) < 0.002);
          return !now.shocked.includes(pair) && Math.abs(market / from - 1) < 0.05 && fresh
            ? { market, quotes }
            : undefined;
        },
        3_000,
        50,
      );
      return proof(
        back !== undefined && given.ok,
        `${
          back
            ? `${pair} back to the market: ${back.market.toFixed(4)} (${from.toFixed(4)} before the shock), sources report ${back.quotes.map((q) => `${q.source} ${q.price}`).join(", ")}`
            : `${pair} did not return near ${from.toFixed(4)}`
        }${team.feeds.length ? `; ${given.summary}` : ""}`,
        { pair, from, ...(back ?? { state: await labState(ctx) }), teamFeedsGivenBack: given.ok },
      );
    }),
  };
}
