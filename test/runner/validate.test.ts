import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../harness/paths.ts";
import { type CliResult, mapLimit, runCli } from "./cli-run.ts";

interface BadCase {
  file: string;
  line: number;
  field: string;
  code: string;
  contains: string;
}

const BAD = "test/fixtures/bad";
const cases: BadCase[] = JSON.parse(readFileSync(join(ROOT, BAD, "cases.json"), "utf8"));

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("firedrill validate: the bad-input corpus", function () {
  this.timeout(120_000);
  const results = new Map<string, CliResult>();

  before(async () => {
    // Child processes run a few at a time: each start of the CLI costs about half a second.
    const runs = await mapLimit(cases, 4, (c) => runCli(["validate", `${BAD}/${c.file}`]));
    cases.forEach((c, i) => {
      results.set(c.file, runs[i]!);
    });
  });

  it("has at least 30 broken files, each with an expected error", () => {
    // Files that are not even YAML end in .yml.txt, so that the linter leaves them alone.
    const files = readdirSync(join(ROOT, BAD)).filter((f) => /\.yml(\.txt)?$/.test(f));
    expect(cases.length).to.be.at.least(30);
    expect(files.sort()).to.deep.equal(cases.map((c) => c.file).sort());
  });

  for (const c of cases) {
    it(`${c.file}: exit 2, "${c.file}:${c.line}${c.field ? ` ${c.field}` : ""}: ${c.contains}"`, () => {
      const result = results.get(c.file)!;
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stdout).to.equal("");
      const lines = result.stderr.split("\n").filter((l) => l !== "");
      expect(lines, result.stderr).to.have.length(1);
      const where = `${BAD}/${c.file}:${c.line}${c.field ? ` ${c.field}` : ""}: `;
      expect(lines[0]).to.match(
        new RegExp(`^${escapeRegExp(where)}.*${escapeRegExp(c.contains)}.* \\(${c.code}\\)$`),
      );
      expect(result.stderr).not.to.match(/^\s+at /m);
    });
  }
});

describe("firedrill validate", function () {
  this.timeout(60_000);

  it("accepts every shipped scenario, the systems map and the KPI file", async () => {
    const files = readdirSync(join(ROOT, "scenarios")).filter((f) => f.endsWith(".yml"));
    const result = await runCli(["validate", "scenarios"]);
    expect(result.stderr).to.equal("");
    expect(result.code).to.equal(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).to.have.length(files.length);
    expect(lines.every((l) => l.startsWith("ok scenarios/"))).to.equal(true);
    expect(result.stdout).to.include("ok scenarios/systems-map.yml: systems map, 16 systems in 3 tiers");
    expect(result.stdout).to.include("ok scenarios/kpis.yml: KPIs, 6 detectors");
    expect(result.stdout).to.include("scenario regulatory-pressure, tier 2, RTO 2h");
  });

  it("rejects two scenarios with the same name, at the second one's name", async () => {
    const result = await runCli([
      "validate",
      "test/fixtures/dup-names/a.yml",
      "test/fixtures/dup-names/b.yml",
    ]);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.match(/^ok test\/fixtures\/dup-names\/a\.yml/);
    expect(result.stderr.trim()).to.equal(
      'test/fixtures/dup-names/b.yml:1 name: duplicate scenario name "same-name" (also in test/fixtures/dup-names/a.yml) (FD207)',
    );
  });

  it("prints one line per file and exits 2 when any is bad", async () => {
    const result = await runCli([
      "validate",
      "scenarios/gas-spike.yml",
      `${BAD}/unknown-fault.yml`,
      "nope.yml",
    ]);
    expect(result.code).to.equal(2);
    expect(result.stdout.trim().split("\n")).to.have.length(1);
    const errors = result.stderr.trim().split("\n");
    expect(errors).to.have.length(2);
    expect(errors[1]).to.equal("nope.yml: no such file (FD200)");
  });

  it("reports a tier inversion in a map as a warning, not an error", async () => {
    const result = await runCli(["validate", "test/fixtures/maps/inversion.systems-map.yml"]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include("1 tier inversion (see firedrill map --check)");
  });

  it("is a usage error without files", async () => {
    const result = await runCli(["validate"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include("FD100");
  });
});

describe("firedrill map", function () {
  this.timeout(60_000);

  it("prints tiers, RTOs and each system's blast radius", async () => {
    const result = await runCli(["map"]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include("tier 1 critical, RTO 15m");
    expect(result.stdout).to.include("tier 2 essential, RTO 2h");
    expect(result.stdout).to.match(
      /regulator_endpoint\s+depends on: -\n\s+blast radius \(2, RTO 2h\): compliance_tools, regulator_endpoint/,
    );
  });

  it("--check passes on the shipped map", async () => {
    const result = await runCli(["map", "--check"]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include("no tier inversion");
  });

  it("--check exits 1 on a tier inversion", async () => {
    const result = await runCli(["map", "--check", "test/fixtures/maps/inversion.systems-map.yml"]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include("tier inversion: vault (tier 1) depends on dashboard (tier 2)");
  });

  it("--check exits 2 on a cycle and on an unknown system, with the line", async () => {
    const cycle = await runCli(["map", "--check", `${BAD}/cycle.systems-map.yml`]);
    expect(cycle.code).to.equal(2);
    expect(cycle.stderr).to.include(
      `${BAD}/cycle.systems-map.yml:17 systems.feed.depends_on[0]: dependency cycle`,
    );
    const unknown = await runCli(["map", "--check", `${BAD}/unknown-dependency.systems-map.yml`]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include(":14 systems.dashboard.depends_on[0]: unknown system");
  });

  it("--json gives every system with its blast radius and RTO", async () => {
    const result = await runCli(["map", "--json"]);
    expect(result.code).to.equal(0);
    const report = JSON.parse(result.stdout) as {
      systems: Array<{ name: string; blastRadius: string[]; blastRadiusRtoMs: number }>;
      inversions: unknown[];
    };
    expect(report.systems).to.have.length(16);
    const compliance = report.systems.find((s) => s.name === "compliance_tools")!;
    expect(compliance.blastRadius).to.deep.equal(["compliance_tools"]);
    expect(compliance.blastRadiusRtoMs).to.equal(2 * 3_600_000);
    expect(report.inversions).to.deep.equal([]);
  });
});
