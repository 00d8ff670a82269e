import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Contract, JsonRpcProvider, toQuantity } from "ethers";
import { KEPT_STATES, MAX_REORG_DEPTH, rpcCall } from "../../harness/lab/anvil.ts";
import { labConfigSchema } from "../../harness/lab/config.ts";
import { type Lab, readLabInfo, startLab } from "../../harness/lab/index.ts";
import { isAlive } from "../../harness/process.ts";
import { cli, stopChildren } from "../../harness/testing/cli.ts";
import { until } from "../../harness/testing/until.ts";

const FEED_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "firedrill-lab-"));
}

async function rpc(url: string, method: string, timeoutMs = 2000): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return ((await response.json()) as { result: unknown }).result;
}

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return false;
  } catch {
    return true;
  }
}

/** Pids of every process the lab in `dir` started, from its pid files. */
function labPids(dir: string): number[] {
  const pids = join(dir, "pids");
  if (!existsSync(pids)) return [];
  return readdirSync(pids).map(
    (f) => (JSON.parse(readFileSync(join(pids, f), "utf8")) as { pid: number }).pid,
  );
}

describe("lab", function () {
  this.timeout(60_000);

  afterEach(stopChildren);

  describe("in process", () => {
    let lab: Lab | undefined;
    let dir: string;
    before(async () => {
      dir = tempDir();
      lab = await startLab(labConfigSchema.parse({}), { dir });
    });
    after(async () => {
      await lab?.down();
      rmSync(dir, { recursive: true, force: true });
    });

    it("writes lab.json with every endpoint, chain id and contract", () => {
      const info = readLabInfo(join(dir, "lab.json"));
      expect(info.chains.ethereum!.chainId).to.equal(1);
      expect(info.chains.polygon!.chainId).to.equal(137);
      expect(info.chains.arbitrum!.chainId).to.equal(42_161);
      expect(info.chains.arbitrum!.contracts!.sequencerUptimeFeed).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(Object.keys(info.oracles.sources)).to.have.members(["chainlink", "pyth", "redstone"]);
      expect(info.proxies).to.have.length(3 * 3 + 3 + 1);
      for (const proxy of info.proxies) expect(proxy.listen).to.match(/^127\.0\.0\.1:\d+$/);
    });

    it("answers latestRoundData of the price feed through the primary proxy", async () => {
      const info = lab!.info;
      const provider = new JsonRpcProvider(info.chains.ethereum!.rpc.primary, 1, { staticNetwork: true });
      try {
        const feed = new Contract(info.chains.ethereum!.contracts!.ethUsdFeed, FEED_ABI, provider);
        const [roundId, answer, , updatedAt] = (await feed.getFunction("latestRoundData")()) as bigint[];
        expect(roundId! > 0n).to.equal(true);
        expect(Number(answer) / 1e8).to.be.within(2500, 3500);
        expect(Number(updatedAt)).to.be.greaterThan(Date.now() / 1000 - 120);
      } finally {
        provider.destroy();
      }
    });

    it("fails the primary RPC when its proxy is disabled while the secondary still answers", async () => {
      const info = lab!.info;
      const set = (enabled: boolean) =>
        fetch(`${info.toxiproxy.url}/proxies/ethereum-primary`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ enabled }),
        });
      expect((await set(false)).status).to.equal(200);
      try {
        let failed = false;
        try {
          await rpc(info.chains.ethereum!.rpc.primary, "eth_blockNumber", 1000);
        } catch {
          failed = true;
        }
        expect(failed, "primary must fail").to.equal(true);
        expect(await rpc(info.chains.ethereum!.rpc.secondary, "eth_blockNumber")).to.match(/^0x[0-9a-f]+$/);
      } finally {
        expect((await set(true)).status).to.equal(200);
      }
      expect(await rpc(info.chains.ethereum!.rpc.primary, "eth_blockNumber")).to.match(/^0x[0-9a-f]+$/);
    });

    it("serves a price on every source, and the head of every chain advances", async () => {
      const info = lab!.info;
      for (const url of Object.values(info.oracles.sources)) {
        const quote = (await (await fetch(`${url}/price/USDC-USD`)).json()) as { price: number };
        expect(quote.price).to.be.within(0.99, 1.01);
      }
      const before = Number(await rpc(info.chains.arbitrum!.nodeUrl, "eth_blockNumber"));
      await until(
        "an arbitrum block",
        async () => Number(await rpc(info.chains.arbitrum!.nodeUrl, "eth_blockNumber")) > before,
        5000,
      );
    });
  });

  it("up then down leaves no process and no proxy", async () => {
    const dir = tempDir();
    const lab = await startLab(labConfigSchema.parse({}), { dir });
    const info = lab.info;
    const pids = labPids(dir);
    expect(pids.length).to.be.greaterThanOrEqual(3);
    for (const pid of pids) expect(isAlive(pid)).to.equal(true);
    const proxies = (await (await fetch(`${info.toxiproxy.url}/proxies`)).json()) as Record<string, unknown>;
    expect(Object.keys(proxies)).to.include.members(info.proxies.map((p) => p.name));
    await lab.down();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
    expect(await refuses(`${info.toxiproxy.url}/proxies`), "toxiproxy API closed").to.equal(true);
    for (const proxy of info.proxies)
      expect(await refuses(`http://${proxy.listen}/`), proxy.name).to.equal(true);
    expect(existsSync(join(dir, "lab.json"))).to.equal(false);
    expect(labPids(dir)).to.deep.equal([]);
    rmSync(dir, { recursive: true, force: true });
  });

  describe("the CLI", () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      it(`${signal} while up stops every process and proxy`, async () => {
        const dir = tempDir();
        const run = cli(["lab", "up", "--dir", dir]);
        await until(
          "lab.json",
          () => existsSync(join(dir, "lab.json")) && run.output().includes("holding the lab"),
          60_000,
        );
        const info = readLabInfo(join(dir, "lab.json"));
        const pids = labPids(dir);
        run.child.kill(signal);
        expect(await run.exit).to.equal(0);
        for (const pid of [...pids, info.pid]) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
        for (const proxy of info.proxies)
          expect(await refuses(`http://${proxy.listen}/`), proxy.name).to.equal(true);
        expect(existsSync(join(dir, "lab.json"))).to.equal(false);
        rmSync(dir, { recursive: true, force: true });
      });

      it(`${signal} during up leaves nothing behind`, async () => {
        const dir = tempDir();
        const run = cli(["lab", "up", "--dir", dir]);
        // The first step line means processes are already running.
        await until("the first step", () => run.output().includes("lab: toxiproxy"), 60_000);
        const pids = labPids(dir);
        run.child.kill(signal);
        const code = await run.exit;
        expect(code).to.be.oneOf([0, 130]);
        for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
        await until("pid files removed", () => labPids(dir).length === 0, 2000);
        expect(existsSync(join(dir, "lab.json"))).to.equal(false);
        rmSync(dir, { recursive: true, force: true });
      });
    }

    it("sweeps what a lab killed with SIGKILL left, on the next up", async () => {
      const dir = tempDir();
      const first = cli(["lab", "up", "--dir", dir]);
      await until(
        "lab.json",
        () => existsSync(join(dir, "lab.json")) && first.output().includes("holding the lab"),
        60_000,
      );
      const orphans = labPids(dir);
      first.child.kill("SIGKILL");
      await first.exit;
      // Orphaned anvils die by themselves on their next write to the closed pipe; an idle
      // toxiproxy-server does not. Whatever survived must be swept by the next `up`.
      const survivors = orphans.filter(isAlive);
      const second = cli(["lab", "up", "--dir", dir]);
      await until("second lab", () => second.output().includes("holding the lab"), 60_000);
      if (survivors.length > 0) expect(second.output()).to.include("swept what a killed run left");
      for (const pid of orphans) expect(isAlive(pid), `orphan ${pid}`).to.equal(false);
      const down = cli(["lab", "down", "--dir", dir]);
      expect(await down.exit).to.equal(0);
      expect(await second.exit).to.equal(0);
      expect(labPids(dir)).to.deep.equal([]);
      // The killed chains could not remove their cache folders; the sweep did.
      expect(second.output()).to.include("anvil cache folders");
      expect(existsSync(join(dir, "anvil"))).to.equal(false);
      rmSync(dir, { recursive: true, force: true });
    });

    it("status checks every component, env prints the SUT variables, down stops a detached lab", async () => {
      const dir = tempDir();
      const upCli = cli(["lab", "up", "--detach", "--dir", dir]);
      expect(await upCli.exit, upCli.output()).to.equal(0);
      const info = readLabInfo(join(dir, "lab.json"));
      const status = cli(["lab", "status", "--dir", dir]);
      expect(await status.exit, status.output()).to.equal(0);
      expect(status.output()).to.match(/ok\s+rpc polygon emergency/);
      expect(status.output()).to.match(/ok\s+keeper/);
      const env = cli(["lab", "env", "--dir", dir]);
      expect(await env.exit).to.equal(0);
      expect(env.output()).to.include(
        `FIREDRILL_RPC_ARBITRUM_SECONDARY=${info.chains.arbitrum!.rpc.secondary}`,
      );
      expect(env.output()).to.match(/FIREDRILL_ORACLE_URLS=chainlink=http:\/\/127\.0\.0\.1:\d+,pyth=/);
      expect(env.output()).not.to.match(/0x[0-9a-fA-F]{64}/);
      const down = cli(["lab", "down", "--dir", dir]);
      expect(await down.exit).to.equal(0);
      expect(isAlive(info.pid)).to.equal(false);
      expect(labPids(dir)).to.deep.equal([]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("writes no chain state to disk and keeps enough for the deepest reorg", async () => {
      // anvil keeps the states of old blocks under $HOME/.foundry/anvil/tmp unless told
      // otherwise, and never removes them, nor its cache folder: a HOME and a TMPDIR of its
      // own show what the lab leaves.
      const home = tempDir();
      const tmp = tempDir();
      const dir = tempDir();
      const env = { ...process.env, HOME: home, TMPDIR: tmp };
      try {
        const up = cli(["lab", "up", "--detach", "--dir", dir], env);
        expect(await up.exit, up.output()).to.equal(0);
        const url = readLabInfo(join(dir, "lab.json")).chains.ethereum!.nodeUrl;
        await rpcCall(url, "anvil_mine", [toQuantity(2 * KEPT_STATES)]);
        await rpcCall(url, "anvil_reorg", [MAX_REORG_DEPTH, []]);
        const down = cli(["lab", "down", "--dir", dir], env);
        expect(await down.exit, down.output()).to.equal(0);
        const left = readdirSync(home, { recursive: true }).filter((f) => String(f).includes("anvil-state"));
        expect(left, "anvil state files").to.deep.equal([]);
        expect(
          readdirSync(tmp).filter((f) => f.includes("anvil")),
          "anvil folders in TMPDIR",
        ).to.deep.equal([]);
        // Each chain removed its own cache folder: the sweep after it found none.
        expect(down.output()).to.not.include("anvil cache folders");
        expect(existsSync(join(dir, "anvil"))).to.equal(false);
      } finally {
        rmSync(home, { recursive: true, force: true });
        rmSync(tmp, { recursive: true, force: true });
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("rejects a broken lab.yml with file:line field, exit 2, starting nothing", async () => {
      const dir = tempDir();
      const cases: [string, RegExp][] = [
        [
          "seed: 1\nchains:\n  polygon:\n    chain_id: 137\n    block_time: 2x\n",
          /lab\.yml:5 chains\.polygon\.block_time: /,
        ],
        ["seed: 1\nports:\n  toxiproxy: 70000\n", /lab\.yml:3 ports\.toxiproxy: /],
        ["seed: 1\nbogus: true\n", /lab\.yml:2 .*bogus/],
        ["seed: [1\n", /lab\.yml:\d+: YAML syntax/],
        ["clock_speedup: fast\n", /lab\.yml:1 clock_speedup: /],
        [
          "time_factor: 60\n",
          /lab\.yml:1 time_factor: unknown key "time_factor": it is now called "clock_speedup"/,
        ],
        [
          "chains:\n  ethereum:\n    chain_id: 1\n    block_time: 1s\n  polygon:\n    chain_id: 1\n    block_time: 1s\n",
          /lab\.yml:6 chains\.polygon\.chain_id: chain id 1 is ethereum's already/,
        ],
        [
          "ports:\n  toxiproxy: 18474\n  regulator: 18474\n",
          /lab\.yml:3 ports\.regulator: port 18474 is also ports\.toxiproxy/,
        ],
      ];
      for (const [text, pattern] of cases) {
        const file = join(dir, "lab.yml");
        writeFileSync(file, text);
        const run = cli(["lab", "up", "--config", file, "--dir", join(dir, "lab")]);
        expect(await run.exit, run.output()).to.equal(2);
        const lines = run.output().trim().split("\n");
        expect(lines, run.output()).to.have.length(1);
        expect(lines[0]).to.match(pattern);
        expect(run.output()).not.to.include("    at ");
        expect(existsSync(join(dir, "lab", "lab.json"))).to.equal(false);
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it("exits 3 naming the component when its port is taken, after stopping what had started", async () => {
      const dir = tempDir();
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const port = (blocker.address() as { port: number }).port;
      const file = join(dir, "lab.yml");
      writeFileSync(
        file,
        `chains:\n  polygon:\n    chain_id: 137\n    block_time: 500ms\n    port: ${port}\n`,
      );
      try {
        const run = cli(["lab", "up", "--config", file, "--dir", join(dir, "lab")]);
        expect(await run.exit, run.output()).to.equal(3);
        expect(run.output()).to.match(/anvil-polygon: /);
        expect(run.output()).to.include("  | ");
        expect(labPids(join(dir, "lab"))).to.deep.equal([]);
      } finally {
        blocker.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
