/**
 * A "mainnet-like" node for tests and benchmarks: an anvil on which a team's world is
 * deployed the way it is on a real network, by accounts firedrill does not control and at
 * addresses it did not choose, with some history. Chainlink's own contracts, compiled from
 * the npm package `@chainlink/contracts`: an `EACAggregatorProxy` in front of an aggregator
 * per pair, and an Arbitrum sequencer uptime feed (with its flags contract) behind a proxy
 * of its own; and the team's ERC-20 stablecoin with a minter of its own, held by a few
 * holders who have traded it. The lab forks this node as it would fork a real network.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type BaseContract,
  ContractFactory,
  type ContractRunner,
  type InterfaceAbi,
  JsonRpcProvider,
  Network,
  Wallet,
} from "ethers";
import { type Chain, startAnvil } from "../lab/anvil.ts";
import { ROOT } from "../paths.ts";
import { seededRandom } from "../random.ts";

const ARTIFACTS = join(ROOT, "artifacts");

function factory(path: string, runner: ContractRunner): ContractFactory {
  const artifact = JSON.parse(readFileSync(join(ARTIFACTS, path), "utf8")) as {
    abi: InterfaceAbi;
    bytecode: string;
  };
  return new ContractFactory(artifact.abi, artifact.bytecode, runner);
}

const PATHS = {
  proxy: "@chainlink/contracts/src/v0.6/EACAggregatorProxy.sol/EACAggregatorProxy.json",
  uptimeFeed:
    "@chainlink/contracts/src/v0.8/l2ep/dev/arbitrum/ArbitrumSequencerUptimeFeed.sol/ArbitrumSequencerUptimeFeed.json",
  flags: "@chainlink/contracts/src/v0.8/dev/Flags.sol/Flags.json",
  accessController:
    "@chainlink/contracts/src/v0.8/shared/access/SimpleWriteAccessController.sol/SimpleWriteAccessController.json",
  aggregator: "contracts/ControlledAggregator.sol/ControlledAggregator.json",
  stablecoin: "contracts/fixtures/TeamStablecoin.sol/TeamStablecoin.json",
} as const;

/** What a team's address book would list for this node. */
export interface MainnetLike {
  chain: Chain;
  url: string;
  /** Block number after the history: a fork at this block sees everything. */
  block: number;
  stablecoin: string;
  holders: string[];
  feeds: {
    "ETH/USD": { proxy: string; aggregator: string };
    "USDC/USD": { proxy: string; aggregator: string };
  };
  sequencer: { proxy: string; feed: string; l1Sender: string };
  /** Holds the reserve, in ETH: 1.1 times the supply at 3000 USD. */
  reserve: string;
  /** Owner of the proxies (a Chainlink multisig on a real network). */
  proxyOwner: string;
  /** An address with no code, for bad-input tests. */
  emptyAddress: string;
  stop(): Promise<void>;
}

/** Starts the node and deploys the team's world with `rounds` price rounds of history. */
export async function startMainnetLike(
  options: { seed?: number; rounds?: number; chainId?: number } = {},
): Promise<MainnetLike> {
  const chain = await startAnvil({ name: "mainnet-like", chainId: options.chainId ?? 1, blockTimeMs: 1000 });
  try {
    return await deployWorld(chain, options.seed ?? 7, options.rounds ?? 6);
  } catch (error) {
    await chain.process.stop();
    throw error;
  }
}

async function deployWorld(chain: Chain, seed: number, rounds: number): Promise<MainnetLike> {
  // No cached reads: each transaction asks the node for its nonce afresh.
  const provider = new JsonRpcProvider(chain.url, new Network("mainnet-like", chain.chainId), {
    staticNetwork: true,
    batchMaxCount: 1,
    pollingInterval: 50,
    cacheTimeout: -1,
  });
  const random = seededRandom(seed);
  // Keys of the team, Chainlink's multisig and the holders: none is one of anvil's or the lab's.
  const wallet = () => {
    const key = `0x${Array.from({ length: 32 }, () => random.int(256).toString(16).padStart(2, "0")).join("")}`;
    return new Wallet(key, provider);
  };
  const team = wallet();
  const chainlink = wallet();
  const minter = wallet();
  const l1Sender = wallet().address;
  const holders = Array.from({ length: 4 }, wallet);
  for (const w of [team, chainlink, minter, ...holders])
    await chain.rpc("anvil_setBalance", [w.address, "0x56BC75E2D63100000"]);
  // Addresses depend on nonces: burn a few, as an account with a past would have.
  for (let i = 0; i < 3 + random.int(5); i++)
    await (await team.sendTransaction({ to: team.address, value: 0n })).wait();

  const deploy = async (path: string, signer: Wallet, ...args: unknown[]): Promise<BaseContract> => {
    const contract = await factory(path, signer).deploy(...args);
    await contract.waitForDeployment();
    return contract;
  };
  const call = async (contract: BaseContract, fn: string, ...args: unknown[]) => {
    await (await contract.getFunction(fn)(...args)).wait();
  };

  const stablecoin = await deploy(PATHS.stablecoin, team, "Team USD", "tUSD", team.address);
  await call(stablecoin, "grantRole", await stablecoin.getFunction("MINTER_ROLE")(), minter.address);
  const coin = stablecoin.connect(minter) as BaseContract;
  for (const [i, h] of holders.entries())
    await call(coin, "mint", h.address, BigInt(250_000 + i * 1_000) * 10n ** 6n);
  await call(
    stablecoin.connect(holders[0]!) as BaseContract,
    "transfer",
    holders[1]!.address,
    12_345n * 10n ** 6n,
  );
  await call(coin, "burn", holders[2]!.address, 1_000n * 10n ** 6n);

  const zero = `0x${"0".repeat(40)}`;
  const raising = await deploy(PATHS.accessController, chainlink);
  const lowering = await deploy(PATHS.accessController, chainlink);
  const flags = await deploy(PATHS.flags, chainlink, await raising.getAddress(), await lowering.getAddress());
  const uptime = await deploy(PATHS.uptimeFeed, chainlink, await flags.getAddress(), l1Sender);
  const uptimeAddress = await uptime.getAddress();
  for (const controller of [raising, lowering, flags]) await call(controller, "addAccess", uptimeAddress);
  await call(uptime, "initialize");
  const uptimeProxy = await deploy(PATHS.proxy, chainlink, uptimeAddress, zero);
  await call(uptime, "addAccess", await uptimeProxy.getAddress());

  const feeds = {} as MainnetLike["feeds"];
  for (const [pair, price, description] of [
    ["ETH/USD", 3000, "ETH / USD"],
    ["USDC/USD", 1, "USDC / USD"],
  ] as const) {
    const aggregator = await deploy(PATHS.aggregator, chainlink, 8, description, 4, chainlink.address);
    const proxy = await deploy(PATHS.proxy, chainlink, await aggregator.getAddress(), "0x" + "0".repeat(40));
    for (let r = 0; r < rounds; r++) {
      const answer = Math.round(price * (1 + (random.next() - 0.5) * 0.01) * 1e8);
      await call(aggregator, "transmit", BigInt(answer));
    }
    feeds[pair] = { proxy: await proxy.getAddress(), aggregator: await aggregator.getAddress() };
  }

  // The reserve behind the token: ETH worth 1.1 times the supply at the first ETH/USD price.
  const reserve = wallet().address;
  const supply = (await stablecoin.getFunction("totalSupply")()) as bigint;
  const reserveWei = (supply * 11n * 10n ** 12n) / 10n / 3000n;
  await chain.rpc("anvil_setBalance", [reserve, `0x${reserveWei.toString(16)}`]);

  const emptyAddress = wallet().address;
  provider.destroy();
  return {
    chain,
    url: chain.url,
    block: Number.parseInt(await chain.rpc<string>("eth_blockNumber"), 16),
    stablecoin: await stablecoin.getAddress(),
    holders: holders.map((h) => h.address),
    feeds,
    sequencer: { proxy: await uptimeProxy.getAddress(), feed: uptimeAddress, l1Sender },
    reserve,
    proxyOwner: chainlink.address,
    emptyAddress,
    stop: () => chain.process.stop(),
  };
}
