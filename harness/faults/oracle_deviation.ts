/**
 * One price source reports a price off the market by a fixed share, while the others stay
 * right; or, on a chain that runs a team's deployment, the team's real Chainlink feed of the
 * pair answers off the market.
 */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { labChain } from "../lab/index.ts";
import { chain, oracleSource, pair } from "../names.ts";
import { poll } from "../process.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, type Injected, proof } from "./context.ts";
import { labState, sourceQuote } from "./network.ts";
import { followMarket } from "./team-feeds.ts";

/** How far a source's quote is from the market: quote / market - 1. */
async function measuredDeviation(
  ctx: FaultContext,
  source: z.infer<typeof oracleSource>,
  p: z.infer<typeof pair>,
): Promise<{ quote: number; market: number; deviation: number }> {
  const quote = (await sourceQuote(ctx, source, p)).price;
  const market = (await labState(ctx)).prices[p];
  return { quote, market, deviation: quote / market - 1 };
}

/** A team's real feed of `pair` answers the market times 1 + `deviation`; heal gives the proxy back. */
async function deviateTeamFeed(
  ctx: FaultContext,
  on: string,
  p: z.infer<typeof pair>,
  deviation: number,
): Promise<Injected> {
  const proxy = labChain(ctx.lab, on).team?.feeds[p];
  if (proxy === undefined)
    throw new FiredrillError("FD320", `oracle_deviation: chain ${on} lists no ${p} feed in deployment.yml`);
  const feeds = await followMarket(ctx, p, { only: on, factor: 1 + deviation });
  const seen = await poll(
    async () => {
      const [feed] = await feeds.read();
      const market = await feeds.market();
      const off = feed!.price / market - 1;
      return Math.abs(off - deviation) < NOISE + Math.abs(deviation) * 0.01
        ? { ...feed!, market, off }
        : undefined;
    },
    2_000,
    50,
  ).catch(async (error: unknown) => {
    await feeds.release().catch(() => undefined);
    throw error;
  });
  return {
    proof: proof(
      seen !== undefined,
      seen
        ? `the ${p} proxy ${proxy} on ${on} answers ${seen.price} against a market of ${seen.market.toFixed(6)}: ${(seen.off * 100).toFixed(2)}% (set ${(deviation * 100).toFixed(2)}%)`
        : `the ${p} proxy ${proxy} on ${on} did not answer ${(deviation * 100).toFixed(2)}% off the market`,
      { chain: on, proxy, deviation, ...(seen ?? {}) },
    ),
    heal: healOnce(async () => {
      const back = await feeds.release();
      return proof(back.ok, back.summary, { chain: on, proxy });
    }),
  };
}

/** A source's own noise is at most 0.09% (3 sigma of 0.03%), plus the market's move between reads. */
const NOISE = 0.0015;

export const params = z
  .strictObject({
    source: oracleSource
      .optional()
      .describe("The price source that reports off the market. Exactly one of `source` and `chain`."),
    chain: chain
      .optional()
      .describe(
        "A chain that runs a team's deployment (deployment.yml): its real Chainlink feed of the pair answers off the market. Exactly one of `source` and `chain`.",
      ),
    pair: pair.describe("The pair it reports off."),
    deviation: z
      .number()
      .min(-0.9)
      .max(10)
      .refine((d) => d !== 0, { message: "must not be 0: a deviation of nothing is no fault" })
      .describe("Signed share of the market price: -0.02 reports 2% low, 0.05 reports 5% high; not 0."),
  })
  .describe("One price source reports a price off the market by a fixed share, while the others stay right.");

export const oracleDeviation = {
  type: "oracle_deviation",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => (p.source !== undefined ? `oracle:${p.source}:${p.pair}` : `feed:${p.chain}:${p.pair}`),
  check: (p, chains) => {
    if ((p.source === undefined) === (p.chain === undefined))
      return [
        { path: [], message: "needs exactly one of source (a price source) and chain (a team's feed)" },
      ];
    if (p.chain !== undefined && chains.names.includes(p.chain) && !chains.team.includes(p.chain))
      return [
        {
          path: ["chain"],
          message: `${p.chain} runs no team deployment in ${chains.from}: on-chain deviation acts on a team's real feeds (deployment.yml)`,
        },
      ];
    return [];
  },
  describe: (p) =>
    `${p.source !== undefined ? `price source ${p.source}` : `the ${p.pair} feed on ${p.chain}`} reports ${p.pair} ${(Math.abs(p.deviation) * 100).toFixed(2)}% ${p.deviation < 0 ? "low" : "high"}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    if (p.chain !== undefined) return deviateTeamFeed(ctx, p.chain, p.pair, p.deviation);
    // The lab's sources take one offset for every pair they report: the proof measures `pair`.
    const source = p.source!;
    await ctx.control(`/sources/${source}`, { kind: "offset", offset: p.deviation });
    const m = await measuredDeviation(ctx, source, p.pair);
    const tookEffect = Math.abs(m.deviation - p.deviation) < NOISE + Math.abs(p.deviation) * 0.01;
    return {
      proof: proof(
        tookEffect,
        `${source} reports ${p.pair} ${m.quote} against a market of ${m.market.toFixed(6)}: ${(m.deviation * 100).toFixed(2)}% (set ${(p.deviation * 100).toFixed(2)}%)`,
        { ...m, offset: p.deviation, appliesTo: "every pair of the source" },
      ),
      heal: healOnce(async () => {
        await ctx.control(`/sources/${source}`, { kind: "live" });
        const h = await measuredDeviation(ctx, source, p.pair);
        const healed = Math.abs(h.deviation) < NOISE;
        return proof(
          healed,
          `${source} reports ${p.pair} ${h.quote} against a market of ${h.market.toFixed(6)}: ${(h.deviation * 100).toFixed(3)}% off`,
          h,
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
