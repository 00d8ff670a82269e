/** The market model moves an asset's price (a depeg, a crash) over a duration; healing restores it. */
import { z } from "zod";
import { duration, formatDuration } from "../runner/duration.ts";
import { asset, type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  asset,
  /** Price to reach, USD. Exactly one of `to` and `change`. */
  to: z.number().gt(0).max(1_000_000).optional(),
  /** Relative move: -0.43 is a 43% fall. Exactly one of `to` and `change`. */
  change: z.number().gt(-1).max(10).optional(),
  /** Time the move takes, ms after parsing. @default 0 (a jump) */
  over: duration.default(0),
  /** Amplitude of random noise around the path, as a share of the price. @default 0 */
  volatility: z.number().min(0).max(0.5).default(0),
});

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
} as const satisfies FaultDefinition<typeof params>;
