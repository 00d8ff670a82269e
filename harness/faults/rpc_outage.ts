/** One RPC provider of a chain fails while the chain itself goes on. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { chain, rpcProvider } from "../names.ts";
import { head } from "./chain.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import { degradeProxy, proveAnswering, proveDegraded, proxyUrl, rpcProbe } from "./network.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider fails."),
    provider: rpcProvider.describe("The RPC provider that fails."),
    mode: z
      .enum(["refuse", "timeout"])
      .default("refuse")
      .describe("`refuse`: connections are refused; `timeout`: they hang and no answer comes."),
  })
  .describe("One RPC provider of a chain fails while the chain itself goes on.");

export const rpcOutage = {
  type: "rpc_outage",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} down (${p.mode === "refuse" ? "connections refused" : "requests time out"})${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const name = `${p.chain}-${p.provider}`;
    const target = rpcProbe(proxyUrl(ctx, name));
    const how = { mode: p.mode };
    const undo = await degradeProxy(ctx, name, how);
    const measured = await proveDegraded(target, how, `${p.provider} RPC of ${p.chain}`);
    // The provider fails, not the chain: the node itself still answers.
    const nodeHead = await head(ctx, p.chain);
    return {
      proof: proof(measured.tookEffect, `${measured.summary}; node head ${nodeHead}`, {
        ...measured.evidence,
        nodeHead,
      }),
      heal: healOnce(async () => {
        await undo();
        return proveAnswering(ctx, name, target, `${p.provider} RPC of ${p.chain}`);
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
