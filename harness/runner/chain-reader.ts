/**
 * The harness's own view of the chains: straight to each node, never through a proxy,
 * so that what the runner observes (probes, invariants, proofs) is the truth and not
 * what a fault makes the system under test see.
 */
import { Interface } from "ethers";
import { FiredrillError } from "../errors.ts";
import { rpcCall } from "../lab/anvil.ts";
import { type LabInfo, labChain, labContracts } from "../lab/index.ts";
import type { Pair } from "../names.ts";

const VAULT = new Interface([
  "function collateralRatio() view returns (uint256)",
  "function processed(bytes32 id) view returns (bool)",
  "event CollateralDeposited(address indexed from, address asset, uint256 amount)",
  "event Redeemed(bytes32 indexed id, address indexed holder, address payTo, uint256 amount, uint256 payout)",
]);
const ERC20 = new Interface([
  "function totalSupply() view returns (uint256)",
  "function decimals() view returns (uint8)",
  "function balanceOf(address) view returns (uint256)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
]);
const FEED = new Interface([
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function decimals() view returns (uint8)",
]);

type ChainName = keyof LabInfo["chains"];

interface Log {
  topics: string[];
  data: string;
}

/** The `index`th 32-byte word of a log's data (its non-indexed arguments), as an unsigned integer. */
function dataWord(log: Log, index: number): bigint {
  const hex = log.data.slice(2 + 64 * index, 2 + 64 * (index + 1));
  if (hex.length !== 64)
    throw new FiredrillError("FD320", `a log's data has no word ${index}: ${log.data.length} hex characters`);
  return BigInt(`0x${hex}`);
}

/** A view call on the node at `url`, at `block`, decoded. */
async function callAt(
  url: string,
  to: string,
  iface: Interface,
  fn: string,
  args: unknown[] = [],
  block = "latest",
) {
  const data = iface.encodeFunctionData(fn, args);
  return iface.decodeFunctionResult(fn, await rpcCall<string>(url, "eth_call", [{ to, data }, block], 3000));
}

/** Reads of one lab, by chain name. */
export function chainReader(lab: LabInfo) {
  const node = (chain: ChainName) => labChain(lab, chain).nodeUrl;
  const call = (chain: ChainName, to: string, iface: Interface, fn: string, args: unknown[] = []) =>
    callAt(node(chain), to, iface, fn, args);
  const logs = (chain: ChainName, address: string, topic: string, fromBlock = 0) =>
    rpcCall<Log[]>(
      node(chain),
      "eth_getLogs",
      [{ address, topics: [topic], fromBlock: `0x${fromBlock.toString(16)}`, toBlock: "latest" }],
      10_000,
    );
  const own = (chain: ChainName, what: string) => labContracts(lab, chain, what);

  return {
    async blockNumber(chain: ChainName): Promise<number> {
      return Number.parseInt(await rpcCall<string>(node(chain), "eth_blockNumber", [], 2000), 16);
    },
    /**
     * The collateral ratio (1.0 = 100%); Infinity when nothing is minted: the vault's, or on a
     * team's chain its reserve at its own feed's price over its token's supply.
     */
    async collateralRatio(chain: ChainName): Promise<number> {
      const team = labChain(lab, chain).team;
      if (team !== undefined) return teamCollateralRatio(lab, chain);
      const [ratio] = await call(
        chain,
        own(chain, "the collateral_ratio probe").vault,
        VAULT,
        "collateralRatio",
      );
      const value = ratio as bigint;
      return value >= 2n ** 255n ? Number.POSITIVE_INFINITY : Number(value) / 1e18;
    },
    /** Age of a feed's latest round in ms, by the node's clock (the block timestamp is real time). */
    async feedUpdatedAt(chain: ChainName, pair: Pair): Promise<{ updatedAtMs: number; answer: number }> {
      const { contracts, team } = labChain(lab, chain);
      const address = team
        ? team.feeds[pair]
        : pair === "ETH/USD"
          ? contracts?.ethUsdFeed
          : contracts?.usdcUsdFeed;
      if (address === undefined) throw new FiredrillError("FD320", `chain ${chain} lists no ${pair} feed`);
      const round = await call(chain, address, FEED, "latestRoundData");
      return { updatedAtMs: Number(round[3] as bigint) * 1000, answer: Number(round[1] as bigint) / 1e8 };
    },
    async processed(chain: ChainName, id: string): Promise<boolean> {
      const [done] = await call(chain, own(chain, "a redemption").vault, VAULT, "processed", [id]);
      return done as boolean;
    },
    /** Total supply of fdUSD and the sum of every holder's balance (holders found from Transfer logs). */
    async supplyAndBalances(
      chain: ChainName,
    ): Promise<{ supply: bigint; balances: bigint; holders: number }> {
      const token = own(chain, "the supply invariant").stablecoin;
      const transfers = await logs(chain, token, ERC20.getEvent("Transfer")!.topicHash);
      const holders = new Set<string>();
      for (const log of transfers) {
        // `from` and `to` are indexed: topics 1 and 2, each an address padded to 32 bytes.
        for (const topic of log.topics.slice(1, 3)) {
          if (BigInt(topic) !== 0n) holders.add(`0x${topic.slice(26)}`.toLowerCase());
        }
      }
      const [supply] = await call(chain, token, ERC20, "totalSupply");
      let balances = 0n;
      for (const holder of holders)
        balances += (await call(chain, token, ERC20, "balanceOf", [holder]))[0] as bigint;
      return { supply: supply as bigint, balances, holders: holders.size };
    },
    /** The vault's USDC against what its events say it should hold: deposits minus payouts. */
    async collateralAccount(chain: ChainName): Promise<{ held: bigint; deposited: bigint; paidOut: bigint }> {
      const { vault, usdc } = own(chain, "the collateral invariant");
      // Read from the logs' data words directly: a drill's thousands of redemptions are
      // thousands of logs, and decoding each through the ABI costs a third of a millisecond.
      const deposits = await logs(chain, vault, VAULT.getEvent("CollateralDeposited")!.topicHash);
      let deposited = 0n;
      for (const log of deposits) {
        // CollateralDeposited(address indexed from, address asset, uint256 amount)
        if (dataWord(log, 0) === BigInt(usdc)) deposited += dataWord(log, 1);
      }
      const redemptions = await logs(chain, vault, VAULT.getEvent("Redeemed")!.topicHash);
      let paidOut = 0n;
      // Redeemed(bytes32 indexed id, address indexed holder, address payTo, uint256 amount, uint256 payout)
      for (const log of redemptions) paidOut += dataWord(log, 2);
      const [held] = await call(chain, usdc, ERC20, "balanceOf", [vault]);
      return { held: held as bigint, deposited, paidOut };
    },
    /** How many times each redemption id was paid on chain. */
    async redemptionCounts(chain: ChainName): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      const redemptions = await logs(
        chain,
        own(chain, "the redemption invariant").vault,
        VAULT.getEvent("Redeemed")!.topicHash,
      );
      for (const log of redemptions) {
        const id = log.topics[1]!;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
  };
}

export type ChainReader = ReturnType<typeof chainReader>;

/**
 * A team's token since the fork: its supply then and now against what was minted and
 * burnt since, and every address it moved between against its transfers.
 */
export async function teamSupplyAccount(
  lab: LabInfo,
  chain: ChainName,
): Promise<{
  supplyAtFork: bigint;
  supply: bigint;
  minted: bigint;
  burnt: bigint;
  touched: number;
  mismatched: string[];
}> {
  const { team, nodeUrl: node } = labChain(lab, chain);
  if (team === undefined) throw new FiredrillError("FD320", `chain ${chain} runs no team deployment`);
  const call = (fn: string, args: unknown[], block: string) =>
    callAt(node, team.stablecoin, ERC20, fn, args, block);
  const token = team.stablecoin;
  const fork = `0x${team.forkBlock.toString(16)}`;
  const flows = new Map<string, bigint>();
  let minted = 0n;
  let burnt = 0n;
  for (const log of await rpcCall<Log[]>(
    node,
    "eth_getLogs",
    [
      {
        address: token,
        topics: [ERC20.getEvent("Transfer")!.topicHash],
        fromBlock: `0x${(team.forkBlock + 1).toString(16)}`,
        toBlock: "latest",
      },
    ],
    10_000,
  )) {
    const parsed = ERC20.parseLog(log);
    if (!parsed) continue;
    const [from, to, value] = [parsed.args[0] as string, parsed.args[1] as string, parsed.args[2] as bigint];
    if (BigInt(from) === 0n) minted += value;
    else flows.set(from.toLowerCase(), (flows.get(from.toLowerCase()) ?? 0n) - value);
    if (BigInt(to) === 0n) burnt += value;
    else flows.set(to.toLowerCase(), (flows.get(to.toLowerCase()) ?? 0n) + value);
  }
  const [supplyAtFork] = await call("totalSupply", [], fork);
  const [supply] = await call("totalSupply", [], "latest");
  const mismatched: string[] = [];
  for (const [who, flow] of flows) {
    const [then] = await call("balanceOf", [who], fork);
    const [now] = await call("balanceOf", [who], "latest");
    if ((now as bigint) - (then as bigint) !== flow) mismatched.push(who);
  }
  return {
    supplyAtFork: supplyAtFork as bigint,
    supply: supply as bigint,
    minted,
    burnt,
    touched: flows.size,
    mismatched,
  };
}

const PROXY = new Interface([
  "function aggregator() view returns (address)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);

/** What a team's contracts read: each value by a name an auditor can follow. */
export type TeamReadings = Record<string, Record<string, string>>;

/**
 * Every reading of the team's contracts a drill must leave as it found them, per chain:
 * the aggregator behind each proxy and its latest answer and time, the sequencer feed's
 * answer, the token's supply, and the balances of the listed holders and reserve.
 */
export async function teamReadings(lab: LabInfo): Promise<TeamReadings> {
  const out: TeamReadings = {};
  for (const [chain, info] of Object.entries(lab.chains)) {
    const team = info.team;
    if (team === undefined) continue;
    const call = (iface: Interface, to: string, fn: string, args: unknown[] = []) =>
      callAt(info.nodeUrl, to, iface, fn, args);
    const readings: Record<string, string> = {};
    for (const [pair, proxy] of Object.entries(team.feeds)) {
      readings[`${pair} aggregator`] = String((await call(PROXY, proxy, "aggregator"))[0]);
      const [, answer, , updatedAt] = await call(PROXY, proxy, "latestRoundData");
      readings[`${pair} answer`] = `${answer} at ${updatedAt}`;
    }
    if (team.sequencerUptimeFeed)
      readings["sequencer uptime feed"] = String(
        (await call(PROXY, team.sequencerUptimeFeed, "latestRoundData"))[1],
      );
    readings["token supply"] = String((await call(ERC20, team.stablecoin, "totalSupply"))[0]);
    for (const holder of team.holders)
      readings[`token balance of ${holder}`] = String(
        (await call(ERC20, team.stablecoin, "balanceOf", [holder]))[0],
      );
    for (const holder of team.reserve?.holders ?? []) {
      const token = team.reserve!.token;
      readings[`reserve of ${holder}`] = token
        ? String((await call(ERC20, token, "balanceOf", [holder]))[0])
        : BigInt(await rpcCall<string>(info.nodeUrl, "eth_getBalance", [holder, "latest"], 3000)).toString();
    }
    out[chain] = readings;
  }
  return out;
}

/** A team's reserve at its own feed's price over its token's supply (the stack's reading too). */
async function teamCollateralRatio(lab: LabInfo, chain: ChainName): Promise<number> {
  const { team, nodeUrl } = labChain(lab, chain);
  if (team?.reserve === undefined)
    throw new FiredrillError(
      "FD320",
      `chain ${chain} lists no reserve in deployment.yml: no collateral ratio to read`,
    );
  const call = (iface: Interface, to: string, fn: string, args: unknown[] = []) =>
    callAt(nodeUrl, to, iface, fn, args);
  const { token, holders } = team.reserve;
  const pair = token === undefined ? "ETH/USD" : "USDC/USD";
  const feed = team.feeds[pair];
  if (feed === undefined)
    throw new FiredrillError("FD320", `chain ${chain} lists no ${pair} feed to value its reserve`);
  const decimals = async (address: string) => Number((await call(ERC20, address, "decimals"))[0]);
  const [, answer] = await call(PROXY, feed, "latestRoundData");
  const price = Number(answer as bigint) / 10 ** Number((await call(FEED, feed, "decimals"))[0]);
  let held = 0;
  for (const holder of holders) {
    const units = token
      ? ((await call(ERC20, token, "balanceOf", [holder]))[0] as bigint)
      : BigInt(await rpcCall<string>(nodeUrl, "eth_getBalance", [holder, "latest"], 3000));
    held += Number(units) / 10 ** (token ? await decimals(token) : 18);
  }
  const supply =
    Number((await call(ERC20, team.stablecoin, "totalSupply"))[0] as bigint) /
    10 ** (await decimals(team.stablecoin));
  return supply > 0 ? (held * price) / supply : Number.POSITIVE_INFINITY;
}
