/** The chain stops producing blocks; on an L2 the sequencer uptime feed reports it down too. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { setSequencerStatus } from "../lab/chainlink.ts";
import { labChain } from "../lab/index.ts";
import { type ChainName, chain } from "../names.ts";
import { poll, sleep } from "../process.ts";
import { head, latestRound, minedIn, proveMining, restoreMining, sendProbeTx, stopMining } from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, proof } from "./context.ts";

/**
 * Flips the sequencer uptime feed, through the lab's keeper (the lab's own feed) or as the
 * feed's L1 sender (a team's real feed, on a fork), and waits until the feed says so.
 */
async function setSequencer(
  ctx: FaultContext,
  c: ChainName,
  feed: string,
  down: boolean,
  team: boolean,
): Promise<boolean> {
  if (team) await setSequencerStatus((method, params) => ctx.rpc(c, method, params), feed, down);
  else await ctx.control("/sequencer", { chain: c, down });
  const want = down ? 1n : 0n;
  const seen = await poll(
    async () => ((await latestRound(ctx, c, feed)).answer === want ? true : undefined),
    5_000,
    25,
  );
  return seen === true;
}

export const params = z
  .strictObject({
    chain: chain.describe("The chain that stops."),
    sequencer_feed: z
      .boolean()
      .optional()
      .describe(
        "Also set the L2 sequencer uptime feed to down. Only on a chain with one (`sequencer_feed` in lab.yml; arbitrum in the embedded lab), where it is done unless this is `false`.",
      ),
  })
  .describe("The chain stops producing blocks; on an L2 the sequencer uptime feed reports it down too.");

export const chainHalt = {
  type: "chain_halt",
  params,
  window: "required",
  systems: ["chains"],
  target: (p) => `mining:${p.chain}`,
  check: (p, chains) =>
    p.sequencer_feed === true && !chains.sequencer.includes(p.chain)
      ? [
          {
            path: ["sequencer_feed"],
            message: `${p.chain} has no sequencer uptime feed in ${chains.from} (${chains.sequencer.length === 0 ? "no chain has one" : `only ${chains.sequencer.join(", ")}`})`,
          },
        ]
      : [],
  forLab: (p, chains) => ({ ...p, sequencer_feed: p.sequencer_feed ?? chains.sequencer.includes(p.chain) }),
  describe: (p) =>
    `${p.chain} halted (no blocks${p.sequencer_feed === true ? ", sequencer feed down" : ""})${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const c = p.chain;
    const blockTimeMs = labChain(ctx.lab, c).blockTimeMs;
    const { contracts, team } = labChain(ctx.lab, c);
    const feed = team ? team.sequencerUptimeFeed : contracts?.sequencerUptimeFeed;
    const useFeed = p.sequencer_feed !== false && feed !== undefined;
    // The feed is flipped while the chain still mines: its update is a transaction too.
    const sequencerDown = useFeed ? await setSequencer(ctx, c, feed, true, team !== undefined) : undefined;
    const stopped = await stopMining(ctx, c);
    // A block already on its way when mining stopped may still land: start watching after it.
    await sleep(100, ctx.signal);
    const from = await head(ctx, c);
    const probeTx = await sendProbeTx(ctx, c);
    // Three block times with no block, and a transaction left pending, make a halt.
    const watchMs = Math.max(blockTimeMs * 3, 1_000);
    await sleep(watchMs, ctx.signal);
    const to = await head(ctx, c);
    const mined = await minedIn(ctx, c, probeTx);
    await ctx.rpc(c, "anvil_dropTransaction", [probeTx]);
    const halted = to === from && mined === undefined;
    return {
      proof: proof(
        halted && sequencerDown !== false,
        `${c} head stayed at ${from} for ${watchMs} ms with a transaction pending${useFeed ? `; sequencer uptime feed reports ${sequencerDown ? "down" : "still up"}` : ""}`,
        {
          chain: c,
          headBefore: from,
          headAfter: to,
          watchedMs: watchMs,
          probeTx,
          probeMined: mined ?? null,
          sequencerDown,
          miningState: stopped,
        },
      ),
      heal: healOnce(async () => {
        const mining = await restoreMining(ctx, c);
        const moving = await proveMining(ctx, c, mining.blockTimeMs * 3 + 2_000);
        const sequencerUp = useFeed ? await setSequencer(ctx, c, feed, false, team !== undefined) : undefined;
        return proof(
          moving.ok && sequencerUp !== false,
          `${c} mines again: head ${moving.from} -> ${moving.to}, probe tx mined in block ${moving.probeMinedIn ?? "none"}; ${mining.mode} mining, blocks every ${mining.blockTimeMs} ms${useFeed ? `; sequencer uptime feed reports ${sequencerUp ? "up" : "still down"}` : ""}`,
          { chain: c, ...mining, mining: moving, sequencerUp },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
