/**
 * A float comparison for tests. Hardhat's chai matchers, installed on the global chai when
 * the whole suite runs, take over closeTo/within and refuse non-integer arguments.
 */
import { AssertionError } from "chai";

/** Fails unless |actual - expected| <= delta. */
export function expectNear(actual: unknown, expected: number, delta: number, what = "value"): void {
  if (typeof actual !== "number" || !(Math.abs(actual - expected) <= delta)) {
    throw new AssertionError(`expected ${what} ${String(actual)} to be within ${delta} of ${expected}`);
  }
}
