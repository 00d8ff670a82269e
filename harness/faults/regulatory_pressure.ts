/**
 * A regulator demands an emergency report within a deadline while its endpoint degrades:
 * the stack must file it, or fall back to a manual submission, in time.
 */
import { z } from "zod";
import { type ReportRequest, ROUTES } from "../contract/gateway.ts";
import { formatDuration, positiveDuration } from "../duration.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import { degradeOf, latencyProblems, probe, proveAnswering } from "./network.ts";
import { degradeRegulator } from "./regulator_outage.ts";

export const params = z
  .strictObject({
    report: z
      .enum(["reserve_report", "transaction_report", "incident_report"])
      .default("incident_report")
      .describe("The report demanded."),
    deadline: positiveDuration.describe(
      "Time allowed to file the report (or fall back to a manual submission).",
    ),
    degrade: z
      .enum(["none", "refuse", "timeout", "slow"])
      .default("refuse")
      .describe(
        "How the regulator's endpoint degrades meanwhile, as `mode` of `regulator_outage`; `none` leaves it up.",
      ),
    latency: positiveDuration
      .optional()
      .describe("Delay added to every response; required with `degrade: slow`, and only allowed with it."),
  })
  .describe(
    "A regulator demands an emergency report within a deadline (`POST /reports` on the system under test's gateway) while its endpoint degrades: the stack must file it, or fall back to a manual submission, in time.",
  );

/**
 * Delivers the demand to the system under test: `POST /reports` on its gateway with the
 * report kind and the deadline, as a regulator's request reaches an operator.
 */
async function deliverDemand(
  ctx: Parameters<(typeof regulatoryPressure)["inject"]>[0],
  report: string,
  deadlineMs: number,
): Promise<{ delivered: boolean; status: number | string }> {
  if (!ctx.gateway) return { delivered: false, status: "no gateway" };
  try {
    const response = await fetch(`${ctx.gateway.url}${ROUTES.reports.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ctx.gateway.token}` },
      body: JSON.stringify({ report, deadline_ms: deadlineMs } satisfies ReportRequest),
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    return { delivered: response.ok, status: response.status };
  } catch (error) {
    return { delivered: false, status: (error as Error).message };
  }
}

export const regulatoryPressure = {
  type: "regulatory_pressure",
  params,
  window: "required",
  systems: ["compliance_tools", "regulator_endpoint"],
  target: () => "regulator",
  check: (p) => latencyProblems(p.degrade, p.latency, "degrade"),
  describe: (p) =>
    `${p.report.replace("_", " ")} demanded within ${formatDuration(p.deadline)}, regulator endpoint ${p.degrade === "none" ? "healthy" : p.degrade === "slow" ? `slowed by ${formatDuration(p.latency ?? 0)}` : p.degrade === "refuse" ? "refusing connections" : "timing out"}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const demandedAtMs = Date.now();
    // The runner judges the stack by this demand: REPORT_FILED or REPORT_FALLBACK before the deadline.
    const demand = {
      report: p.report,
      demandedAt: new Date(demandedAtMs).toISOString(),
      deadlineMs: p.deadline,
      deadlineAt: new Date(demandedAtMs + p.deadline).toISOString(),
      expect: ["REPORT_FILED", "REPORT_FALLBACK"],
    };
    ctx.log(`regulatory pressure: ${p.report} demanded by ${demand.deadlineAt}`);
    const demandText = `${p.report.replace("_", " ")} demanded at ${demand.demandedAt}, due by ${demand.deadlineAt}`;
    if (p.degrade === "none") {
      const target = { url: ctx.lab.regulator.url, path: "/health" };
      const answer = await probe(target, 2_000);
      const delivery = await deliverDemand(ctx, p.report, p.deadline);
      return {
        proof: proof(
          delivery.delivered,
          `${demandText}; demand delivered to the stack: ${delivery.delivered ? "yes" : "no"} (${delivery.status}); regulator endpoint healthy (HTTP ${answer.status ?? answer.error})`,
          { demand, delivery, probe: answer },
        ),
        heal: healOnce(async () => {
          const healed = await proveAnswering(ctx, "regulator", target, "regulator endpoint");
          return proof(healed.tookEffect, `demand lifted; ${healed.summary}`, { ...healed.evidence, demand });
        }),
      };
    }
    const degraded = await degradeRegulator(ctx, degradeOf(p.degrade, p.latency));
    // The regulator is degraded first, so that the stack's filing meets the degraded endpoint.
    const delivery = await deliverDemand(ctx, p.report, p.deadline);
    return {
      proof: proof(
        degraded.proof.tookEffect && delivery.delivered,
        `${demandText}; demand delivered to the stack: ${delivery.delivered ? "yes" : "no"} (${delivery.status}); ${degraded.proof.summary}`,
        { ...degraded.proof.evidence, demand, delivery },
      ),
      heal: healOnce(async () => {
        const healed = await degraded.heal();
        return proof(healed.tookEffect, `demand lifted; ${healed.summary}`, { ...healed.evidence, demand });
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
