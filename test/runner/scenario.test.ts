import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { FAULTS, faultDefinition } from "../../harness/faults/index.ts";
import { loadKpis } from "../../harness/runner/kpis.ts";
import { loadScenario, parseScenario, scheduledMs } from "../../harness/runner/scenario.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";

const SCENARIOS = fileURLToPath(new URL("../../scenarios", import.meta.url));
const map = loadSystemsMap(SHIPPED_MAP);

const minimal = (fault: string, targets = "[chains]") => `name: t
targets: ${targets}
steady_state:
  - probe: gateway_ok
faults:
${fault}
expect:
  detection: [GAS_SPIKE]
`;

describe("scenarios", () => {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith(".yml") && !/systems-map|kpis/.test(f));

  it("ships the BCP's five chaos tests, seven more drills and five replays", () => {
    expect(files).to.have.length(17);
    expect(files.filter((f) => f.startsWith("replay-"))).to.have.length(5);
  });

  for (const file of files) {
    it(`${file} validates, with a tier, an RTO and short faults`, () => {
      const scenario = loadScenario(join(SCENARIOS, file), map);
      expect(scenario.name).to.equal(file.replace(/\.yml$/, ""));
      expect(scenario.rtoMs).to.be.greaterThan(0);
      for (const fault of scenario.faults) {
        expect(fault.at + (fault.for ?? 0), fault.type).to.be.at.most(60_000);
        const def = faultDefinition(fault.type)!;
        expect(def.describe(fault as never))
          .to.be.a("string")
          .and.not.include("undefined");
      }
    });
  }

  it("derives the tier from the blast radius", () => {
    expect(loadScenario(join(SCENARIOS, "regulatory-pressure.yml"), map)).to.include({
      tier: 2,
      rtoMs: 7_200_000,
    });
    expect(loadScenario(join(SCENARIOS, "oracle-failure.yml"), map)).to.include({ tier: 1, rtoMs: 900_000 });
  });

  it("compresses time only in the replays, and says so", () => {
    for (const file of files) {
      const scenario = loadScenario(join(SCENARIOS, file), map);
      if (file.startsWith("replay-")) {
        if (!file.includes("reorg")) expect(scenario.replay_compression, file).to.be.greaterThan(1);
      } else expect(scenario.replay_compression, file).to.equal(1);
    }
  });

  it("fills in defaults: at 0, replay compression 1, no abort conditions", () => {
    const s = parseScenario(
      "t.yml",
      minimal("  - type: gas_spike\n    chain: ethereum\n    gwei: 500\n    for: 5s"),
      map,
    );
    expect(s.faults[0]).to.deep.include({ type: "gas_spike", at: 0, for: 5_000, gwei: 500 });
    expect(s).to.deep.include({ replay_compression: 1, abort_if: [], custom_events: [] });
    expect(s.sha256).to.match(/^[0-9a-f]{64}$/);
  });

  it("measures a fault schedule by its latest end, a fault held to the end by its injection", () => {
    const schedule = (faults: string) => scheduledMs(parseScenario("t.yml", minimal(faults), map));
    const spike = (chain: string, at: string, forText: string) =>
      `  - type: gas_spike\n    chain: ${chain}\n    gwei: 500\n    at: ${at}\n    for: ${forText}\n`;
    expect(schedule(spike("ethereum", "0s", "5s"))).to.equal(5_000);
    expect(schedule(spike("ethereum", "2s", "30s") + spike("polygon", "10s", "5s"))).to.equal(32_000);
    // A reorg has no window: it counts at its injection.
    expect(schedule("  - type: reorg\n    chain: polygon\n    depth: 3\n    at: 4s\n")).to.equal(4_000);
  });

  it("accepts custom events once declared", () => {
    const text = minimal("  - type: gas_spike\n    chain: ethereum\n    gwei: 500\n    for: 5s")
      .replace("[GAS_SPIKE]", "[GAS_SPIKE, FEE_MARKET_ALERT]")
      .concat("custom_events: [FEE_MARKET_ALERT]\n");
    expect(parseScenario("t.yml", text, map).expect.detection).to.deep.equal([
      "GAS_SPIKE",
      "FEE_MARKET_ALERT",
    ]);
    expect(() =>
      parseScenario("t.yml", text.replace("custom_events: [FEE_MARKET_ALERT]\n", ""), map),
    ).to.throw(/t\.yml:11 expect\.detection\[1\]: unknown event "FEE_MARKET_ALERT"/);
  });
});

describe("a sender's own alert names in expect", () => {
  const fault = "  - type: gas_spike\n    chain: ethereum\n    gwei: 500\n    for: 5s";
  const withDetection = (list: string) => minimal(fault).replace("[GAS_SPIKE]", list);

  it("accepts <format>:<alert name> for every intake format, in any list, spaces and all", () => {
    const s = parseScenario(
      "t.yml",
      withDetection(
        '[GAS_SPIKE, "alertmanager:GasPriceHigh", "pagerduty:Base fee above 200 gwei", "oz-monitor:Large Transfer"]',
      ).concat('  required: ["grafana:GasPriceHigh"]\n'),
      map,
    );
    expect(s.expect.detection).to.deep.equal([
      "GAS_SPIKE",
      "alertmanager:GasPriceHigh",
      "pagerduty:Base fee above 200 gwei",
      "oz-monitor:Large Transfer",
    ]);
    expect(s.expect.required).to.deep.equal(["grafana:GasPriceHigh"]);
  });

  it("refuses an unknown sender, with a suggestion and the known ones", () => {
    expect(() => parseScenario("t.yml", withDetection('["alertmanger:GasPriceHigh"]'), map)).to.throw(
      /^t\.yml:11 expect\.detection\[0\]: unknown sender "alertmanger" \(did you mean alertmanager\?\) in "alertmanger:GasPriceHigh": a sender's alert is <format>:<alert name>, with format one of alertmanager, grafana, pagerduty, slack, oz-monitor/,
    );
  });

  it("refuses a name that is neither an event nor a sender's alert, and a sender's alert listed twice", () => {
    expect(() => parseScenario("t.yml", withDetection('["gas spike"]'), map)).to.throw(
      /t\.yml:11 expect\.detection\[0\]: an event name is UPPER_SNAKE_CASE; a sender's own alert is <format>:<alert name>/,
    );
    expect(() => parseScenario("t.yml", withDetection('["alertmanager: "]'), map)).to.throw(
      /UPPER_SNAKE_CASE/,
    );
    expect(() => parseScenario("t.yml", withDetection('["slack:Gas high", "slack:Gas high"]'), map)).to.throw(
      /expect\.detection\[1\]: "slack:Gas high" is listed twice/,
    );
  });
});

describe("faults", () => {
  const examples: Record<string, string> = {
    oracle_outage: "source: chainlink\n    mode: timeout\n    for: 5s",
    oracle_stale: "chain: polygon\n    pair: ETH/USD\n    for: 5s",
    oracle_deviation: "source: pyth\n    pair: USDC/USD\n    deviation: -0.02\n    for: 5s",
    rpc_outage: "chain: arbitrum\n    provider: secondary\n    for: 5s",
    rpc_latency: "chain: ethereum\n    provider: primary\n    latency: 2s\n    jitter: 500ms\n    for: 5s",
    gas_spike: "chain: ethereum\n    gwei: 1000\n    for: 5s",
    congestion: "chain: ethereum\n    block_time: 12s\n    for: 5s",
    chain_halt: "chain: arbitrum\n    for: 5s",
    reorg: "chain: polygon\n    depth: 12",
    collateral_shock: "asset: USDC\n    to: 0.92\n    over: 30s\n    at: 2s",
    redemption_run: "requests: 1500\n    for: 20s",
    regulator_outage: "mode: slow\n    latency: 3s\n    for: 5s",
    regulatory_pressure: "deadline: 30s\n    for: 20s",
    alert_delivery: "mode: slow\n    latency: 5s\n    for: 20s",
    rpc_lag: "chain: ethereum\n    provider: primary\n    blocks: 8\n    for: 5s",
    rpc_rate_limit:
      "chain: ethereum\n    provider: primary\n    share: 0.5\n    retry_after: 2s\n    for: 5s",
    rpc_method_errors:
      "chain: polygon\n    provider: secondary\n    methods: [eth_getLogs]\n    error: logs_range\n    max_block_range: 1000\n    for: 5s",
    rpc_batch_limit: "chain: arbitrum\n    provider: primary\n    max_batch: 5\n    for: 5s",
    rpc_wrong_fork: "chain: ethereum\n    provider: primary\n    depth: 6\n    for: 5s",
    rpc_disagree: "chain: polygon\n    providers: [primary, secondary]\n    for: 5s",
  };

  it("covers every fault type, one definition each", () => {
    expect(FAULTS.map((f) => f.type)).to.have.members(Object.keys(examples));
  });

  for (const def of FAULTS) {
    it(`${def.type} validates an example and describes it`, () => {
      const targets = `[${def.systems.join(", ")}]`;
      const s = parseScenario(
        "t.yml",
        minimal(`  - type: ${def.type}\n    ${examples[def.type]}`, targets),
        map,
      );
      const fault = s.faults[0]!;
      expect(fault.type).to.equal(def.type);
      const text = def.describe(fault as never);
      expect(text).to.be.a("string").with.length.greaterThan(10);
      expect(text).not.to.include("undefined");
    });
  }

  it("refuses bad JSON-RPC fault parameters at their line, with the field", () => {
    const bad = (fault: string, line: number, pattern: RegExp) =>
      expect(() => parseScenario("t.yml", minimal(fault, "[rpc_providers]"), map)).to.throw(
        new RegExp(`^t\\.yml:${line} faults\\[0\\]\\.${pattern.source}`),
      );
    bad(
      "  - type: rpc_method_errors\n    chain: ethereum\n    provider: primary\n    methods: [eth_getLogz]\n    for: 5s",
      9,
      /methods\[0\]: expected one of .*, got "eth_getLogz" \(did you mean eth_getLogs\?\)/,
    );
    bad(
      "  - type: rpc_rate_limit\n    chain: ethereum\n    provider: primary\n    share: 1.5\n    for: 5s",
      9,
      /share: /,
    );
    bad(
      "  - type: rpc_lag\n    chain: ethereum\n    provider: primary\n    blocks: 1000\n    for: 5s",
      9,
      /blocks: /,
    );
    bad(
      "  - type: rpc_wrong_fork\n    chain: ethereum\n    provider: primary\n    depth: 500\n    for: 5s",
      9,
      /depth: /,
    );
    bad(
      "  - type: rpc_lag\n    chain: ethereum\n    provider: tertiary\n    blocks: 2\n    for: 5s",
      8,
      /provider: /,
    );
    bad(
      "  - type: rpc_disagree\n    chain: ethereum\n    providers: [primary]\n    for: 5s",
      8,
      /providers: /,
    );
    bad(
      "  - type: rpc_method_errors\n    chain: ethereum\n    provider: primary\n    methods: [eth_call]\n    error: logs_range\n    for: 5s",
      9,
      /methods: logs_range applies to eth_getLogs only/,
    );
  });

  it("freezes either a price source or a chain's feeds", () => {
    const source = parseScenario(
      "t.yml",
      minimal("  - type: oracle_stale\n    source: redstone\n    for: 5s", "[price_oracles]"),
      map,
    );
    expect(source.faults[0]).to.deep.include({ source: "redstone" });
    expect(() =>
      parseScenario(
        "t.yml",
        minimal(
          "  - type: oracle_stale\n    source: redstone\n    pair: ETH/USD\n    for: 5s",
          "[price_oracles]",
        ),
        map,
      ),
    ).to.throw(/t\.yml:8 faults\[0\]\.pair: only applies with chain/);
  });

  it("gives defaults to optional parameters", () => {
    const s = parseScenario(
      "t.yml",
      minimal("  - type: redemption_run\n    requests: 10\n    for: 5s", "[redemption_engine]"),
      map,
    );
    expect(s.faults[0]).to.deep.include({ chain: "ethereum", amount: 100 });
  });
});

describe("kpis.yml", () => {
  it("holds the BCP's detector thresholds", () => {
    const kpis = loadKpis(fileURLToPath(new URL("../../scenarios/kpis.yml", import.meta.url)), map);
    expect(kpis.detectors.collateral_ratio).to.include({ threshold: 1.02, alert_when: "below" });
    expect(kpis.detectors.oracle_deviation).to.include({ threshold: 0.005, alert_when: "above" });
    expect(kpis.detectors.gas_price).to.include({ threshold: 200, unit: "gwei" });
    expect(kpis.detectors.transaction_failure_rate.threshold).to.equal(0.05);
    expect(kpis.detectors.redemption_backlog.threshold).to.equal(1000);
    expect(kpis.detectors.cross_chain_sync_lag.threshold).to.equal(30_000);
    expect(kpis.early_warning.oracle_consensus_deviation.threshold).to.equal(0.002);
    expect(kpis.operational_efficiency.mint_success_rate.target).to.equal(0.999);
    expect(kpis.operational_efficiency.average_redemption_time.target).to.equal(300_000);
  });
});
