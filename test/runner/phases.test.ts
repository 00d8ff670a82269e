import { join } from "node:path";
import { expect } from "chai";
import { ALERT_EVENTS } from "../../harness/contract/alerts.ts";
import { ROOT } from "../../harness/paths.ts";
import { seededRandom } from "../../harness/random.ts";
import { PHASES } from "../../harness/runner/journal.ts";
import { PhaseClock, type PhaseTimes } from "../../harness/runner/phases.ts";
import { RunRecord } from "../../harness/runner/record.ts";
import { loadScenario } from "../../harness/runner/scenario.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";
import { judge } from "../../harness/runner/verdicts.ts";

const map = loadSystemsMap(SHIPPED_MAP);
// Detection [CHAIN_HALTED], response [CROSS_CHAIN_FAILOVER]: the lists of the sequencer
// replay before SEQUENCER_DOWN was added to its detection list.
const SEQUENCER = loadScenario(join(ROOT, "test", "fixtures", "scenarios", "short-sequencer-halt.yml"), map);
const T0 = Date.parse("2026-03-01T12:00:00.000Z");
/** A run with faults injected and nothing else to judge than its phases. */
const NOTHING_ELSE = {
  seen: new Set<string>(),
  faults: [],
  invariants: [],
  load: null,
  deviated: false,
  injected: true,
};

/** Every pair of phases reached is in phase order. */
function expectMonotonic(times: PhaseTimes): void {
  const reached = PHASES.filter((p) => times[p] !== null);
  for (let i = 1; i < reached.length; i++) {
    expect(
      times[reached[i]!]!,
      `${reached[i]} before ${reached[i - 1]}: ${JSON.stringify(times)}`,
    ).to.be.at.least(times[reached[i - 1]!]!);
  }
}

describe("phase clock", () => {
  it("lets a response alert that comes before any detection alert reach detection too (sequencer halt)", () => {
    const clock = new PhaseClock(SEQUENCER.expect);
    clock.start(T0);
    // What the reference stack sent in the sequencer replay: SEQUENCER_DOWN is in no list,
    // CROSS_CHAIN_FAILOVER is in the response list, CHAIN_HALTED in the detection list.
    expect(clock.alert("SEQUENCER_DOWN", T0 + 50).reached).to.deep.equal([]);
    const failover = clock.alert("CROSS_CHAIN_FAILOVER", T0 + 52);
    expect(failover.reached.map((m) => [m.phase, m.ms, m.alert, m.via])).to.deep.equal([
      ["detection", 52, "CROSS_CHAIN_FAILOVER", "response"],
      ["response", 52, "CROSS_CHAIN_FAILOVER", null],
    ]);
    // The detection alert that comes later moves nothing: detection was reached already.
    expect(clock.alert("CHAIN_HALTED", T0 + 1650).reached).to.deep.equal([]);
    clock.recover(T0 + 40_558);
    expect(clock.times()).to.deep.equal({ detection: 52, response: 52, mitigation: null, recovery: 40_558 });
    expectMonotonic(clock.times());

    const verdicts = judge({ ...NOTHING_ELSE, scenario: SEQUENCER, clock });
    const reason = (name: string) => verdicts.find((v) => v.name.startsWith(name))?.reason;
    expect(reason("detection within")).to.equal(
      "52ms after the first injection (CROSS_CHAIN_FAILOVER, via response)",
    );
    expect(reason("response within")).to.equal("52ms after the first injection (CROSS_CHAIN_FAILOVER)");
    expect(verdicts.filter((v) => v.kind === "phase").every((v) => v.passed)).to.equal(true);
  });

  it("names the detection alert when detection comes first, and says when a limit is missed", () => {
    const scenario = { ...SEQUENCER, expect: { ...SEQUENCER.expect, within: { detection: 1000 } } };
    const clock = new PhaseClock(scenario.expect);
    clock.start(T0);
    clock.alert("CHAIN_HALTED", T0 + 1650);
    clock.alert("CROSS_CHAIN_FAILOVER", T0 + 1700);
    expect(clock.times()).to.include({ detection: 1650, response: 1700 });
    const verdicts = judge({ ...NOTHING_ELSE, scenario, clock });
    expect(verdicts.find((v) => v.name === "detection within 1s")?.reason).to.equal(
      "1s650ms after the first injection (CHAIN_HALTED), over the limit of 1s",
    );
  });

  it("reaches no phase with an alert received before the first injection", () => {
    const clock = new PhaseClock(SEQUENCER.expect);
    expect(clock.alert("CHAIN_HALTED", T0 - 10).reached).to.deep.equal([]);
    clock.start(T0);
    expect(clock.alert("CROSS_CHAIN_FAILOVER", T0 - 1).reached).to.deep.equal([]);
    expect(clock.times()).to.deep.equal({
      detection: null,
      response: null,
      mitigation: null,
      recovery: null,
    });
    expect(clock.alert("CHAIN_HALTED", T0).reached.map((m) => m.ms)).to.deep.equal([0]);
  });

  it("says when an expected alert it missed came before the first injection (a system still alarmed)", () => {
    // A second sequencer drill inside the grace period of the first: the stack failed over
    // at its start, before the halt, and had no reason to fail over again.
    const clock = new PhaseClock(SEQUENCER.expect);
    clock.start(T0);
    clock.alert("CROSS_CHAIN_FAILOVER", T0 - 2000);
    clock.alert("CHAIN_HALTED", T0 + 1620);
    const record = new RunRecord(new Date(T0 - 5000), undefined);
    for (const [name, atMs] of [
      ["SEQUENCER_DOWN", T0 - 2000],
      ["CROSS_CHAIN_FAILOVER", T0 - 2000],
      ["CHAIN_HALTED", T0 + 1620],
    ] as const)
      record.emit({ kind: "alert.received", name, atMs, summary: name });
    const early = record.alertsBefore(T0);
    expect([...early]).to.deep.equal(["SEQUENCER_DOWN", "CROSS_CHAIN_FAILOVER"]);
    expect(record.alertsBefore(undefined).size).to.equal(0);
    const reason = (verdicts: ReturnType<typeof judge>) =>
      verdicts.find((v) => v.name.startsWith("response within"))?.reason;
    expect(reason(judge({ ...NOTHING_ELSE, scenario: SEQUENCER, clock, early }))).to.equal(
      "none of CROSS_CHAIN_FAILOVER was received after the first injection; CROSS_CHAIN_FAILOVER came before it: the system was not in its steady state when the faults began",
    );
    // Nothing before the first injection: the plain reason.
    expect(reason(judge({ ...NOTHING_ELSE, scenario: SEQUENCER, clock, early: new Set() }))).to.equal(
      "none of CROSS_CHAIN_FAILOVER was received",
    );
  });
  it("reaches every earlier phase with a mitigation alert, each via the first later list that names it", () => {
    const clock = new PhaseClock({ detection: ["REPORT_FALLBACK"], mitigation: ["REPORT_FILED"] });
    clock.start(T0);
    const outcome = clock.alert("REPORT_FILED", T0 + 800);
    expect(outcome.reached.map((m) => [m.phase, m.ms, m.via])).to.deep.equal([
      ["detection", 800, "mitigation"],
      ["response", 800, "mitigation"],
      ["mitigation", 800, null],
    ]);
    expect(clock.source("response")).to.equal("(REPORT_FILED, via mitigation)");
  });

  it("counts recovery from an expected alert that trails the steady state, and takes no alert after it", () => {
    const clock = new PhaseClock(SEQUENCER.expect);
    clock.start(T0);
    clock.alert("CHAIN_HALTED", T0 + 1000);
    // The steady state held at +30 s; CROSS_CHAIN_FAILOVER came at +32 s, in the grace period.
    clock.alert("CROSS_CHAIN_FAILOVER", T0 + 32_000);
    const recovery = clock.recover(T0 + 30_000);
    expect(recovery).to.include({ ms: 32_000, steadyAtMs: T0 + 30_000, countedFrom: "response" });
    expect(clock.source("recovery")).to.equal(
      "(the steady state held again at 30s; counted from response, reached later by CROSS_CHAIN_FAILOVER)",
    );
    expectMonotonic(clock.times());

    const late = new PhaseClock(SEQUENCER.expect);
    late.start(T0);
    late.recover(T0 + 30_000);
    const outcome = late.alert("CHAIN_HALTED", T0 + 45_000);
    expect(outcome.reached).to.deep.equal([]);
    expect(outcome.ignored).to.equal(
      "CHAIN_HALTED came 45s after the first injection, after recovery was fixed at 30s, and reached no phase",
    );
    expect(late.times()).to.deep.equal({
      detection: null,
      response: null,
      mitigation: null,
      recovery: 30_000,
    });
    // The same event again is not reported a second time.
    expect(late.alert("CHAIN_HALTED", T0 + 46_000)).to.deep.equal({ reached: [], ignored: null });
  });

  it("never fixes a phase earlier than one before it, even when the wall clock steps back", () => {
    const clock = new PhaseClock(SEQUENCER.expect);
    clock.start(T0);
    clock.alert("CHAIN_HALTED", T0 + 500);
    const [response] = clock.alert("CROSS_CHAIN_FAILOVER", T0 + 400).reached;
    expect(response).to.include({ phase: "response", ms: 500, atMs: T0 + 500 });
  });

  it("keeps every phase in order for any order of alerts (500 seeded sequences)", () => {
    const random = seededRandom(20231215);
    const pick = <T>(items: readonly T[]) => items[random.int(items.length)]!;
    for (let run = 0; run < 500; run++) {
      const lists = () => Array.from({ length: 1 + random.int(3) }, () => pick(ALERT_EVENTS));
      const expectLists = {
        detection: lists(),
        ...(random.next() < 0.7 ? { response: lists() } : {}),
        ...(random.next() < 0.5 ? { mitigation: lists() } : {}),
      };
      const clock = new PhaseClock(expectLists);
      let now = T0 - 1000;
      for (let i = 0; i < 12; i++) {
        now += random.int(3000);
        if (i === 3) clock.start(now);
        if (i === 9) clock.recover(now);
        clock.alert(pick(ALERT_EVENTS), now);
        expectMonotonic(clock.times());
      }
      // Whatever reached a later phase reached every alert phase before it.
      const times = clock.times();
      for (const [i, phase] of (["detection", "response", "mitigation"] as const).entries())
        if (times[phase] !== null)
          for (const earlier of PHASES.slice(0, i)) expect(times[earlier], earlier).to.not.equal(null);
    }
  });
});
