/**
 * Probes of a scenario: `steady_state` lists what must hold before the faults and again
 * to call the system recovered; `abort_if` lists safety stops, checked all through the
 * run, that heal everything and end the run as `aborted` when one holds.
 */
import { z } from "zod";
import { duration, positiveDuration } from "../duration.ts";
import { chain, pair } from "../names.ts";

/** `stack:/health` (a path on the system under test) or an http(s) URL. */
export const probeUrl = z.string().refine(
  (url) => {
    if (/^stack:\/\S*$/.test(url)) return true;
    try {
      const parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch {
      return false;
    }
  },
  { message: "expected stack:/<path> (on the system under test) or an http(s) URL" },
);

const ratio = z.number().gt(0).max(100);

export const steadyStateProbe = z.discriminatedUnion("probe", [
  /** The vault's collateral ratio on `chain` is at least `value` (1.5 = 150%). */
  z.strictObject({ probe: z.literal("collateral_ratio_at_least"), chain, value: ratio }),
  /** The URL answers 2xx. */
  z.strictObject({ probe: z.literal("http_ok"), url: probeUrl }),
  /** The on-chain feed of `pair` on `chain` was updated within `max_age` (ms; default: the feed's heartbeat). */
  z.strictObject({ probe: z.literal("feed_fresh"), chain, pair, max_age: positiveDuration.optional() }),
  /** New blocks keep coming on `chain`. */
  z.strictObject({ probe: z.literal("chain_advancing"), chain }),
  /** The ops gateway answers /health with every component up. */
  z.strictObject({ probe: z.literal("gateway_ok") }),
]);

export const abortCondition = z.discriminatedUnion("probe", [
  /** The collateral ratio on `chain` fell below `value`. */
  z.strictObject({ probe: z.literal("collateral_ratio_below"), chain, value: ratio }),
  /** The URL has not answered 2xx for `for` (ms). @default 0 */
  z.strictObject({ probe: z.literal("http_failing"), url: probeUrl, for: duration.default(0) }),
  /** The feed has not been updated for `for` (ms). */
  z.strictObject({ probe: z.literal("feed_stale"), chain, pair, for: positiveDuration }),
  /** No new block on `chain` for `for` (ms). */
  z.strictObject({ probe: z.literal("chain_stalled"), chain, for: positiveDuration }),
  /** The ops gateway has been failing for `for` (ms). @default 0 */
  z.strictObject({ probe: z.literal("gateway_failing"), for: duration.default(0) }),
]);

export type SteadyStateProbe = z.infer<typeof steadyStateProbe>;
export type AbortCondition = z.infer<typeof abortCondition>;
