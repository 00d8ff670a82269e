/** One price source reports a price off the market by a fixed share, while the others stay right. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { oracleSource, pair } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, proof } from "./context.ts";
import { labState, sourceQuote } from "./network.ts";

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

/** A source's own noise is at most 0.09% (3 sigma of 0.03%), plus the market's move between reads. */
const NOISE = 0.0015;

export const params = z
  .strictObject({
    source: oracleSource.describe("The price source that reports off the market."),
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
  target: (p) => `oracle:${p.source}:${p.pair}`,
  describe: (p) =>
    `price source ${p.source} reports ${p.pair} ${(Math.abs(p.deviation) * 100).toFixed(2)}% ${p.deviation < 0 ? "low" : "high"}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    // The lab's sources take one offset for every pair they report: the proof measures `pair`.
    await ctx.control(`/sources/${p.source}`, { kind: "offset", offset: p.deviation });
    const m = await measuredDeviation(ctx, p.source, p.pair);
    const tookEffect = Math.abs(m.deviation - p.deviation) < NOISE + Math.abs(p.deviation) * 0.01;
    return {
      proof: proof(
        tookEffect,
        `${p.source} reports ${p.pair} ${m.quote} against a market of ${m.market.toFixed(6)}: ${(m.deviation * 100).toFixed(2)}% (set ${(p.deviation * 100).toFixed(2)}%)`,
        { ...m, offset: p.deviation, appliesTo: "every pair of the source" },
      ),
      heal: healOnce(async () => {
        await ctx.control(`/sources/${p.source}`, { kind: "live" });
        const h = await measuredDeviation(ctx, p.source, p.pair);
        const healed = Math.abs(h.deviation) < NOISE;
        return proof(
          healed,
          `${p.source} reports ${p.pair} ${h.quote} against a market of ${h.market.toFixed(6)}: ${(h.deviation * 100).toFixed(3)}% off`,
          h,
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
