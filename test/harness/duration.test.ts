import { expect } from "chai";
import { formatDuration, parseDuration } from "../../harness/duration.ts";
import { FiredrillError } from "../../harness/errors.ts";

describe("parseDuration", () => {
  it("parses every unit into milliseconds", () => {
    expect(parseDuration("500ms")).to.equal(500);
    expect(parseDuration("10s")).to.equal(10_000);
    expect(parseDuration("15m")).to.equal(900_000);
    expect(parseDuration("2h")).to.equal(7_200_000);
    expect(parseDuration("1d")).to.equal(86_400_000);
    expect(parseDuration("0s")).to.equal(0);
  });

  it("parses sums and decimals that come to whole milliseconds", () => {
    expect(parseDuration("1h30m")).to.equal(5_400_000);
    expect(parseDuration("1.5s")).to.equal(1_500);
    expect(parseDuration("2m500ms")).to.equal(120_500);
  });

  for (const bad of [
    "",
    " ",
    "10",
    "10 s",
    "ten seconds",
    "-5s",
    "5x",
    "s",
    "1.5ms",
    "1y",
    "10s ",
    "400d",
    "1e3s",
  ]) {
    it(`rejects ${JSON.stringify(bad)} with FD203`, () => {
      expect(() => parseDuration(bad))
        .to.throw(FiredrillError)
        .with.property("code", "FD203");
    });
  }

  it("says what is wrong", () => {
    expect(() => parseDuration("10")).to.throw(/has no unit/);
    expect(() => parseDuration("-5s")).to.throw(/negative/);
    expect(() => parseDuration("5x")).to.throw(/e\.g\. 500ms, 10s/);
  });
});

describe("formatDuration", () => {
  it("uses the largest exact units and round-trips through parseDuration", () => {
    expect(formatDuration(900_000)).to.equal("15m");
    expect(formatDuration(90_000)).to.equal("1m30s");
    expect(formatDuration(0)).to.equal("0s");
    expect(formatDuration(1_500)).to.equal("1s500ms");
    for (const ms of [1, 999, 61_000, 7_200_000, 86_400_001])
      expect(parseDuration(formatDuration(ms))).to.equal(ms);
  });
});
