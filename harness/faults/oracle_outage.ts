/**
 * A price source stops answering: its proxy refuses connections, or holds them until they
 * time out. Or, on a chain that runs a team's deployment, the team's real Chainlink feed of a
 * pair has no data: its proxy's reads revert.
 */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { type NodeRpc, takeProxy } from "../lab/chainlink.ts";
import { labChain } from "../lab/index.ts";
import { chain, oracleSource, type Pair, pair } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultContext, type Injected, proof } from "./context.ts";
import { degradeProxy, proveAnswering, proveDegraded, proxyUrl } from "./network.ts";

/** A team's real feed with no data: its proxy points at an empty aggregator; heal gives it back. */
async function feedWithoutData(ctx: FaultContext, on: string, p: Pair): Promise<Injected> {
  const proxy = labChain(ctx.lab, on).team?.feeds[p];
  if (proxy === undefined)
    throw new FiredrillError("FD320", `oracle_outage: chain ${on} lists no ${p} feed in deployment.yml`);
  const rpc: NodeRpc = (method, params) => ctx.rpc(on, method, params);
  const control = await takeProxy(rpc, proxy, ctx.lab.accounts.operator.address, { empty: true });
  let error: string | undefined;
  try {
    await control.latest();
  } catch (e) {
    error = (e as Error).message;
  }
  return {
    proof: proof(
      error !== undefined,
      error !== undefined
        ? `the ${p} proxy ${proxy} on ${on} has no data: latestRoundData reverts (${error})`
        : `the ${p} proxy ${proxy} on ${on} still answers`,
      { chain: on, proxy, original: control.original, controlled: control.controlled, revert: error ?? null },
    ),
    heal: healOnce(async () => {
      const back = await control.giveBack();
      return proof(back.ok, back.summary, { chain: on, proxy, aggregator: back.aggregator });
    }),
  };
}

export const params = z
  .strictObject({
    source: oracleSource
      .optional()
      .describe("The price source that goes down. Exactly one of `source` and `chain`."),
    chain: chain
      .optional()
      .describe(
        "A chain that runs a team's deployment (deployment.yml): its real Chainlink feed of `pair` has no data, so reading it reverts. Exactly one of `source` and `chain`.",
      ),
    pair: pair.optional().describe("With `chain`: the feed that goes down (ETH/USD unless given)."),
    mode: z
      .enum(["refuse", "timeout"])
      .default("refuse")
      .describe(
        "With `source`: `refuse`, connections are refused; `timeout`, they hang and no answer comes.",
      ),
  })
  .describe(
    "A price source stops answering: its proxy refuses connections, or holds them until they time out.",
  );

export const oracleOutage = {
  type: "oracle_outage",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => (p.source !== undefined ? `oracle:${p.source}` : `feed:${p.chain}:${p.pair ?? "ETH/USD"}`),
  check: (p, chains) => {
    if ((p.source === undefined) === (p.chain === undefined))
      return [
        { path: [], message: "needs exactly one of source (a price source) and chain (a team's feed)" },
      ];
    if (p.source !== undefined && p.pair !== undefined)
      return [{ path: ["pair"], message: "only applies with chain: a source down is down for every pair" }];
    if (p.chain !== undefined && chains.names.includes(p.chain) && !chains.team.includes(p.chain))
      return [
        {
          path: ["chain"],
          message: `${p.chain} runs no team deployment in ${chains.from}: an on-chain outage acts on a team's real feeds (deployment.yml)`,
        },
      ];
    return [];
  },
  describe: (p) =>
    p.source !== undefined
      ? `price source ${p.source} unreachable (${p.mode === "refuse" ? "connections refused" : "requests time out"})${forText(p, formatDuration)}`
      : `the ${p.pair ?? "ETH/USD"} feed on ${p.chain} has no data (reads revert)${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    if (p.chain !== undefined) return feedWithoutData(ctx, p.chain, p.pair ?? "ETH/USD");
    const name = `oracle-${p.source}`;
    const target = { url: proxyUrl(ctx, name), path: "/price/ETH-USD" };
    const how = { mode: p.mode };
    const undo = await degradeProxy(ctx, name, how);
    return {
      proof: await proveDegraded(target, how, `price source ${p.source} via proxy ${name}`),
      heal: healOnce(async () => {
        await undo();
        return proveAnswering(ctx, name, target, `price source ${p.source}`);
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
