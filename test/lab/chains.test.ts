// Any set of chains: lab.yml names them, scenarios are checked against the lab they run on,
// and a four-chain lab with a chain named base runs a drill adapted to it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { chainSetOf, fixedPorts, labConfigSchema, loadLabConfig } from "../../harness/lab/config.ts";
import { EMBEDDED_CHAINS } from "../../harness/names.ts";
import { ROOT, STATE_DIR } from "../../harness/paths.ts";
import { parseScenario } from "../../harness/runner/scenario.ts";
import { loadSystemsMap } from "../../harness/runner/systems-map.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";

const EXAMPLE = join(ROOT, "examples", "chains");
const LAB_YML = join(EXAMPLE, "lab.yml");
const SCENARIO = join(EXAMPLE, "base-sequencer-halt.yml");
const map = loadSystemsMap(join(ROOT, "scenarios", "systems-map.yml"));

const halt = (chain: string, extra = "") => `name: halt
description: a halt
targets: [chains]
steady_state:
  - probe: chain_advancing
    chain: ${chain}
faults:
  - type: chain_halt
    chain: ${chain}
    for: 5s${extra}
expect:
  detection: [CHAIN_HALTED]
`;

describe("lab chains: any set, named in lab.yml", () => {
  describe("lab.yml", () => {
    it("keeps the embedded three when chains are not given", () => {
      const config = labConfigSchema.parse({});
      expect(chainSetOf(config, "x")).to.deep.equal({
        names: ["ethereum", "polygon", "arbitrum"],
        sequencer: ["arbitrum"],
        team: [],
        from: "x",
      });
    });

    it("replaces them with the chains it names, in its order, known names taking their defaults", () => {
      const config = loadLabConfig(LAB_YML);
      expect(Object.keys(config.chains)).to.deep.equal(["ethereum", "base", "arbitrum", "polygon"]);
      expect(config.chains["ethereum"]).to.include({ chain_id: 1, block_time: 1000, sequencer_feed: false });
      expect(config.chains["base"]).to.include({ chain_id: 8453, block_time: 500, sequencer_feed: true });
      expect(config.chains["arbitrum"]).to.include({ chain_id: 42_161, sequencer_feed: true });
      // A field it gives wins over the embedded chain's.
      expect(config.chains["polygon"]).to.include({ chain_id: 137, block_time: 1000 });
      expect(chainSetOf(config, LAB_YML).sequencer).to.deep.equal(["base", "arbitrum"]);
    });

    it("lists the ports it fixes, leaving out those it lets the lab pick", () => {
      const config = labConfigSchema.parse({
        chains: { base: { chain_id: 8453, block_time: "1s", port: 18_545 } },
        ports: { control: 18_546 },
      });
      expect(fixedPorts(config)).to.deep.equal([
        [["chains", "base", "port"], 18_545],
        [["ports", "control"], 18_546],
      ]);
    });
  });

  describe("scenarios against the lab's chains", () => {
    const four = chainSetOf(loadLabConfig(LAB_YML), "lab.yml");

    it("refuses a chain the lab lacks at its line, naming the lab's chains", () => {
      expect(() => parseScenario("s.yml", halt("base"), map)).to.throw(
        /^s\.yml:6 steady_state\[0\]\.chain: no chain base in the embedded lab \(its chains: ethereum, polygon, arbitrum\)/,
      );
      expect(() => parseScenario("s.yml", halt("bsae"), map, four)).to.throw(
        /^s\.yml:6 steady_state\[0\]\.chain: no chain bsae \(did you mean base\?\) in lab\.yml/,
      );
    });

    it("halts the sequencer feed of a chain that has one, and only there", () => {
      const onBase = parseScenario("s.yml", halt("base"), map, four);
      expect(onBase.faults[0]).to.include({ chain: "base", sequencer_feed: true });
      const onEthereum = parseScenario("s.yml", halt("ethereum"), map, four);
      expect(onEthereum.faults[0]).to.include({ chain: "ethereum", sequencer_feed: false });
      expect(() =>
        parseScenario("s.yml", halt("ethereum", "\n    sequencer_feed: true"), map, four),
      ).to.throw(
        /^s\.yml:11 faults\[0\]\.sequencer_feed: ethereum has no sequencer uptime feed in lab\.yml \(only base, arbitrum\)/,
      );
      expect(parseScenario("s.yml", halt("arbitrum"), map, EMBEDDED_CHAINS).faults[0]).to.include({
        sequencer_feed: true,
      });
    });
  });

  describe("the CLI", function () {
    this.timeout(240_000);
    let work: string;
    before(() => {
      work = mkdtempSync(join(tmpdir(), "firedrill-chains-"));
    });
    afterEach(stopChildren);
    after(() => rmSync(work, { recursive: true, force: true }));

    const write = (name: string, text: string) => {
      const file = join(work, name);
      writeFileSync(file, text);
      return file;
    };

    it("refuses a lab.yml with a bad set of chains: file:line field, exit 2, starting nothing", async () => {
      const nine = Array.from(
        { length: 9 },
        (_, i) => `  c${i}:\n    chain_id: ${100 + i}\n    block_time: 1s\n`,
      );
      const cases: [string, RegExp][] = [
        [
          "chains:\n  Base:\n    chain_id: 8453\n    block_time: 1s\n",
          /lab\.yml:2 chains\.Base: invalid key "Base": a chain name is lower-case/,
        ],
        ["chains: {}\n", /lab\.yml:1 chains: name at least one chain/],
        [`chains:\n${nine.join("")}`, /lab\.yml:1 chains: at most 8 chains/],
        [
          "chains:\n  base:\n    block_time: 1s\n",
          /lab\.yml:2 chains\.base\.chain_id: is required \(a number\)/,
        ],
        [
          "chains:\n  base:\n    chain_id: 8453\n    block_time: 1s\n    sequencer_feed: yes\n",
          /lab\.yml:5 chains\.base\.sequencer_feed: /,
        ],
      ];
      for (const [text, pattern] of cases) {
        const file = write("lab.yml", text);
        const run = cli(["lab", "up", "--config", file, "--dir", join(work, "lab")]);
        expect(await run.exit, run.output()).to.equal(2);
        const lines = run.output().trim().split("\n");
        expect(lines, run.output()).to.have.length(1);
        expect(lines[0]).to.match(pattern);
        expect(existsSync(join(work, "lab", "lab.json"))).to.equal(false);
      }
    });

    it("validates a lab.yml, and scenarios against the lab it names", async () => {
      const ok = cli(["validate", "--lab-config", LAB_YML, EXAMPLE]);
      expect(await ok.exit, ok.output()).to.equal(0);
      expect(ok.output()).to.include(
        "lab.yml: lab configuration, 4 chains (ethereum, base, arbitrum, polygon); sequencer uptime feed on base, arbitrum",
      );
      expect(ok.output()).to.include("base-sequencer-halt.yml: scenario base-sequencer-halt, tier 1");
      const embedded = cli(["validate", SCENARIO]);
      expect(await embedded.exit, embedded.output()).to.equal(2);
      expect(embedded.output()).to.match(
        /base-sequencer-halt\.yml:8 steady_state\[0\]\.chain: no chain base in the embedded lab/,
      );
    });

    it("validates examples/fork-mainnet: the real addresses, the lab that forks them, its scenarios", async () => {
      const dir = join(ROOT, "examples", "fork-mainnet");
      const env = {
        ...process.env,
        ETH_RPC_URL: "https://eth.example/v2/KEY",
        ARB_RPC_URL: "https://arb.example/v2/KEY",
      };
      const ok = cli(["validate", "--lab-config", join(dir, "lab.yml"), dir], env);
      expect(await ok.exit, ok.output()).to.equal(0);
      expect(ok.output()).to.include(
        "deployment.yml: deployment address book, 2 chains (ethereum, arbitrum), 4 Chainlink feeds",
      );
      expect(ok.output()).to.include(
        "lab.yml: lab configuration, 2 chains (ethereum, arbitrum); sequencer uptime feed on arbitrum",
      );
      expect(ok.output()).to.include("arbitrum-sequencer-down.yml: scenario arbitrum-sequencer-down");
      const { ETH_RPC_URL: _, ...without } = env;
      const unset = cli(["validate", join(dir, "lab.yml")], without);
      expect(await unset.exit, unset.output()).to.equal(2);
      expect(unset.output()).to.match(
        /lab\.yml:10 chains\.ethereum\.fork\.url_env: ETH_RPC_URL is not set in the environment/,
      );
    });

    it("refuses a bad address book at its line: a checksum typo, an unknown pair, a chain the lab lacks", async () => {
      const base =
        "version: 1\nchains:\n  ethereum:\n    stablecoin: 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\n";
      const cases: [string, string[], RegExp][] = [
        [
          base.replace("0xA0b8", "0xa0B8"),
          [],
          /deployment\.yml:4 chains\.ethereum\.stablecoin: its mixed-case checksum does not match: a typo in the address\?/,
        ],
        [
          `${base}    feeds:\n      BTC/USD: 0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419\n`,
          [],
          /deployment\.yml:6 chains\.ethereum\.feeds/,
        ],
        [`${base}    stablecoin_: 0x0\n`, [], /deployment\.yml:5 chains\.ethereum\.stablecoin_: unknown key/],
        [
          base.replace("ethereum", "base"),
          ["--lab-config", LAB_YML],
          /deployment\.yml:3 chains\.base: chain base does not fork a network/,
        ],
      ];
      for (const [text, args, pattern] of cases) {
        const file = write("deployment.yml", text);
        const run = cli(["validate", ...args, file]);
        expect(await run.exit, run.output()).to.equal(2);
        expect(run.output()).to.match(pattern);
      }
    });

    it("refuses, before anything starts, a scenario naming a chain its lab lacks, and two lab options", async () => {
      const dir = join(work, "refused");
      const cases: [string[], RegExp][] = [
        [
          ["run", SCENARIO],
          /base-sequencer-halt\.yml:8 steady_state\[0\]\.chain: no chain base in the embedded lab/,
        ],
        [
          ["run", SCENARIO, "--lab-config", LAB_YML, "--lab-dir", join(work, "nowhere")],
          /--lab-dir and --lab-config exclude each other/,
        ],
        [
          [
            "run",
            SCENARIO,
            SCENARIO,
            "--parallel",
            "2",
            "--lab-config",
            write(
              "fixed.yml",
              "chains:\n  base:\n    chain_id: 8453\n    block_time: 1s\n    sequencer_feed: true\n    port: 18545\n",
            ),
          ],
          /--parallel 2 cannot share the ports .*fixed\.yml fixes \(chains\.base\.port: 18545\)/,
        ],
      ];
      for (const [args, pattern] of cases) {
        const run = cli([...args, "--journal-dir", dir]);
        expect(await run.exit, run.output()).to.equal(2);
        expect(run.output()).to.match(pattern);
        expect(run.output()).to.not.include("lab:");
        expect(journalsIn(dir)).to.deep.equal([]);
      }
    });

    it("drills a four-chain lab with a chain named base: its L2 halt passes, and the lab is gone after", async () => {
      const dir = join(work, "four");
      const junit = join(dir, "junit.xml");
      const runs = join(STATE_DIR, "runs");
      const run = cli(["run", SCENARIO, "--lab-config", LAB_YML, "--journal-dir", dir, "--junit", junit]);
      const code = await run.exit;
      expect(code, run.output()).to.equal(0);
      const [journal] = journalsIn(dir);
      expect(journal!.lab.chains.map((c) => [c.name, c.chain_id])).to.deep.equal([
        ["ethereum", 1],
        ["base", 8453],
        ["arbitrum", 42_161],
        ["polygon", 137],
      ]);
      const [fault] = journal!.faults;
      expect(fault!.proof!.observed).to.include({ chain: "base", sequencerDown: true });
      expect(fault!.healed_at).to.not.equal(null);
      const names = journal!.verdicts.map((v) => v.name);
      expect(names).to.include("supply equals balances on base");
      expect(names).to.include("collateral conserved on polygon");
      expect(readFileSync(junit, "utf8")).to.include("base-sequencer-halt");
      expect(run.output()).to.include("contracts deployed on ethereum, base, arbitrum, polygon");
      // The run's own lab went with it: its scratch folder, pid files and all, is gone. (Its
      // folders are named after its pid; other test files may have labs up meanwhile.)
      const left = (existsSync(runs) ? readdirSync(runs) : []).filter((d) =>
        d.startsWith(`${run.child.pid}-`),
      );
      expect(left).to.deep.equal([]);
    });
  });
});
