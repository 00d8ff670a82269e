import * as chai from "chai";
import { firedrillChai } from "../../harness/assert/index.ts";
import { FiredrillError } from "../../harness/errors.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { makeJournal } from "../../harness/testing/journals.ts";

chai.use(firedrillChai as never);
const { expect } = chai;

function withPhases(
  journal: Journal,
  phases: Partial<Journal["phases"]>,
  extra: Partial<Journal> = {},
): Journal {
  return { ...journal, ...extra, phases: { ...journal.phases, ...phases } };
}

describe("chai plugin", () => {
  const base = makeJournal();

  it("meetRto passes within the RTO of the blast radius and fails past it, or when not recovered", () => {
    const rtoMs = base.systems.rto_seconds * 1000;
    expect(withPhases(base, { recovery_ms: rtoMs - 1 }, { deviated: false })).to.meetRto();
    expect(() =>
      expect(withPhases(base, { recovery_ms: rtoMs + 1 }, { deviated: false })).to.meetRto(),
    ).to.throw(/to recover within its RTO of 15m .* but it recovered in 15m/);
    expect(() => expect(withPhases(base, { recovery_ms: null })).to.meetRto()).to.throw(/recovered never/);
    expect(() => expect(withPhases(base, { recovery_ms: 1000 }, { deviated: true })).to.meetRto()).to.throw();
  });

  it("detectWithin and recoverWithin compare against a duration", () => {
    const j = withPhases(base, { detection_ms: 2500, recovery_ms: 40_000 });
    expect(j).to.detectWithin("3s");
    expect(j).not.to.detectWithin("2s");
    expect(j).to.recoverWithin("1m");
    expect(() => expect(j).to.recoverWithin("30s")).to.throw(
      /to recover within 30s, but it recovered in 40s/,
    );
    expect(() => expect(withPhases(base, { detection_ms: null })).to.detectWithin("1h")).to.throw(
      /detection took never/,
    );
  });

  it("loseNoRedemptions needs the redemption invariants, all passed", () => {
    const ok = {
      ...base,
      invariants: [{ name: "no accepted redemption lost", passed: true, detail: "all 5 settled" }],
    };
    expect(ok).to.loseNoRedemptions();
    const lost = {
      ...base,
      invariants: [{ name: "no accepted redemption lost", passed: false, detail: "2 of 5 did not settle" }],
    };
    expect(() => expect(lost).to.loseNoRedemptions()).to.throw(/2 of 5 did not settle/);
    expect(() => expect({ ...base, invariants: [] }).to.loseNoRedemptions()).to.throw(
      /no redemption invariant/,
    );
  });

  it("refuses what is not a journal", () => {
    expect(() => expect({ hello: 1 }).to.meetRto())
      .to.throw(FiredrillError, /expected a firedrill journal/)
      .with.property("code", "FD101");
  });
});
