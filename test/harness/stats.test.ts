import { expect } from "chai";
import { median, percentile } from "../../harness/stats.ts";

describe("stats", () => {
  it("percentile is the nearest rank, whatever the order of the values", () => {
    const values = [50, 10, 40, 20, 30, 100, 90, 60, 80, 70];
    expect(percentile(values, 50)).to.equal(50);
    expect(percentile(values, 95)).to.equal(100);
    expect(percentile(values, 10)).to.equal(10);
    expect(percentile(values, 0)).to.equal(10);
    expect(percentile(values, 100)).to.equal(100);
    expect(percentile([7], 99)).to.equal(7);
    expect(values[0], "the input is not sorted in place").to.equal(50);
    expect(percentile([], 50)).to.be.NaN;
  });

  it("median takes the mean of the middle two for an even count", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([])).to.be.NaN;
  });
});
