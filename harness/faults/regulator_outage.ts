/** The regulator's endpoint, where compliance reports are filed, fails or slows down. */
import { z } from "zod";
import { formatDuration, positiveDuration } from "../duration.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import type { FaultContext, Injected } from "./context.ts";
import { type Degrade, degradeProxy, proveAnswering, proveDegraded } from "./network.ts";

export const params = z
  .strictObject({
    mode: z
      .enum(["refuse", "timeout", "slow"])
      .default("refuse")
      .describe(
        "`refuse`: connections are refused; `timeout`: they hang; `slow`: answers come `latency` late.",
      ),
    latency: positiveDuration
      .optional()
      .describe("Delay added to every response; required with `mode: slow`, and only allowed with it."),
  })
  .describe("The regulator's endpoint, where compliance reports are filed, fails or slows down.");

/** The rule shared with regulatory_pressure: `latency` goes with `slow` and only with it. */
export function latencyProblems(mode: string, latency: number | undefined, modeKey: string) {
  if (mode === "slow" && latency === undefined) {
    return [{ path: ["latency"], message: `is required when ${modeKey} is slow` }];
  }
  if (mode !== "slow" && latency !== undefined) {
    return [{ path: ["latency"], message: `only applies when ${modeKey} is slow, not ${mode}` }];
  }
  return [];
}

/** The proxy in front of the regulator endpoint. */
const PROXY = "regulator";

/** A mode of the schema as a proxy degradation. */
export function regulatorDegrade(
  mode: "refuse" | "timeout" | "slow",
  latencyMs: number | undefined,
): Degrade {
  return mode === "slow" ? { mode, latencyMs: latencyMs ?? 0 } : { mode };
}

/** Degrades the regulator's proxy and proves it on `GET /health`; the heal proves it answers again. */
export async function degradeRegulator(ctx: FaultContext, how: Degrade): Promise<Injected> {
  const target = { url: ctx.lab.regulator.url, path: "/health" };
  const undo = await degradeProxy(ctx, PROXY, how);
  return {
    proof: await proveDegraded(target, how, "regulator endpoint"),
    heal: healOnce(async () => {
      await undo();
      return proveAnswering(ctx, PROXY, target, "regulator endpoint");
    }),
  };
}

export const regulatorOutage = {
  type: "regulator_outage",
  params,
  window: "required",
  systems: ["regulator_endpoint"],
  target: () => "regulator",
  check: (p) => latencyProblems(p.mode, p.latency, "mode"),
  describe: (p) =>
    `regulator endpoint ${p.mode === "slow" ? `slowed by ${formatDuration(p.latency ?? 0)}` : p.mode === "refuse" ? "refusing connections" : "timing out"}${forText(p, formatDuration)}`,
  inject: (ctx, p) => degradeRegulator(ctx, regulatorDegrade(p.mode, p.latency)),
} as const satisfies FaultDefinition<typeof params>;
