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
  z
    .strictObject({
      probe: z.literal("collateral_ratio_at_least"),
      chain: chain.describe("Chain whose collateral vault is read."),
      value: ratio.describe("Lowest collateral ratio that holds: 1.5 is 150%."),
    })
    .describe(
      "The collateral vault's ratio (collateral at oracle prices over fdUSD supply) is at least `value`.",
    ),
  z
    .strictObject({
      probe: z.literal("http_ok"),
      url: probeUrl.describe(
        "`stack:/<path>` for a path on the system under test (e.g. `stack:/health`), or an http(s) URL.",
      ),
    })
    .describe("The URL answers with a 2xx status within 2 s."),
  z
    .strictObject({
      probe: z.literal("feed_fresh"),
      chain: chain.describe("Chain of the on-chain price feed."),
      pair: pair.describe("Price pair of the feed."),
      max_age: positiveDuration
        .optional()
        .describe("Oldest update that is fresh; 1.5 times the feed's heartbeat when absent."),
    })
    .describe("The on-chain price feed was updated within `max_age`."),
  z
    .strictObject({ probe: z.literal("chain_advancing"), chain: chain.describe("Chain to watch.") })
    .describe("The chain mines a new block within three of its block times (plus 0.5 s)."),
  z
    .strictObject({ probe: z.literal("gateway_ok") })
    .describe("The system under test's `GET /health` answers with a 2xx status within 2 s."),
]);

export const abortCondition = z.discriminatedUnion("probe", [
  z
    .strictObject({
      probe: z.literal("collateral_ratio_below"),
      chain: chain.describe("Chain whose collateral vault is read."),
      value: ratio.describe("Collateral ratio under which the run stops: 1.0 is 100%."),
    })
    .describe("The collateral vault's ratio fell below `value`."),
  z
    .strictObject({
      probe: z.literal("http_failing"),
      url: probeUrl.describe("`stack:/<path>` on the system under test, or an http(s) URL."),
      for: duration.default(0).describe("How long the URL must keep failing before the run stops."),
    })
    .describe("The URL has not answered with a 2xx status for `for`."),
  z
    .strictObject({
      probe: z.literal("feed_stale"),
      chain: chain.describe("Chain of the on-chain price feed."),
      pair: pair.describe("Price pair of the feed."),
      for: positiveDuration.describe("Age of the feed's last update at which the run stops."),
    })
    .describe("The on-chain price feed has not been updated for `for`."),
  z
    .strictObject({
      probe: z.literal("chain_stalled"),
      chain: chain.describe("Chain to watch."),
      for: positiveDuration.describe("Time without a new block at which the run stops."),
    })
    .describe("No new block on the chain for `for`."),
  z
    .strictObject({
      probe: z.literal("gateway_failing"),
      for: duration.default(0).describe("How long `GET /health` must keep failing before the run stops."),
    })
    .describe("The system under test's `GET /health` has not answered with a 2xx status for `for`."),
]);

export type SteadyStateProbe = z.infer<typeof steadyStateProbe>;
export type AbortCondition = z.infer<typeof abortCondition>;
