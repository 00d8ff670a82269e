/** One RPC provider of a chain answers slowly. */
import { z } from "zod";
import { duration, formatDuration, positiveDuration } from "../duration.ts";
import { chain, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import { degradeProxy, probe, proveAnswering, proveDegraded, proxyUrl, rpcProbe } from "./network.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider slows down."),
    provider: rpcProvider.describe("The RPC provider that slows down."),
    latency: positiveDuration.describe("Delay added to every response."),
    jitter: duration
      .default(0)
      .describe(
        "Random spread around `latency`, at most `latency`; drawn by Toxiproxy, outside the run's seed.",
      ),
  })
  .describe("One RPC provider of a chain answers slowly.");

export const rpcLatency = {
  type: "rpc_latency",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  check: (p) =>
    p.jitter > p.latency
      ? [{ path: ["jitter"], message: `must not exceed latency (${formatDuration(p.latency)})` }]
      : [],
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} slowed by ${formatDuration(p.latency)}${p.jitter > 0 ? ` ± ${formatDuration(p.jitter)}` : ""}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const name = `${p.chain}-${p.provider}`;
    const target = rpcProbe(proxyUrl(ctx, name));
    const baseline = await probe(target, 2_000);
    // Toxiproxy draws the jitter itself: it is the one randomness outside the run's seed.
    const how = { mode: "slow" as const, latencyMs: p.latency, jitterMs: p.jitter };
    const undo = await degradeProxy(ctx, name, how);
    return {
      proof: await proveDegraded(target, how, `${p.provider} RPC of ${p.chain}`, baseline),
      heal: healOnce(async () => {
        await undo();
        // Faster than the fault's floor, when the floor stands out from the baseline.
        const floor = p.latency - p.jitter;
        const healed = await proveAnswering(
          ctx,
          name,
          target,
          `${p.provider} RPC of ${p.chain}`,
          Math.max(floor * 0.5, baseline.ms * 3 + 20),
        );
        return proof(healed.tookEffect, `${healed.summary} (${baseline.ms} ms before the fault)`, {
          ...healed.evidence,
          baseline,
        });
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
