import { join } from "node:path";
import { expect } from "chai";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import { ROOT } from "../harness/paths.ts";

const CONFIG = join(ROOT, ".dependency-cruiser.mjs");
const FIXTURE = join(ROOT, "test", "fixtures", "layers");

/** Every import that breaks a rule of the config, as `from -> to (rule)`; known violations left out. */
async function violations(baseDir: string): Promise<string[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const { output } = await cruise(["harness", "bench", "test"], { ...options, baseDir });
  return (output as ICruiseResult).summary.violations
    .filter((v) => v.rule.severity !== "ignore")
    .map((v) => `${v.from} -> ${v.cycle ? v.cycle.map((m) => m.name).join(" -> ") : v.to} (${v.rule.name})`)
    .sort();
}

describe("import layers", function () {
  this.timeout(120_000);

  it("harness/, bench/ and test/ keep to the rules of .dependency-cruiser.mjs", async () => {
    const found = await violations(ROOT);
    expect(found, `imports that break the layers:\n  ${found.join("\n  ")}\n`).to.deep.equal([]);
  });

  it("the rules report every kind of upward import in a tree built to break them", async () => {
    expect(await violations(FIXTURE)).to.deep.equal([
      "bench/b.ts -> test/t.ts (bench-not-test)",
      "harness/assert/index.ts -> harness/runner/scenario.ts (assert-reads-journals)",
      "harness/contract/env.ts -> harness/runner/scenario.ts (contract-on-ground)",
      "harness/duration.ts -> harness/runner/scenario.ts (ground-floor)",
      "harness/faults/halt.ts -> harness/runner/scenario.ts (faults-below-runner)",
      "harness/faults/outage.ts -> harness/lab/command.ts (commands-on-top)",
      "harness/gameday/room.ts -> harness/stack/index.ts (gameday-above-runner)",
      "harness/lab/index.ts -> harness/runner/scenario.ts (lab-below-faults)",
      "harness/loadgen/k6.ts -> test/t.ts (harness-not-bench-test)",
      "harness/loadgen/profile.ts -> harness/lab/index.ts (loadgen-on-contract)",
      "harness/proxy/server.ts -> harness/lab/index.ts (proxy-on-ground)",
      "harness/report/html.ts -> harness/runner/scenario.ts (report-reads-journals)",
      "harness/runner/a.ts -> harness/runner/b.ts -> harness/runner/a.ts (no-circular)",
      "harness/runner/run.ts -> harness/testing/helper.ts (runner-below-commands)",
      "harness/runner/run.ts -> harness/testing/helper.ts (testing-for-bench-and-test)",
      "harness/runner/sut.ts -> harness/stack/index.ts (runner-below-commands)",
      "harness/stack/index.ts -> harness/lab/index.ts (stack-sees-contract)",
    ]);
  });

  it("every rule of the config is exercised by that tree", async () => {
    const options = await extractDepcruiseOptions(CONFIG);
    const rules = (options.ruleSet?.forbidden ?? []).map((r) => r.name);
    const reported = new Set((await violations(FIXTURE)).map((v) => /\(([^)]+)\)$/.exec(v)![1]));
    expect(rules.filter((name) => !reported.has(name!))).to.deep.equal([]);
  });
});
