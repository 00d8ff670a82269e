import { expect } from "chai";
import {
  ageWeight,
  overallScore,
  resultValue,
  scoreHistory,
  systemScores,
} from "../../harness/report/score.ts";
import type { Journal } from "../../harness/runner/journal.ts";
import { makeJournal } from "../../harness/testing/journals.ts";

const DAY = 86_400_000;

/** A fixture journal of template `scenario` ended at `endMs`, passed or failed. */
function drill(scenario: number, endMs: number, fail = false, status?: Journal["status"]): Journal {
  const journal = makeJournal({ scenario, fail, ...(status ? { status } : {}) });
  return { ...journal, ended_at: new Date(endMs).toISOString() };
}

describe("the resilience score", () => {
  const now = Date.parse("2026-12-01T00:00:00Z");

  it("values a pass 1, a failure half, an interruption not at all; a result keeps 75% per 30 days", () => {
    expect(resultValue(drill(0, now))).to.equal(1);
    expect(resultValue(drill(0, now, true))).to.equal(0.5);
    expect(resultValue(drill(0, now, false, "interrupted"))).to.equal(null);
    expect(ageWeight(0)).to.equal(1);
    // (Not closeTo: another test's chai plugin makes it compare bigints.)
    expect(Math.abs(ageWeight(30 * DAY) - 0.75)).to.be.below(1e-12);
    expect(Math.abs(ageWeight(60 * DAY) - 0.5625)).to.be.below(1e-12);
  });

  it("scores each targeted system by its latest judged drill, decayed by its age", () => {
    // Template 0 targets price_oracles (tier 1); template 3 targets compliance_tools (tier 2).
    const journals = [
      drill(0, now - 60 * DAY),
      drill(0, now - 30 * DAY, true),
      drill(3, now - 10 * DAY),
      drill(3, now - DAY, false, "interrupted"),
    ];
    const scores = systemScores(journals, now);
    const oracles = scores.find((s) => s.name === "price_oracles")!;
    expect(oracles).to.deep.include({ tier: 1, score: 37.5, drills: 2 });
    expect(oracles.last).to.deep.include({ passed: false });
    const regulator = scores.find((s) => s.name === "compliance_tools")!;
    expect(regulator.score).to.equal(Math.round(1000 * 0.75 ** (10 / 30)) / 10);
    expect(regulator.drills).to.equal(1);
    // Only targets count: a dependent of the blast radius is not drilled by the drill.
    expect(scores.map((s) => s.name)).to.not.include("collateral_management");
    // Tier-weighted: tier 1 weighs 3, tier 2 weighs 2.
    expect(overallScore(scores)).to.equal(Math.round(((3 * 37.5 + 2 * regulator.score) / 5) * 10) / 10);
  });

  it("counts systems never drilled as 0 when it is told of them, and keeps a history", () => {
    const journals = [drill(0, now - DAY)];
    const scores = systemScores(journals, now, [
      { name: "price_oracles", tier: 1 },
      { name: "chains", tier: 1 },
    ]);
    expect(scores.find((s) => s.name === "chains")).to.deep.include({ score: 0, last: null, drills: 0 });
    expect(overallScore(scores)).to.be.below(50);
    const history = scoreHistory([drill(0, now - 2 * DAY, true), drill(0, now - DAY)]);
    expect(history.map((h) => h.score)).to.deep.equal([50, 100]);
    expect(overallScore([])).to.equal(null);
  });
});
