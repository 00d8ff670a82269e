/** A price source stops answering: its proxy refuses connections, or holds them until they time out. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { oracleSource } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { degradeProxy, proveAnswering, proveDegraded, proxyUrl } from "./network.ts";

export const params = z
  .strictObject({
    source: oracleSource.describe("The price source that goes down."),
    mode: z
      .enum(["refuse", "timeout"])
      .default("refuse")
      .describe("`refuse`: connections are refused; `timeout`: they hang and no answer comes."),
  })
  .describe(
    "A price source stops answering: its proxy refuses connections, or holds them until they time out.",
  );

export const oracleOutage = {
  type: "oracle_outage",
  params,
  window: "required",
  systems: ["price_oracles"],
  target: (p) => `oracle:${p.source}`,
  describe: (p) =>
    `price source ${p.source} unreachable (${p.mode === "refuse" ? "connections refused" : "requests time out"})${forText(p, formatDuration)}`,
  async inject(ctx, p) {
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
