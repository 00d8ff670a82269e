/**
 * Chai assertions on firedrill journals, for a release gate in a mocha suite:
 *
 *   import * as chai from "chai";
 *   import { firedrillChai } from "firedrill/assert";
 *   chai.use(firedrillChai);
 *   expect(journal).to.meetRto();
 *   expect(journal).to.detectWithin("10s");
 *   expect(journal).to.recoverWithin("15m");
 *   expect(journal).to.loseNoRedemptions();
 */
import { formatDuration, parseDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { JOURNAL_VERSION, type Journal } from "../runner/journal.ts";

declare global {
  namespace Chai {
    interface Assertion {
      /** Recovered within the RTO of the tightest system it touched (blast radius). */
      meetRto(): Assertion;
      /** Recovered within `limit` (a duration like "15m") of the first injection. */
      recoverWithin(limit: string): Assertion;
      /** Detected within `limit` of the first injection. */
      detectWithin(limit: string): Assertion;
      /** Every accepted redemption settled, and none was paid twice. */
      loseNoRedemptions(): Assertion;
    }
  }
}

type ChaiStatic = {
  Assertion: {
    addMethod(
      name: string,
      fn: (this: Chai.AssertionStatic & { _obj: unknown }, ...args: never[]) => void,
    ): void;
  };
};

function journalOf(value: unknown): Journal {
  const j = value as Partial<Journal> | null;
  const version = j?.version as number | undefined;
  if (
    !j ||
    typeof j !== "object" ||
    version === undefined ||
    version < 1 ||
    version > JOURNAL_VERSION ||
    !j.phases ||
    !j.systems
  ) {
    throw new FiredrillError(
      "FD101",
      `expected a firedrill journal (version 1 to ${JOURNAL_VERSION}); read one with readJournal()`,
    );
  }
  return j as Journal;
}

const fmt = (ms: number | null) => (ms === null ? "never" : formatDuration(Math.round(ms)));

/** The chai plugin: `chai.use(firedrillChai)`. */
export function firedrillChai(chai: ChaiStatic): void {
  const { Assertion } = chai;

  Assertion.addMethod("meetRto", function () {
    const j = journalOf(this._obj);
    const limit = j.systems.rto_seconds * 1000;
    const measured = j.phases.recovery_ms;
    this.assert(
      measured !== null && measured <= limit && !j.deviated,
      `expected ${j.scenario.name} to recover within its RTO of ${fmt(limit)} (${j.systems.rto_system}), but it recovered ${measured === null ? "never" : `in ${fmt(measured)}`}`,
      `expected ${j.scenario.name} not to meet its RTO of ${fmt(limit)}, but it recovered in ${fmt(measured)}`,
      limit,
      measured,
    );
  });

  Assertion.addMethod("recoverWithin", function (limit: string) {
    const j = journalOf(this._obj);
    const ms = parseDuration(limit);
    const measured = j.phases.recovery_ms;
    this.assert(
      measured !== null && measured <= ms,
      `expected ${j.scenario.name} to recover within ${limit}, but it recovered ${measured === null ? "never" : `in ${fmt(measured)}`}`,
      `expected ${j.scenario.name} not to recover within ${limit}, but it recovered in ${fmt(measured)}`,
      ms,
      measured,
    );
  });

  Assertion.addMethod("detectWithin", function (limit: string) {
    const j = journalOf(this._obj);
    const ms = parseDuration(limit);
    const measured = j.phases.detection_ms;
    this.assert(
      measured !== null && measured <= ms,
      `expected ${j.scenario.name} to detect within ${limit}, but detection took ${fmt(measured)}`,
      `expected ${j.scenario.name} not to detect within ${limit}, but it detected in ${fmt(measured)}`,
      ms,
      measured,
    );
  });

  Assertion.addMethod("loseNoRedemptions", function () {
    const j = journalOf(this._obj);
    const relevant = j.invariants.filter(
      (i) => i.name === "no accepted redemption lost" || i.name === "no redemption paid twice",
    );
    const failed = relevant.filter((i) => !i.passed);
    this.assert(
      relevant.length > 0 && failed.length === 0,
      relevant.length === 0
        ? `expected ${j.scenario.name} to have checked its redemptions, but its journal has no redemption invariant`
        : `expected ${j.scenario.name} to lose no redemption, but: ${failed.map((i) => i.detail).join("; ")}`,
      `expected ${j.scenario.name} to lose a redemption, but every redemption settled once`,
    );
  });
}
