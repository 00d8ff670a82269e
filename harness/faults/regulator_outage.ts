/** The regulator's endpoint, where compliance reports are filed, fails or slows down. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { type FaultDefinition, forText } from "./common.ts";
import type { FaultContext, Injected } from "./context.ts";
import {
  type Degrade,
  degradeAndProve,
  degradeOf,
  degradeParams,
  degradeText,
  latencyProblems,
} from "./network.ts";

export const params = z
  .strictObject(
    degradeParams(
      "`refuse`: connections are refused; `timeout`: they hang; `slow`: answers come `latency` late.",
      "Delay added to every response; required with `mode: slow`, and only allowed with it.",
    ),
  )
  .describe("The regulator's endpoint, where compliance reports are filed, fails or slows down.");

/** The proxy in front of the regulator endpoint. */
const PROXY = "regulator";

/** Degrades the regulator's proxy and proves it on `GET /health`; the heal proves it answers again. */
export function degradeRegulator(ctx: FaultContext, how: Degrade): Promise<Injected> {
  return degradeAndProve(
    ctx,
    PROXY,
    { url: ctx.lab.regulator.url, path: "/health" },
    how,
    "regulator endpoint",
  );
}

export const regulatorOutage = {
  type: "regulator_outage",
  params,
  window: "required",
  systems: ["regulator_endpoint"],
  target: () => "regulator",
  check: (p) => latencyProblems(p.mode, p.latency, "mode"),
  describe: (p) =>
    `regulator endpoint ${degradeText(p, { refuse: "refusing connections", timeout: "timing out", slow: "slowed by" }, formatDuration)}${forText(p, formatDuration)}`,
  inject: (ctx, p) => degradeRegulator(ctx, degradeOf(p.mode, p.latency)),
} as const satisfies FaultDefinition<typeof params>;
