import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import { incidentAlert } from "../../harness/runner/incident.ts";
import type { TimelineEvent } from "../../harness/runner/journal.ts";
import { PhaseClock } from "../../harness/runner/phases.ts";
import { loadScenario } from "../../harness/runner/scenario.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";

const map = loadSystemsMap(SHIPPED_MAP);
// Ethereum's primary RPC provider down; detection [RPC_FAILOVER].
const SCENARIO = loadScenario(join(ROOT, "test", "fixtures", "scenarios", "short-rpc-outage.yml"), map);
const T0 = Date.parse("2026-03-01T12:00:00.000Z");

/** The runner's timeline and phases for a run in which RPC_FAILOVER arrives at `alertAt` (ms from the first injection). */
function run(alertAt: number): { timeline: TimelineEvent[]; phases: ReturnType<PhaseClock["times"]> } {
  const event = (t: number, e: Omit<TimelineEvent, "at" | "t_ms">): TimelineEvent => ({
    at: new Date(T0 + t).toISOString(),
    t_ms: t,
    ...e,
  });
  const clock = new PhaseClock(SCENARIO.expect);
  clock.start(T0);
  clock.alert("RPC_FAILOVER", T0 + alertAt);
  const timeline = [
    event(-2000, { kind: "probe.ok", name: "http_ok", summary: "HTTP 200" }),
    event(alertAt, {
      kind: "alert.received",
      name: "RPC_FAILOVER",
      severity: "high",
      system: "rpc_providers",
      chain: "ethereum",
      summary: "RPC_FAILOVER (high) from rpc_providers on ethereum",
    }),
    event(0, { kind: "fault.injected", fault: 0, summary: "ethereum primary RPC provider down for 4s" }),
  ].sort((a, b) => a.t_ms - b.t_ms);
  return { timeline, phases: clock.times() };
}

describe("incident alert", () => {
  it("ticks no box for an alert the stack posted before the first injection", () => {
    const { timeline, phases } = run(-500);
    expect(phases.detection).to.equal(null);
    const { text } = incidentAlert(SCENARIO, timeline, "failed", phases, T0);
    expect(text).to.include("**Current Status**: Unresolved");
    expect(text).to.include("- [ ] Primary systems status verified");
    expect(text).to.include("- [ ] Secondary systems activated");
    expect(text).to.include("- [ ] Team notification sent");
    expect(text).to.include("2. Review detection gap");
  });

  it("ticks the boxes for the same alert received after the first injection", () => {
    const { timeline, phases } = run(300);
    expect(phases.detection).to.equal(300);
    const { text } = incidentAlert(SCENARIO, timeline, "completed", phases, T0);
    expect(text).to.include("**Current Status**: Investigation");
    expect(text).to.include("- [x] Primary systems status verified");
    expect(text).to.include("- [x] Secondary systems activated");
    expect(text).to.include("- [x] Team notification sent");
  });

  it("counts an alert received at the very moment of the first injection", () => {
    const { timeline, phases } = run(0);
    const { text } = incidentAlert(SCENARIO, timeline, "completed", phases, T0);
    expect(text).to.include("- [x] Secondary systems activated");
    expect(text).to.include("- [x] Team notification sent");
  });

  it("counts no alert when nothing was injected", () => {
    const { timeline, phases } = run(300);
    const { text } = incidentAlert(SCENARIO, timeline, "failed", phases, null);
    expect(text).to.include("- [ ] Secondary systems activated");
    expect(text).to.include("- [ ] Team notification sent");
  });
});
