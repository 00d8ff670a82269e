// A team's own deployment: the lab forks a "mainnet-like" node of Chainlink's contracts and
// a team's token, checks the address book on the fork, deploys nothing of its own there,
// and its faults act on the listed contracts and give them back.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Interface } from "ethers";
import { chainHalt } from "../../harness/faults/chain_halt.ts";
import { congestion } from "../../harness/faults/congestion.ts";
import { oracleDeviation } from "../../harness/faults/oracle_deviation.ts";
import { oracleOutage } from "../../harness/faults/oracle_outage.ts";
import { oracleStale } from "../../harness/faults/oracle_stale.ts";
import { redemptionRun } from "../../harness/faults/redemption_run.ts";
import { reorg } from "../../harness/faults/reorg.ts";
import { rpcOutage } from "../../harness/faults/rpc_outage.ts";
import { loadLabConfig } from "../../harness/lab/config.ts";
import { type Lab, startLab } from "../../harness/lab/index.ts";
import { ROOT } from "../../harness/paths.ts";
import { teamSupplyAccount } from "../../harness/runner/chain-reader.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { journalsIn } from "../../harness/testing/journals.ts";
import { type MainnetLike, startMainnetLike } from "../../harness/testing/mainnet-like.ts";
import { until } from "../../harness/testing/until.ts";
import { expectProof, faultContext, healTwice } from "../faults/support.ts";

const FEED = new Interface([
  "function aggregator() view returns (address)",
  "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
  "function balanceOf(address) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
]);

describe("lab: a team's own deployment, on a fork", function () {
  this.timeout(180_000);
  let mainnet: MainnetLike;
  let work: string;

  before(async () => {
    mainnet = await startMainnetLike();
    work = mkdtempSync(join(tmpdir(), "firedrill-fork-"));
  });
  after(async () => {
    await mainnet?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  afterEach(stopChildren);

  /** A lab.yml forking the node as ethereum (with `book` as its address book) beside a chain of the lab's own. */
  const writeLab = (book: string, chains = "") => {
    writeFileSync(join(work, "deployment.yml"), book);
    const file = join(work, "lab.yml");
    writeFileSync(
      file,
      `deployment: deployment.yml\nchains:\n  ethereum:\n    fork:\n      url: ${mainnet.url}\n      block: ${mainnet.block}\n  polygon: {}\n${chains}`,
    );
    return file;
  };
  const book = (overrides: Partial<Record<string, string>> = {}) => {
    const entry = {
      stablecoin: mainnet.stablecoin,
      eth: mainnet.feeds["ETH/USD"].proxy,
      usdc: mainnet.feeds["USDC/USD"].proxy,
      sequencer: mainnet.sequencer.proxy,
      ...overrides,
    };
    // Addresses unquoted, as a team would write them.
    return `version: 1
chains:
  ethereum:
    stablecoin: ${entry.stablecoin}
    reserve:
      holders: [${mainnet.reserve}]
    feeds:
      ETH/USD: ${entry.eth}
      USDC/USD: ${entry.usdc}
    sequencer_uptime_feed: ${entry.sequencer}
    holders: [${mainnet.holders.join(", ")}]
    redemption_address: ${mainnet.emptyAddress}
`;
  };

  describe("faults on the team's contracts", () => {
    let lab: Lab;
    const reads: Record<string, string> = {};
    const read = (to: string, fn: string, args: unknown[] = []) =>
      rpc<string>("eth_call", [{ to, data: FEED.encodeFunctionData(fn, args) }, "latest"]);
    /** A proxy's latest answer and its time (its round id carries the proxy's phase, which moves on). */
    const answerAndTime = (proxy?: string, raw?: string): Promise<bigint[]> | bigint[] => {
      const decode = (hex: string) => {
        const [, answer, , updatedAt] = FEED.decodeFunctionResult("latestRoundData", hex);
        return [answer as bigint, updatedAt as bigint];
      };
      return raw !== undefined ? decode(raw) : read(proxy!, "latestRoundData").then(decode);
    };
    const rpc = <T>(method: string, params: unknown[]) =>
      faultContext(lab.info).rpc<T>("ethereum", method, params);

    before(async () => {
      lab = await startLab(loadLabConfig(writeLab(book())), { dir: join(work, "lab") });
      for (const [name, to, fn, args] of [
        ["eth aggregator", mainnet.feeds["ETH/USD"].proxy, "aggregator", []],
        ["eth round", mainnet.feeds["ETH/USD"].proxy, "latestRoundData", []],
        ["usdc round", mainnet.feeds["USDC/USD"].proxy, "latestRoundData", []],
        ["sequencer", mainnet.sequencer.proxy, "latestRoundData", []],
        ["supply", mainnet.stablecoin, "totalSupply", []],
        ...mainnet.holders.map((h) => [`balance ${h}`, mainnet.stablecoin, "balanceOf", [h]] as const),
        ["redeemed", mainnet.stablecoin, "balanceOf", [mainnet.emptyAddress]],
      ] as const)
        reads[name] = (await read(to, fn, [...args])) as string;
    });
    after(async () => {
      await lab?.down();
    });

    it("deploys nothing of its own on the team's chain, and says where it forked", () => {
      const ethereum = lab.info.chains.ethereum!;
      expect(ethereum.contracts).to.equal(undefined);
      expect(ethereum.team).to.include({ stablecoin: mainnet.stablecoin, forkBlock: mainnet.block });
      expect(ethereum.team!.feeds).to.deep.equal({
        "ETH/USD": mainnet.feeds["ETH/USD"].proxy,
        "USDC/USD": mainnet.feeds["USDC/USD"].proxy,
      });
      expect(ethereum.team!.heartbeatsMs).to.deep.equal({ "ETH/USD": 3_600_000, "USDC/USD": 86_400_000 });
      expect(ethereum.fork).to.deep.equal({ host: new URL(mainnet.url).host, block: mainnet.block });
      // The chain beside it is the lab's own.
      expect(lab.info.chains.polygon!.contracts?.vault).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(lab.info.chains.polygon!.team).to.equal(undefined);
    });

    // First: a reorg replays the last blocks, and an impersonated heal among them would be lost.
    it("reorgs, congests and cuts an RPC provider of the forked chain as of any chain of the lab", async () => {
      const ctx = faultContext(lab.info);
      const reorged = await reorg.inject(ctx, { chain: "ethereum", depth: 2, at: 0 });
      expectProof(reorged.proof);
      await healTwice(reorged);
      const congested = await congestion.inject(ctx, {
        chain: "ethereum",
        gas_limit: 21_000,
        at: 0,
        for: 1000,
      });
      expectProof(congested.proof);
      await healTwice(congested);
      const cut = await rpcOutage.inject(ctx, {
        chain: "ethereum",
        provider: "primary",
        mode: "refuse",
        at: 0,
        for: 1000,
      });
      expectProof(cut.proof);
      await healTwice(cut);
    });

    it("oracle_stale makes a real feed older than its heartbeat, and gives the proxy back", async () => {
      const ctx = faultContext(lab.info);
      const injected = await oracleStale.inject(ctx, {
        chain: "ethereum",
        pair: "ETH/USD",
        at: 0,
        for: 1000,
      });
      expectProof(injected.proof);
      const [stale] = injected.proof.evidence["feeds"] as { ageS: number; heartbeatS: number }[];
      expect(stale!.ageS).to.be.greaterThan(3600);
      const during = FEED.decodeFunctionResult(
        "aggregator",
        (await read(mainnet.feeds["ETH/USD"].proxy, "aggregator")) as string,
      )[0] as string;
      expect(during).to.not.equal(mainnet.feeds["ETH/USD"].aggregator);
      await healTwice(injected);
      expect(await read(mainnet.feeds["ETH/USD"].proxy, "aggregator")).to.equal(reads["eth aggregator"]);
    });

    it("oracle_outage leaves a real feed without data (its reads revert), and gives the proxy back", async () => {
      const ctx = faultContext(lab.info);
      const injected = await oracleOutage.inject(ctx, {
        chain: "ethereum",
        pair: "USDC/USD",
        mode: "refuse",
        at: 0,
        for: 1000,
      });
      expectProof(injected.proof);
      expect(injected.proof.evidence["revert"]).to.be.a("string");
      await healTwice(injected);
      expect(await answerAndTime(mainnet.feeds["USDC/USD"].proxy)).to.deep.equal(
        answerAndTime(undefined, reads["usdc round"]),
      );
    });

    it("oracle_deviation makes a real feed answer off the market, and gives the proxy back", async () => {
      const ctx = faultContext(lab.info);
      const injected = await oracleDeviation.inject(ctx, {
        chain: "ethereum",
        pair: "ETH/USD",
        deviation: -0.05,
        at: 0,
        for: 1000,
      });
      expectProof(injected.proof);
      const off = injected.proof.evidence["off"] as number;
      expect(Math.abs(off + 0.05), `${off}`).to.be.below(0.003);
      await healTwice(injected);
      expect(await read(mainnet.feeds["ETH/USD"].proxy, "aggregator")).to.equal(reads["eth aggregator"]);
    });

    it("redemption_run has the team's holders redeem its real token, and sends every token back", async () => {
      const ctx = faultContext(lab.info);
      const injected = await redemptionRun.inject(ctx, {
        chain: "ethereum",
        requests: 6,
        amount: 1000,
        concurrency: 32,
        at: 0,
        for: 600,
      });
      expectProof(injected.proof);
      expect(injected.proof.evidence).to.include({ redemptionAddress: mainnet.emptyAddress });
      // The run goes on over its 600 ms: all six redemptions have arrived before the heal.
      const arrived = BigInt(reads[`redeemed`]!) + 6n * 1000n * 10n ** 6n;
      await until("six redemptions arrive", async () =>
        BigInt(await read(mainnet.stablecoin, "balanceOf", [mainnet.emptyAddress])) === arrived
          ? true
          : undefined,
      );
      const healed = await healTwice(injected);
      expect(healed.evidence).to.include({ sent: 6, refused: 0 });
      for (const h of mainnet.holders)
        expect(await read(mainnet.stablecoin, "balanceOf", [h]), h).to.equal(reads[`balance ${h}`]);
    });

    it("chain_halt on the team's chain reports its real sequencer feed down, and up again", async () => {
      const ctx = faultContext(lab.info);
      const injected = await chainHalt.inject(ctx, {
        chain: "ethereum",
        sequencer_feed: true,
        at: 0,
        for: 1000,
      });
      expectProof(injected.proof);
      expect(injected.proof.evidence).to.include({ sequencerDown: true });
      const healed = await healTwice(injected);
      expect(healed.evidence).to.include({ sequencerUp: true });
    });

    it("tracks the team's token from its transfers since the fork", async () => {
      const before = await teamSupplyAccount(lab.info, "ethereum");
      // The redemption run moved tokens to the redemption address and back: every address it
      // touched holds what its transfers say, and the supply did not move.
      expect(before).to.deep.include({ minted: 0n, burnt: 0n, mismatched: [] });
      expect(before.touched).to.equal(mainnet.holders.length + 1);
      expect(before.supply).to.equal(before.supplyAtFork);
    });

    it("leaves the real proxies, feeds and balances reading as before", async () => {
      for (const [name, to, fn, args] of [
        ["eth aggregator", mainnet.feeds["ETH/USD"].proxy, "aggregator", []],
        ["supply", mainnet.stablecoin, "totalSupply", []],
        ...mainnet.holders.map((h) => [`balance ${h}`, mainnet.stablecoin, "balanceOf", [h]] as const),
      ] as const)
        expect(await read(to, fn, [...args]), name).to.equal(reads[name]);
      expect(await answerAndTime(mainnet.feeds["USDC/USD"].proxy)).to.deep.equal(
        answerAndTime(undefined, reads["usdc round"]),
      );
      // The ETH/USD proxy answers from its original aggregator with the original round's
      // answer and time; only its phase (the round id's upper bits) moved on, twice.
      const [, answer, , updatedAt] = FEED.decodeFunctionResult(
        "latestRoundData",
        (await read(mainnet.feeds["ETH/USD"].proxy, "latestRoundData")) as string,
      );
      const [, answerBefore, , updatedBefore] = FEED.decodeFunctionResult(
        "latestRoundData",
        reads["eth round"]!,
      );
      expect([answer, updatedAt]).to.deep.equal([answerBefore, updatedBefore]);
      const [, sequencer] = FEED.decodeFunctionResult(
        "latestRoundData",
        (await read(mainnet.sequencer.proxy, "latestRoundData")) as string,
      );
      expect(sequencer).to.equal(0n);
    });
  });

  describe("the reference stack, configured from the address book", () => {
    it("is drilled with an oracle outage, a collateral shock, a gas spike and a sequencer halt: every verdict passes, the team's contracts read as before", async () => {
      const fixtures = join(ROOT, "test", "fixtures", "fork");
      const scenarios = [
        "fork-oracle-outage",
        "fork-collateral-shock",
        "fork-gas-spike",
        "fork-sequencer-halt",
      ];
      const dir = join(work, "journals");
      const run = cli([
        "run",
        ...scenarios.map((name) => join(fixtures, `${name}.yml`)),
        "--lab-config",
        writeLab(book()),
        "--journal-dir",
        dir,
      ]);
      const code = await run.exit;
      expect(code, run.output()).to.equal(0);
      const journals = journalsIn(dir);
      expect(journals.map((j) => j.scenario.name).sort()).to.deep.equal([...scenarios].sort());
      for (const journal of journals) {
        const same = journal.invariants.find(
          (i) => i.name === "the team's contracts on ethereum read as before the drill",
        );
        expect(same?.passed, `${journal.scenario.name}: ${same?.detail}`).to.equal(true);
        expect(journal.lab.chains.find((c) => c.name === "ethereum")?.fork).to.equal(
          `${new URL(mainnet.url).host} at block ${mainnet.block}`,
        );
      }
      const shock = journals.find((j) => j.scenario.name === "fork-collateral-shock")!;
      const followed = shock.faults[0]!.proof!.observed["teamFeeds"] as { chain: string; price: number }[];
      expect(followed.map((f) => f.chain)).to.deep.equal(["ethereum"]);
      expect(followed[0]!.price).to.be.below(2500);
    });
  });

  describe("bad input, refused before anything is left running", () => {
    const refused = async (file: string, code: number, pattern: RegExp) => {
      const dir = join(work, `bad-${Date.now()}`);
      const run = cli(["lab", "up", "--config", file, "--dir", dir]);
      expect(await run.exit, run.output()).to.equal(code);
      // Progress lines of what had started come first; the error is one line of its own.
      const errors = run
        .output()
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("firedrill: "));
      expect(errors, run.output()).to.have.length(1);
      expect(errors[0], run.output()).to.match(pattern);
      expect(run.output()).to.not.include("    at ");
      expect(existsSync(join(dir, "lab.json"))).to.equal(false);
      const pids = join(dir, "pids");
      expect(existsSync(pids) ? readdirSync(pids) : []).to.deep.equal([]);
    };

    it("an address with no code, a proxy that is none, a pair the proxy does not serve: exit 2 at the entry", async () => {
      await refused(
        writeLab(book({ stablecoin: mainnet.emptyAddress })),
        2,
        /deployment\.yml:4 chains\.ethereum\.stablecoin: 0x[0-9a-fA-F]{40} has no code on the fork of ethereum/,
      );
      await refused(
        writeLab(book({ eth: mainnet.stablecoin })),
        2,
        /deployment\.yml:8 chains\.ethereum\.feeds\["ETH\/USD"\]: 0x[0-9a-fA-F]{40} is not a Chainlink proxy/,
      );
      await refused(
        writeLab(book({ eth: mainnet.feeds["USDC/USD"].proxy })),
        2,
        /deployment\.yml:8 chains\.ethereum\.feeds\["ETH\/USD"\]: 0x[0-9a-fA-F]{40} serves "USDC \/ USD", not ETH\/USD/,
      );
    });

    it("a chain the lab lacks, or one it does not fork: exit 2 before anything starts", async () => {
      const file = writeLab(`${book()}  base:\n    stablecoin: ${mainnet.stablecoin}\n`);
      await refused(file, 2, /deployment\.yml:13 chains\.base: the lab has no chain base/);
      writeFileSync(
        join(work, "deployment.yml"),
        `${book()}  polygon:\n    stablecoin: ${mainnet.stablecoin}\n`,
      );
      await refused(file, 2, /deployment\.yml:13 chains\.polygon: chain polygon does not fork a network/);
    });

    it("a fork URL that does not answer: exit 3 naming the chain, and the URL never printed", async () => {
      writeFileSync(join(work, "deployment.yml"), book());
      const file = join(work, "lab.yml");
      const url = "http://127.0.0.1:9/v2/abcdefghijklmnopqrstuvwxyz0123";
      writeFileSync(file, `deployment: deployment.yml\nchains:\n  ethereum:\n    fork:\n      url: ${url}\n`);
      const dir = join(work, "bad-url");
      const run = cli(["lab", "up", "--config", file, "--dir", dir]);
      expect(await run.exit, run.output()).to.equal(3);
      expect(run.output()).to.match(/anvil-ethereum: /);
      expect(run.output()).to.not.include("abcdefghijklmnopqrstuvwxyz0123");
      expect(existsSync(join(dir, "lab.json"))).to.equal(false);
    });
  });
});
