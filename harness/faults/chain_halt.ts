/** The chain stops producing blocks; on arbitrum the sequencer uptime feed reports it down too. */
import { z } from "zod";
import { formatDuration } from "../runner/duration.ts";
import { chain, type FaultDefinition, forText } from "./common.ts";

export const params = z.strictObject({
  chain,
  /** Also flip the L2 sequencer uptime feed to down (arbitrum only). @default true on arbitrum */
  sequencer_feed: z.boolean().optional(),
});

export const chainHalt = {
  type: "chain_halt",
  params,
  window: "required",
  systems: ["chains"],
  target: (p) => `mining:${p.chain}`,
  check: (p) =>
    p.sequencer_feed === true && p.chain !== "arbitrum"
      ? [{ path: ["sequencer_feed"], message: `only arbitrum has a sequencer uptime feed, not ${p.chain}` }]
      : [],
  describe: (p) =>
    `${p.chain} halted (no blocks${p.chain === "arbitrum" && p.sequencer_feed !== false ? ", sequencer feed down" : ""})${forText(p, formatDuration)}`,
} as const satisfies FaultDefinition<typeof params>;
