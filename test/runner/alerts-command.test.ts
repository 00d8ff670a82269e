import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { cli } from "../../harness/testing/cli.ts";

const MAPPING = `version: 1
rules:
  - match: { alertname: EthereumRpcDown }
    event: RPC_FAILOVER
    system: rpc_providers
    chain: ethereum
`;

const PAYLOAD = JSON.stringify({
  version: "4",
  groupKey: '{}:{alertname="EthereumRpcDown"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "firedrill",
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: "http://alertmanager:9093",
  alerts: ["EthereumRpcDown", "DiskFull"].map((alertname) => ({
    status: "firing",
    labels: { alertname, severity: "critical" },
    annotations: {},
    startsAt: "2026-12-03T09:00:00.000Z",
    endsAt: "2026-12-03T09:05:00.000Z",
    generatorURL: "",
    fingerprint: `fp-${alertname}`,
  })),
});

describe("firedrill alerts check", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "firedrill-alerts-"));
    writeFileSync(join(dir, "alerts.yml"), MAPPING);
    writeFileSync(join(dir, "payload.json"), PAYLOAD);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("shows what each alert of a delivery would become", async () => {
    const run = cli([
      "alerts",
      "check",
      join(dir, "alerts.yml"),
      join(dir, "payload.json"),
      "--format",
      "alertmanager",
    ]);
    expect(await run.exit, run.output()).to.equal(0);
    const lines = run.output().trim().split("\n");
    expect(lines[0]).to.match(/payload\.json: 2 alertmanager alerts$/);
    expect(lines[1]).to.equal(
      '  "EthereumRpcDown" (firing, fired 2026-12-03T09:00:00.000Z) -> RPC_FAILOVER (critical) on rpc_providers, ethereum  [rule 1]; a scenario\'s expect may name it "alertmanager:EthereumRpcDown"',
    );
    expect(lines[2]).to.match(
      /"DiskFull" \(firing, .*\) -> no event: no rule of .*alerts\.yml matches "DiskFull"; a scenario's expect may name it "alertmanager:DiskFull"$/,
    );
  });

  const bad: Array<[string, string[], RegExp]> = [
    [
      "a payload of another format",
      ["--format", "pagerduty"],
      /payload\.json: not a pagerduty delivery: .*\(FD237\)$/,
    ],
    [
      "an unknown format",
      ["--format", "opsgenie"],
      /--format: expected one of alertmanager\|grafana\|pagerduty\|slack\|oz-monitor, got "opsgenie" \(FD100\)$/,
    ],
    ["no format", [], /--format is required/],
  ];
  for (const [what, extra, pattern] of bad) {
    it(`refuses ${what} with one line and exit 2`, async () => {
      const run = cli(["alerts", "check", join(dir, "alerts.yml"), join(dir, "payload.json"), ...extra]);
      expect(await run.exit, run.output()).to.equal(2);
      expect(run.output().trim().split("\n")[0]).to.match(pattern);
      expect(run.output()).not.to.include("    at ");
    });
  }

  it("refuses a payload that is not JSON, naming the file (exit 2)", async () => {
    writeFileSync(join(dir, "broken.json"), "{");
    const run = cli([
      "alerts",
      "check",
      join(dir, "alerts.yml"),
      join(dir, "broken.json"),
      "--format",
      "slack",
    ]);
    expect(await run.exit, run.output()).to.equal(2);
    expect(run.output().trim()).to.match(/broken\.json: not JSON: .*\(FD237\)$/);
  });
});
