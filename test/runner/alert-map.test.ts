import { expect } from "chai";
import type { SenderAlert } from "../../harness/contract/intake/format.ts";
import { FiredrillError } from "../../harness/errors.ts";
import { mapAlert, parseAlertMap } from "../../harness/runner/alert-map.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";

const MAPPING = `version: 1
rules:
  - match: { alertname: EthereumRpcDown }
    event: RPC_FAILOVER
    system: rpc_providers
    chain: ethereum
  - from: grafana
    match: { alertname: /^Oracle.*Stale$/, source: chainlink }
    event: ORACLE_STALE
    system: price_oracles
  - match: { alertname: /^Oracle.*Stale$/i }
    event: ORACLE_STALE
    system: price_oracles
    chain_label: chain
    severity: critical
  - match: { name: /vault paused/i }
    event: EMERGENCY_PAUSE
    system: collateral_management
acknowledged: TEAM_ACKNOWLEDGED
custom_events: [TEAM_ACKNOWLEDGED]
`;

const alert = (
  name: string,
  labels: Record<string, string>,
  status: SenderAlert["status"] = "firing",
): SenderAlert => ({
  name,
  status,
  labels: { alertname: name, ...labels },
});

function inputError(file: string, text: string): FiredrillError {
  try {
    parseAlertMap(file, text, loadSystemsMap(SHIPPED_MAP));
  } catch (error) {
    expect(error).to.be.instanceOf(FiredrillError);
    return error as FiredrillError;
  }
  throw new Error("parseAlertMap accepted bad input");
}

describe("alert mapping (alerts.yml)", () => {
  const map = parseAlertMap("alerts.yml", MAPPING, loadSystemsMap(SHIPPED_MAP));

  it("maps an alert by an exact label, with the rule's chain and the alert's own severity", () => {
    expect(mapAlert(map, "alertmanager", alert("EthereumRpcDown", { severity: "critical" }))).to.deep.equal({
      mapped: true,
      event: "RPC_FAILOVER",
      system: "rpc_providers",
      chain: "ethereum",
      severity: "critical",
      rule: 0,
    });
  });

  it("tries rules in order, honours `from`, regular expressions and chain_label", () => {
    const stale = alert("OracleChainlinkStale", { source: "chainlink", chain: "polygon" });
    expect(mapAlert(map, "grafana", stale)).to.include({ rule: 1, chain: null, severity: "high" });
    expect(mapAlert(map, "alertmanager", stale)).to.include({
      rule: 2,
      chain: "polygon",
      severity: "critical",
    });
    expect(mapAlert(map, "alertmanager", alert("oraclepythstale", {}))).to.include({ rule: 2 });
  });

  it("matches `name` against the sender's alert name when the alert has no such label", () => {
    const slack: SenderAlert = {
      name: "Vault paused on ethereum",
      status: "firing",
      labels: { text: "Vault paused" },
    };
    expect(mapAlert(map, "slack", slack)).to.include({ mapped: true, event: "EMERGENCY_PAUSE" });
  });

  it("turns a resolved alert into RECOVERED and an acknowledgement into the declared event", () => {
    expect(mapAlert(map, "alertmanager", alert("EthereumRpcDown", {}, "resolved"))).to.include({
      event: "RECOVERED",
      system: "rpc_providers",
    });
    expect(mapAlert(map, "pagerduty", alert("EthereumRpcDown", {}, "acknowledged"))).to.include({
      event: "TEAM_ACKNOWLEDGED",
    });
    const silent = parseAlertMap(
      "a.yml",
      "version: 1\nrules:\n  - match: { alertname: X }\n    event: GAS_SPIKE\n    system: chains\n",
    );
    expect(mapAlert(silent, "pagerduty", alert("X", {}, "acknowledged"))).to.deep.equal({
      mapped: false,
      reason: 'an acknowledgement of "X" (acknowledged is not mapped)',
    });
  });

  it("leaves an alert no rule matches unmapped, saying so", () => {
    expect(mapAlert(map, "alertmanager", alert("DiskFull", {}))).to.deep.equal({
      mapped: false,
      reason: 'no rule of alerts.yml matches "DiskFull"',
    });
  });

  const bad: Array<[string, string, RegExp, string]> = [
    [
      "unknown event",
      MAPPING.replace("event: RPC_FAILOVER", "event: RPC_FAILOVR"),
      /^alerts\.yml:4 rules\[0\]\.event: unknown event "RPC_FAILOVR" \(did you mean RPC_FAILOVER\?\)/,
      "FD208",
    ],
    [
      "unknown system",
      MAPPING.replace("system: rpc_providers", "system: rpc_provider"),
      /^alerts\.yml:5 rules\[0\]\.system: unknown system "rpc_provider"/,
      "FD204",
    ],
    [
      "broken regular expression",
      MAPPING.replace("/^Oracle.*Stale$/,", "/^Oracle(/,"),
      /^alerts\.yml:8 rules\[1\]\.match\.alertname: not a regular expression: /,
      "FD201",
    ],
    [
      "chain and chain_label",
      MAPPING.replace("    chain_label: chain\n", "    chain_label: chain\n    chain: polygon\n"),
      /^alerts\.yml:14 rules\[2\]\.chain_label: give chain or chain_label, not both$/,
      "FD201",
    ],
    [
      "unknown chain",
      MAPPING.replace("chain: ethereum", "chain: Solana-1"),
      /^alerts\.yml:6 rules\[0\]\.chain: a chain name is lower-case letters, digits and _, starting with a letter, got "Solana-1"$/,
      "FD201",
    ],
    [
      "unknown key",
      MAPPING.replace("version: 1\n", "version: 1\nrule: []\n"),
      /^alerts\.yml:2 rule: unknown key "rule"$/,
      "FD201",
    ],
    ["no rules", "version: 1\nrules: []\n", /^alerts\.yml:2 rules: needs at least 1 item$/, "FD201"],
    [
      "wrong version",
      MAPPING.replace("version: 1", "version: 2"),
      /^alerts\.yml:1 version: expected 1, got 2$/,
      "FD201",
    ],
  ];
  for (const [what, text, pattern, code] of bad) {
    it(`refuses ${what} with the file, line and field (exit 2)`, () => {
      const error = inputError("alerts.yml", text);
      expect(error.message).to.match(pattern);
      expect(error.code).to.equal(code);
      expect(error.exitCode).to.equal(2);
    });
  }
});
