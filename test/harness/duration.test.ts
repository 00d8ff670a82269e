import { expect } from "chai";
import { formatDuration, parseDuration } from "../../harness/duration.ts";
import { FiredrillError } from "../../harness/errors.ts";
import { labConfigSchema } from "../../harness/lab/config.ts";
import { parseProfile, scheduledMs } from "../../harness/loadgen/profile.ts";
import { parseScenario } from "../../harness/runner/scenario.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";

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

describe("one grammar for scenarios, the lab config and load profiles", () => {
  const map = loadSystemsMap(SHIPPED_MAP);
  const blockTime = (text: string) =>
    labConfigSchema.parse({ chains: { polygon: { chain_id: 137, block_time: text } } }).chains.polygon!
      .block_time;
  const faultFor = (text: string) =>
    parseScenario(
      "t.yml",
      `name: t\ntargets: [chains]\nsteady_state:\n  - probe: gateway_ok\nfaults:\n  - type: gas_spike\n    chain: ethereum\n    gwei: 500\n    for: ${text}\nexpect:\n  detection: [GAS_SPIKE]\n`,
      map,
    ).faults[0]!.for;
  const profileDuration = (text: string) => {
    const data = parseProfile(
      { scenarios: { a: { executor: "constant-vus", exec: "mint", vus: 1, duration: text } } },
      "p.json",
    );
    return scheduledMs(data.scenarios["a"]!);
  };

  for (const text of ["1m30s", "1.5s", "2m500ms", "1h"]) {
    it(`reads ${text} the same everywhere`, () => {
      const ms = parseDuration(text);
      expect(blockTime(text), "lab config").to.equal(ms);
      expect(faultFor(text), "scenario").to.equal(ms);
      expect(profileDuration(text), "load profile").to.equal(ms);
    });
  }

  for (const text of ["10", "5x", "1 minute", "1.5ms"]) {
    it(`refuses ${JSON.stringify(text)} everywhere`, () => {
      expect(() => blockTime(text), "lab config").to.throw();
      expect(() => faultFor(text), "scenario").to.throw(FiredrillError);
      expect(() => profileDuration(text), "load profile").to.throw(
        FiredrillError,
        /p\.json scenarios\.a\.duration/,
      );
    });
  }
});
