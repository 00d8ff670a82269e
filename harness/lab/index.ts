/**
 * The lab: anvil chains (the embedded three, or those lab.yml names) with the contracts
 * deployed (or, on a chain forked with a team's address book, the team's contracts checked),
 * independent price sources, a keeper pushing the on-chain feeds, a regulator endpoint, and
 * Toxiproxy in front of every one of them. `startLab` owns everything it starts and `lab.down()` releases it all, in
 * reverse order, even when a step fails.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type SutWiring, sutEnv } from "../contract/env.ts";
import { FiredrillError, labError, releaseAll } from "../errors.ts";
import {
  type ChainName,
  type LabChainSet,
  PAIRS,
  type Pair,
  PROVIDERS,
  type ProviderName,
  SOURCE_NAMES,
  type SourceName,
} from "../names.ts";
import { ARTIFACTS_DIR, LAB_DIR, STATE_DIR } from "../paths.ts";
import { isAlive, sweepPidFiles } from "../process.ts";
import { seededRandom } from "../random.ts";
import { registerSecret } from "../redact.ts";
import { type Chain, startAnvil } from "./anvil.ts";
import { latestRound, type NodeRpc, proxyFacts } from "./chainlink.ts";
import type { LabConfig } from "./config.ts";
import { type ChainContracts, deployStack, type LabAccounts, labAccounts } from "./deploy.ts";
import { CHAINLINK_HEARTBEATS_MS, verifyOnFork } from "./deployment.ts";
import { type JsonServer, type Routes, serveJson } from "./http.ts";
import { createKeeper, type Keeper } from "./keeper.ts";
import { createMarket, type Market } from "./market.ts";
import { type MiningControl, type MiningMode, startMining } from "./mining.ts";
import { type PriceSource, type SourceMode, startPriceSource } from "./oracles.ts";
import { startRegulator } from "./regulator.ts";
import { type RpcLayers, startRpcLayers } from "./rpc-control.ts";
import { createLabProxy, type LabToxiproxy, startLabToxiproxy } from "./toxiproxy.ts";

/** What `lab.json` holds: every endpoint, chain id, contract address and operator key. */
export interface LabInfo {
  version: 1;
  seed: number;
  clockSpeedup: number;
  startedAt: string;
  /** Process that owns the lab (the one `lab down` signals). */
  pid: number;
  dir: string;
  toxiproxy: { url: string; kind: "embedded" | "real"; version: string; owned: boolean };
  chains: Record<
    ChainName,
    {
      chainId: number;
      nodeUrl: string;
      rpc: Record<ProviderName, string>;
      blockTimeMs: number;
      /** The lab's own contracts, on a chain without an address book. */
      contracts?: ChainContracts;
      /** A team's contracts (`deployment.yml`), on a chain forked from its network. */
      team?: TeamContracts;
      /** The network the chain forks: its host only (a URL's path and query may hold a key). */
      fork?: { host: string; block: number };
    }
  >;
  oracles: {
    sources: Record<SourceName, string>;
    control: string;
    heartbeats: Record<Pair, number>;
  };
  regulator: { url: string; dir: string };
  control: string;
  proxies: { name: string; listen: string; upstream: string }[];
  accounts: LabAccounts;
}

/** A team's contracts on a forked chain, as lab.json gives them to a system under test. */
export interface TeamContracts {
  stablecoin: string;
  /** Chainlink aggregator proxies by pair. */
  feeds: Partial<Record<Pair, string>>;
  /** How old each feed may be and still be fresh, ms of real time (a fork's clock is real). */
  heartbeatsMs: Partial<Record<Pair, number>>;
  sequencerUptimeFeed?: string;
  reserve?: { token?: string | undefined; holders: string[] };
  holders: string[];
  /** Where a holder sends the token to redeem it. */
  redemptionAddress?: string;
  pauseGuardian?: string;
  /** The block the chain was forked at: invariants count from here. */
  forkBlock: number;
}

export interface Lab {
  info: LabInfo;
  /** Path of lab.json. */
  file: string;
  down(): Promise<void>;
}

export interface StartLabOptions {
  /** Folder for lab.json, pid files, regulator filings. @default ".firedrill/lab" */
  dir?: string;
  /** Folder for cached deployments. @default ".firedrill/cache" */
  cacheDir?: string;
  /** Called with a line per step, for progress output. */
  onStep?: (line: string) => void;
}

/** Lab time between two ticks of the market, the sources and the keeper. */
const TICK_MS = 250;

/** Writes `data` to `file` atomically (temp file, then rename). */
export function writeFileAtomic(file: string, data: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, data, { flush: true });
  renameSync(temp, file);
}

function deployKey(chainId: number, config: LabConfig, options: object): string {
  const hash = createHash("sha256");
  for (const name of ["Stablecoin", "CollateralVault", "MockUSDC", "PriceFeed", "SequencerUptimeFeed"]) {
    const file = join(ARTIFACTS_DIR, `${name}.sol`, `${name}.json`);
    if (existsSync(file)) hash.update(readFileSync(file));
  }
  hash.update(
    JSON.stringify({ chainId, options, market: config.market }, (_, v) =>
      typeof v === "bigint" ? v.toString() : v,
    ),
  );
  return hash.digest("hex").slice(0, 16);
}

/** Deploys the contracts, or loads the state a previous deploy left in the cache. */
async function deployChain(
  chain: Chain,
  name: ChainName,
  config: LabConfig,
  accounts: LabAccounts,
  cacheDir: string,
): Promise<ChainContracts> {
  const options = {
    ethUsd: config.market.eth_usd,
    usdcUsd: config.market.usdc_usd,
    minCollateralRatio: 1.05,
    // The vault refuses to mint on a price older than the slowest feed's heartbeat, in lab time.
    maxPriceAgeSeconds: Math.ceil((86_400 / config.clock_speedup) * 1.5),
    withSequencerFeed: config.chains[name]!.sequencer_feed,
    // A fiat-backed coin with an ETH sleeve: 800k USDC and 300k USD of ETH behind 1M fdUSD
    // (ratio 1.10), so that both a USDC depeg and an ETH crash move the collateral ratio.
    initialCollateralUsdc: 800_000n * 10n ** 6n,
    initialCollateralEth: (300_000n * 10n ** 18n) / BigInt(Math.round(config.market.eth_usd)),
    initialSupply: 1_000_000n * 10n ** 18n,
  };
  const forked = config.chains[name]!.fork !== undefined;
  const key = deployKey(chain.chainId, config, options);
  const stateFile = join(cacheDir, `${name}-${key}.state`);
  const addressFile = join(cacheDir, `${name}-${key}.json`);
  if (!forked && existsSync(stateFile) && existsSync(addressFile)) {
    await chain.rpc("anvil_loadState", [readFileSync(stateFile, "utf8")]);
    return JSON.parse(readFileSync(addressFile, "utf8")) as ChainContracts;
  }
  const contracts = await deployStack(chain.url, accounts, options);
  if (!forked) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomic(stateFile, await chain.rpc<string>("anvil_dumpState"));
    writeFileAtomic(addressFile, JSON.stringify(contracts));
  }
  return contracts;
}

/**
 * Stops what a killed run left behind: processes by pid file, the chains' cache folders,
 * and the proxies of the old lab.json.
 */
export async function sweepLab(dir: string): Promise<string[]> {
  const swept = sweepPidFiles(join(dir, "pids"));
  // The chains' cache folders: a chain removes its own when it exits, unless killed with us.
  const caches = join(dir, "anvil");
  if (existsSync(caches)) {
    if (readdirSync(caches).length > 0) swept.push("anvil cache folders");
    rmSync(caches, { recursive: true, force: true });
  }
  const file = join(dir, "lab.json");
  if (existsSync(file)) {
    try {
      const old = JSON.parse(readFileSync(file, "utf8")) as LabInfo;
      if (!isAlive(old.pid) && !old.toxiproxy.owned) {
        // An attached Toxiproxy outlives us: remove the proxies the dead lab created there.
        for (const proxy of old.proxies) {
          const response = await fetch(`${old.toxiproxy.url}/proxies/${proxy.name}`, {
            method: "DELETE",
          }).catch(() => undefined);
          if (response?.status === 204) swept.push(`proxy ${proxy.name}`);
        }
      }
    } catch {
      // A lab.json that cannot be read describes nothing we can still reach.
    }
    if (!isAlive(readPid(file))) rmSync(file, { force: true });
  }
  return swept;
}

function readPid(file: string): number {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as LabInfo).pid;
  } catch {
    return -1;
  }
}

interface ControlTargets {
  market: Market;
  sources: PriceSource[];
  keeper: Keeper;
  mining: MiningControl;
  /** Each chain's configured block time, ms: `POST /mining {mode: "mixed"}` restores it. */
  blockTimes: Record<string, number>;
  /** The JSON-RPC layers' routes (`/rpc/...`). */
  rpc: Routes;
}

/** The harness-only control API: market faults, source modes, the keeper, the sequencer. */
function startControl(targets: ControlTargets, port: number): Promise<JsonServer> {
  const { market, sources, keeper, mining, blockTimes, rpc } = targets;
  const pairOf = (value: unknown): Pair | undefined => PAIRS.find((p) => p === value);
  const state = () => ({
    prices: Object.fromEntries(PAIRS.map((p) => [p, market.price(p)])),
    shocked: PAIRS.filter((p) => market.shocked(p)),
    sources: Object.fromEntries(sources.map((s) => [s.name, s.mode()])),
    keeper: keeper.status(),
    mining: mining.state(),
  });
  return serveJson(
    "lab control",
    {
      "GET /state": () => ({ status: 200, body: state() }),
      "POST /market/shock": ({ body }) => {
        const { pair, to, overMs } = (body ?? {}) as { pair?: unknown; to?: unknown; overMs?: unknown };
        const p = pairOf(pair);
        if (!p || typeof to !== "number" || !(to > 0) || typeof overMs !== "number" || overMs < 0) {
          return { status: 400, body: { error: "expected {pair: ETH/USD|USDC/USD, to: >0, overMs: >=0}" } };
        }
        market.shock(p, to, overMs, Date.now());
        return { status: 200, body: state() };
      },
      "POST /market/reset": ({ body }) => {
        const p = pairOf((body as { pair?: unknown } | undefined)?.pair);
        market.reset(p);
        return { status: 200, body: state() };
      },
      "POST /sources/:name": ({ params, body }) => {
        const source = sources.find((s) => s.name === params["name"]);
        if (!source) return { status: 404, body: { error: `no source ${params["name"]}` } };
        const mode = body as SourceMode | undefined;
        if (
          mode?.kind === "live" ||
          mode?.kind === "frozen" ||
          (mode?.kind === "offset" && Number.isFinite(mode.offset))
        ) {
          source.setMode(mode.kind === "frozen" ? { kind: "frozen", since: Date.now() } : mode);
          return { status: 200, body: state() };
        }
        return {
          status: 400,
          body: { error: 'expected {kind: "live"|"frozen"} or {kind: "offset", offset: number}' },
        };
      },
      "POST /keeper": ({ body }) => {
        const { paused, chain, pair } = (body ?? {}) as { paused?: unknown; chain?: unknown; pair?: unknown };
        if (typeof paused !== "boolean")
          return { status: 400, body: { error: "expected {paused: boolean}" } };
        keeper.setPaused(paused, {
          chain: typeof chain === "string" ? chain : undefined,
          pair: pairOf(pair),
        });
        return { status: 200, body: state() };
      },
      "POST /mining": async ({ body }) => {
        const { chain, mode, blockTimeMs } = (body ?? {}) as {
          chain?: unknown;
          mode?: unknown;
          blockTimeMs?: unknown;
        };
        const configured = typeof chain === "string" ? blockTimes[chain] : undefined;
        if (configured === undefined) return { status: 404, body: { error: `no chain ${String(chain)}` } };
        const ms = typeof blockTimeMs === "number" && blockTimeMs >= 100 ? blockTimeMs : undefined;
        let next: MiningMode | undefined;
        if (mode === "halted") next = { mode };
        else if (mode === "mixed") next = { mode, blockTimeMs: ms ?? configured };
        else if (mode === "interval" && ms !== undefined) next = { mode, blockTimeMs: ms };
        if (!next) {
          return {
            status: 400,
            body: {
              error:
                'expected {chain, mode: "mixed"|"halted"} or {chain, mode: "interval", blockTimeMs: >=100}',
            },
          };
        }
        await mining.set(chain as string, next);
        return { status: 200, body: state() };
      },
      "POST /sequencer": async ({ body }) => {
        const { chain, down } = (body ?? {}) as { chain?: unknown; down?: unknown };
        if (typeof chain !== "string" || typeof down !== "boolean") {
          return { status: 400, body: { error: "expected {chain, down: boolean}" } };
        }
        await keeper.setSequencerDown(chain, down);
        return { status: 200, body: state() };
      },
      ...rpc,
    },
    port,
  );
}

/**
 * Like Promise.all, but waits for every start to settle before throwing the first failure,
 * so that whatever did start has registered its release before the teardown runs.
 */
async function startAll<T>(starts: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Brings the whole lab up; on any failure, stops what had started and throws naming the component. */
export async function startLab(config: LabConfig, options: StartLabOptions = {}): Promise<Lab> {
  const dir = resolve(options.dir ?? LAB_DIR);
  const cacheDir = resolve(options.cacheDir ?? join(STATE_DIR, "cache"));
  const step = options.onStep ?? (() => {});
  const file = join(dir, "lab.json");
  if (existsSync(file) && isAlive(readPid(file)) && readPid(file) !== process.pid) {
    throw labError(
      "lab",
      `a lab is already up (pid ${readPid(file)}, ${file}); run \`firedrill lab down\` first`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const swept = await sweepLab(dir);
  if (swept.length > 0) step(`swept what a killed run left: ${swept.join(", ")}`);

  const releases: Array<() => unknown> = [];
  const names = Object.keys(config.chains);
  const accounts = labAccounts();
  registerLabKeys(accounts);
  const random = seededRandom(config.seed);
  let clock: NodeJS.Timeout | undefined;
  try {
    const { lab, chainByName } = await startNodes(config, dir, releases);
    step(`toxiproxy ${lab.kind} ${lab.version} at ${lab.url}`);

    // A chain with an address book is the team's: its contracts are checked on the fork, and
    // nothing of the lab's is deployed there.
    const forks = await forkPoints(config, chainByName);
    const team = await teamChains(config, chainByName, forks);
    const own = names.filter((name) => !team.has(name));
    // The market starts where a team's real feeds are, and the lab's own chains with it.
    const start = await marketStart(config, team, chainByName);
    const priced = { ...config, market: { eth_usd: start["ETH/USD"], usdc_usd: start["USDC/USD"] } };
    const contracts = new Map<ChainName, ChainContracts>();
    await startAll(
      own.map(async (name) => {
        contracts.set(name, await deployChain(chainByName.get(name)!, name, priced, accounts, cacheDir));
      }),
    );
    if (own.length > 0) step(`contracts deployed on ${own.join(", ")}`);
    if (team.size > 0) step(`the team's contracts checked on the fork of ${[...team.keys()].join(", ")}`);

    const market = createMarket(random, { start });
    const sources = await startAll(
      SOURCE_NAMES.map((name) =>
        startPriceSource(name, market, random, config.ports.oracles[name] ?? 0).then((s) => {
          releases.push(() => s.server.close());
          return s;
        }),
      ),
    );
    const regulatorDir = join(dir, "regulator");
    const regulator = await startRegulator(regulatorDir, config.ports.regulator);
    releases.push(() => regulator.close());

    const keeper = createKeeper(
      own.map((name) => ({
        name,
        nodeUrl: chainByName.get(name)!.url,
        chainId: chainByName.get(name)!.chainId,
        feeds: { "ETH/USD": contracts.get(name)!.ethUsdFeed, "USDC/USD": contracts.get(name)!.usdcUsdFeed },
        sequencerFeed: contracts.get(name)!.sequencerUptimeFeed,
      })),
      accounts.keeper.privateKey,
      () => sources,
      config.clock_speedup,
    );
    releases.push(() => keeper.close());
    await keeper.tick(Date.now());
    clock = startClock(market, sources, keeper, step);
    releases.push(() => clearInterval(clock));

    const blockTimes = Object.fromEntries(names.map((name) => [name, config.chains[name]!.block_time]));
    const mining = await startMining(
      names.map((name) => ({ name, url: chainByName.get(name)!.url, blockTimeMs: blockTimes[name]! })),
      (line) => step(`block clock of ${line}`),
    );
    releases.push(() => mining.close());
    const rpcLayers = await startRpcLayers(
      names.map((name) => {
        const { url, chainId } = chainByName.get(name)!;
        return { name, url, chainId, blockTimeMs: config.chains[name]!.block_time };
      }),
      PROVIDERS,
      { pidDir: join(dir, "pids"), cacheParent: join(dir, "anvil") },
    );
    releases.push(() => rpcLayers.close());
    const control = await startControl(
      { market, sources, keeper, mining, blockTimes, rpc: rpcLayers.routes },
      config.ports.control,
    );
    releases.push(() => control.close());

    const proxied = await startProxies(lab, chainByName, rpcLayers, sources, regulator.url, releases);
    step(`${proxied.proxies.length} proxies in front of every endpoint`);

    const info: LabInfo = {
      version: 1,
      seed: config.seed,
      clockSpeedup: config.clock_speedup,
      startedAt: new Date().toISOString(),
      pid: process.pid,
      dir,
      toxiproxy: { url: lab.url, kind: lab.kind, version: lab.version, owned: lab.owned },
      chains: Object.fromEntries(
        names.map((name) => [
          name,
          {
            chainId: chainByName.get(name)!.chainId,
            nodeUrl: chainByName.get(name)!.url,
            rpc: proxied.rpc.get(name)!,
            blockTimeMs: config.chains[name]!.block_time,
            ...(team.has(name) ? { team: team.get(name)! } : { contracts: contracts.get(name)! }),
            ...(forks.has(name) ? { fork: forks.get(name)! } : {}),
          },
        ]),
      ) as LabInfo["chains"],
      oracles: {
        sources: proxied.sourceUrls,
        control: control.url,
        heartbeats: { "ETH/USD": keeper.heartbeatMs("ETH/USD"), "USDC/USD": keeper.heartbeatMs("USDC/USD") },
      },
      regulator: { url: proxied.regulatorUrl, dir: regulatorDir },
      control: control.url,
      proxies: proxied.proxies,
      accounts,
    };
    writeFileAtomic(file, `${JSON.stringify(info, null, 2)}\n`);
    releases.push(() => {
      if (readPid(file) === process.pid) rmSync(file, { force: true });
    });

    let downed: Promise<void> | undefined;
    return {
      info,
      file,
      down() {
        downed ??= releaseAll(releases);
        return downed;
      },
    };
  } catch (error) {
    if (clock) clearInterval(clock);
    await releaseAll(releases).catch(() => {});
    throw error;
  }
}

/**
 * Where the market starts: at lab.yml's prices, or, when a team's real feeds are forked,
 * at what the first of them answers, so that the price sources agree with them.
 */
async function marketStart(
  config: LabConfig,
  team: ReadonlyMap<ChainName, TeamContracts>,
  chainByName: ReadonlyMap<ChainName, Chain>,
): Promise<Record<Pair, number>> {
  const start: Record<Pair, number> = {
    "ETH/USD": config.market.eth_usd,
    "USDC/USD": config.market.usdc_usd,
  };
  for (const pair of PAIRS) {
    for (const [name, contracts] of team) {
      const proxy = contracts.feeds[pair];
      if (proxy === undefined) continue;
      const rpc: NodeRpc = (method, params) => chainByName.get(name)!.rpc(method, params);
      const facts = await proxyFacts(rpc, proxy);
      start[pair] = Number((await latestRound(rpc, proxy)).answer) / 10 ** facts.decimals;
      break;
    }
  }
  return start;
}

/** Where each forked chain was forked: the host of the URL it read, and the block. */
async function forkPoints(
  config: LabConfig,
  chainByName: ReadonlyMap<ChainName, Chain>,
): Promise<Map<ChainName, { host: string; block: number }>> {
  const out = new Map<ChainName, { host: string; block: number }>();
  for (const [name, chain] of Object.entries(config.chains)) {
    if (!chain.fork) continue;
    const block =
      chain.fork.block ?? Number.parseInt(await chainByName.get(name)!.rpc<string>("eth_blockNumber"), 16);
    out.set(name, { host: new URL(chain.fork.url).host, block });
  }
  return out;
}

/** Checks every address book entry on its fork; the team's contracts by chain. */
async function teamChains(
  config: LabConfig,
  chainByName: ReadonlyMap<ChainName, Chain>,
  forks: ReadonlyMap<ChainName, { block: number }>,
): Promise<Map<ChainName, TeamContracts>> {
  const team = new Map<ChainName, TeamContracts>();
  const book = config.book;
  if (book === undefined) return team;
  for (const [name, entry] of Object.entries(book.chains)) {
    const chain = chainByName.get(name)!;
    await verifyOnFork(book, name, chain.url, (method, params) => chain.rpc(method, params));
    const forkBlock = forks.get(name)!.block;
    team.set(name, {
      stablecoin: entry.stablecoin,
      feeds: entry.feeds,
      heartbeatsMs: Object.fromEntries(
        Object.keys(entry.feeds).map((pair) => [
          pair,
          entry.heartbeats[pair as Pair] ?? CHAINLINK_HEARTBEATS_MS[pair as Pair],
        ]),
      ),
      ...(entry.sequencer_uptime_feed ? { sequencerUptimeFeed: entry.sequencer_uptime_feed } : {}),
      ...(entry.reserve ? { reserve: entry.reserve } : {}),
      holders: entry.holders,
      ...(entry.pause_guardian ? { pauseGuardian: entry.pause_guardian } : {}),
      ...(entry.redemption_address ? { redemptionAddress: entry.redemption_address } : {}),
      forkBlock,
    });
  }
  return team;
}

/** Toxiproxy and the chains, started at once; each pushes its release once it is up. */
async function startNodes(
  config: LabConfig,
  dir: string,
  releases: Array<() => unknown>,
): Promise<{ lab: LabToxiproxy; chainByName: Map<ChainName, Chain> }> {
  const pidDir = join(dir, "pids");
  const [toxiproxy, ...chains] = await startAll<LabToxiproxy | Chain>([
    startLabToxiproxy({
      server: config.toxiproxy.server,
      url: config.toxiproxy.url,
      port: config.ports.toxiproxy,
      pidDir,
    }).then((t) => {
      releases.push(() => t.close());
      return t;
    }),
    ...Object.entries(config.chains).map(([name, chain]) =>
      startAnvil({
        name,
        chainId: chain.chain_id,
        port: chain.port,
        blockTimeMs: chain.block_time,
        fork: chain.fork,
        pidDir,
        cacheParent: join(dir, "anvil"),
      }).then((chain) => {
        releases.push(() => chain.process.stop());
        return chain;
      }),
    ),
  ]);
  const chainByName = new Map(Object.keys(config.chains).map((name, i) => [name, chains[i] as Chain]));
  return { lab: toxiproxy as LabToxiproxy, chainByName };
}

/** Ticks the market, the price sources and the keeper every `TICK_MS`, one tick at a time. */
function startClock(
  market: Market,
  sources: readonly PriceSource[],
  keeper: Keeper,
  step: (line: string) => void,
): NodeJS.Timeout {
  let ticking = false;
  return setInterval(() => {
    if (ticking) return;
    ticking = true;
    const now = Date.now();
    market.tick(now);
    for (const source of sources) source.tick(now);
    keeper
      .tick(now)
      .catch((error: Error & { shortMessage?: string }) =>
        step(`keeper: ${error.shortMessage ?? error.message}`),
      )
      .finally(() => {
        ticking = false;
      });
  }, TICK_MS);
}

/**
 * Puts a Toxiproxy proxy in front of every endpoint the system under test sees: each
 * chain's three providers (through their JSON-RPC layers), each price source, the regulator. Its release removes them
 * from a Toxiproxy the lab does not own.
 */
async function startProxies(
  lab: LabToxiproxy,
  chainByName: ReadonlyMap<ChainName, Chain>,
  rpcLayers: RpcLayers,
  sources: readonly PriceSource[],
  regulatorUrl: string,
  releases: Array<() => unknown>,
): Promise<{
  proxies: LabInfo["proxies"];
  rpc: Map<ChainName, Record<ProviderName, string>>;
  sourceUrls: Record<SourceName, string>;
  regulatorUrl: string;
}> {
  const proxies: LabInfo["proxies"] = [];
  const proxy = async (name: string, upstreamUrl: string) => {
    const upstream = upstreamUrl.replace(/^http:\/\//, "");
    const listen = await createLabProxy(lab, name, upstream);
    proxies.push({ name, listen, upstream });
    return `http://${listen}`;
  };
  releases.push(async () => {
    if (lab.owned) return; // stopping the server removes its proxies
    await Promise.all(proxies.map((p) => fetch(`${lab.url}/proxies/${p.name}`, { method: "DELETE" })));
  });
  const rpc = new Map<ChainName, Record<ProviderName, string>>();
  for (const name of chainByName.keys()) {
    const urls = {} as Record<ProviderName, string>;
    for (const provider of PROVIDERS)
      urls[provider] = await proxy(`${name}-${provider}`, rpcLayers.layers.get(`${name}-${provider}`)!.url);
    rpc.set(name, urls);
  }
  const sourceUrls = {} as Record<SourceName, string>;
  for (const source of sources)
    sourceUrls[source.name] = await proxy(`oracle-${source.name}`, source.server.url);
  return { proxies, rpc, sourceUrls, regulatorUrl: await proxy("regulator", regulatorUrl) };
}

/** Reads a lab.json written by `startLab`. */
export function readLabInfo(file: string): LabInfo {
  if (!existsSync(file))
    throw labError("lab", `no lab is up (${file} does not exist); run \`firedrill lab up\``);
  const info = JSON.parse(readFileSync(file, "utf8")) as LabInfo;
  registerLabKeys(info.accounts);
  return info;
}

/** Every private key of the lab's accounts, so that none is ever printed. */
function registerLabKeys(accounts: LabAccounts): void {
  const all = [
    accounts.deployer,
    accounts.operator,
    accounts.guardian,
    accounts.keeper,
    accounts.treasury,
    ...accounts.users,
  ];
  for (const account of all) registerSecret(account.privateKey);
}

/**
 * The SUT environment of a lab (README.md, "Drill your own stack"); without `wiring` (the
 * webhook, token and port a runner adds), only the lab's part.
 */
export function sutEnvironment(info: LabInfo, labFile: string, wiring?: SutWiring): Record<string, string> {
  return sutEnv(
    {
      labFile,
      rpc: Object.fromEntries(Object.entries(info.chains).map(([name, chain]) => [name, chain.rpc])),
      oracleSources: info.oracles.sources,
      regulatorUrl: info.regulator.url,
    },
    wiring,
  );
}

/** A chain of the lab, by name. @throws FiredrillError FD3xx when the lab has no such chain. */
export function labChain(info: Pick<LabInfo, "chains">, name: ChainName): LabInfo["chains"][ChainName] & {} {
  const chain = info.chains[name];
  if (chain === undefined)
    throw labError("lab", `no chain ${name} (its chains: ${Object.keys(info.chains).join(", ")})`);
  return chain;
}

/** The chains a scenario run on this lab may name. */
export function chainSetOfLab(info: Pick<LabInfo, "chains">, from: string): LabChainSet {
  const entries = Object.entries(info.chains);
  return {
    names: entries.map(([name]) => name),
    sequencer: entries
      .filter(([, c]) => (c.team ?? c.contracts)?.sequencerUptimeFeed !== undefined)
      .map(([name]) => name),
    team: entries.filter(([, c]) => c.team !== undefined).map(([name]) => name),
    from,
  };
}

/**
 * The lab's own contracts on a chain.
 * @throws FiredrillError FD320 on a chain that runs a team's deployment, naming `what` needed them.
 */
export function labContracts(info: Pick<LabInfo, "chains">, name: ChainName, what: string): ChainContracts {
  const contracts = labChain(info, name).contracts;
  if (contracts === undefined)
    throw new FiredrillError(
      "FD320",
      `${what} needs the lab's own contracts, and chain ${name} runs a team's deployment (deployment.yml)`,
    );
  return contracts;
}
