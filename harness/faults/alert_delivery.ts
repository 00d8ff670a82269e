/**
 * The path from the system under test to its pager breaks: alert deliveries are refused,
 * hang, or arrive late. The runner puts a proxy of the lab's Toxiproxy between the SUT and
 * the alert receiver for a scenario with this fault, so that the drill measures what a team
 * meets when its alerting cannot reach whoever is paged (Alertmanager that cannot reach
 * PagerDuty, a webhook behind a broken egress).
 */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { labError } from "../errors.ts";
import { type FaultDefinition, forText } from "./common.ts";
import { degradeAndProve, degradeOf, degradeParams, degradeText, latencyProblems } from "./network.ts";

export const params = z
  .strictObject(
    degradeParams(
      "`refuse`: deliveries are refused; `timeout`: they hang and no answer comes; `slow`: they arrive `latency` late.",
      "Delay added to every delivery; required with `mode: slow`, and only allowed with it.",
    ),
  )
  .describe("Alert deliveries from the system under test to the alert receiver fail or arrive late.");

export const alertDelivery = {
  type: "alert_delivery",
  params,
  window: "required",
  systems: ["alert_path"],
  target: () => "alerts",
  check: (p) => latencyProblems(p.mode, p.latency, "mode"),
  describe: (p) =>
    `alert deliveries ${degradeText(p, { refuse: "refused", timeout: "hanging", slow: "delayed by" }, formatDuration)}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const path = ctx.alertPath;
    if (path === undefined)
      throw labError("alert path", "this run has no proxy in front of its alert receiver");
    // A GET is answered 405 by the receiver: enough to show the path carries requests.
    return degradeAndProve(
      ctx,
      path.proxy,
      { url: path.url, path: "/alerts" },
      degradeOf(p.mode, p.latency),
      "alert path",
    );
  },
} as const satisfies FaultDefinition<typeof params>;
