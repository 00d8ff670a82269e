/**
 * The market the lab's price sources report: one seeded random walk per pair, which a
 * market fault can move (a depeg, a crash) to a target over a duration.
 */
import { PAIRS, type Pair } from "../names.ts";
import type { Random } from "../random.ts";

interface Shock {
  from: number;
  to: number;
  startMs: number;
  overMs: number;
}

export interface MarketOptions {
  /** Starting prices. @default ETH/USD 3000, USDC/USD 1 */
  start?: Partial<Record<Pair, number>>;
  /** Per-tick relative volatility of the walk. @default ETH 0.0002, USDC 0.00002 */
  volatility?: Partial<Record<Pair, number>>;
}

export interface Market {
  price(pair: Pair): number;
  /** Advances the walk one tick; called by the lab's clock. */
  tick(nowMs: number): void;
  /** Moves `pair` linearly to `to` over `overMs`, then holds it there until `reset`. */
  shock(pair: Pair, to: number, overMs: number, nowMs: number): void;
  /** Ends every shock: prices return to where the walk would be. */
  reset(pair?: Pair): void;
  shocked(pair: Pair): boolean;
}

/** A market model driven by `random`. */
export function createMarket(random: Random, options: MarketOptions = {}): Market {
  const base: Record<Pair, number> = { "ETH/USD": 3000, "USDC/USD": 1, ...options.start };
  const vol: Record<Pair, number> = { "ETH/USD": 0.0002, "USDC/USD": 0.00002, ...options.volatility };
  const anchor = { ...base };
  const walk = { ...base };
  const shocks = new Map<Pair, Shock>();
  const current = { ...base };
  const rng = random.fork("market");

  return {
    price: (pair) => current[pair],
    tick(nowMs) {
      for (const pair of PAIRS) {
        // Mean-reverting walk: prices wander but stay near their anchor between faults.
        const drift = (anchor[pair] - walk[pair]) * 0.01;
        walk[pair] = Math.max(1e-9, walk[pair] + drift + walk[pair] * vol[pair] * rng.normal());
        const shock = shocks.get(pair);
        if (!shock) {
          current[pair] = walk[pair];
          continue;
        }
        const progress = shock.overMs <= 0 ? 1 : Math.min(1, (nowMs - shock.startMs) / shock.overMs);
        current[pair] = shock.from + (shock.to - shock.from) * progress;
      }
    },
    shock(pair, to, overMs, nowMs) {
      shocks.set(pair, { from: current[pair], to, startMs: nowMs, overMs });
    },
    reset(pair) {
      for (const p of pair ? [pair] : PAIRS) {
        shocks.delete(p);
        current[p] = walk[p];
      }
    },
    shocked: (pair) => shocks.has(pair),
  };
}
