/**
 * Prices stop moving where the stack reads them: either one price source keeps answering
 * with its last price and old timestamp (`source`), or the keeper stops pushing rounds to
 * the on-chain feeds of a chain (`chain`, optionally one `pair`), so `updatedAt` freezes.
 */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText, oracleSource, pair } from "./common.ts";

export const params = z.strictObject({
  /** A price source that freezes. Exactly one of `source` and `chain`. */
  source: oracleSource.optional(),
  /** A chain whose on-chain feeds freeze. Exactly one of `source` and `chain`. */
  chain: chain.optional(),
  /** With `chain`: only this feed. @default every feed of the chain */
  pair: pair.optional(),
});

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
} as const satisfies FaultDefinition<typeof params>;
