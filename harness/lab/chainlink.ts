/**
 * Faults on a team's real Chainlink contracts, on a fork. A price fault takes control of
 * the answers an `EACAggregatorProxy` returns the way the proxy's owner would: it proposes
 * and confirms an aggregator firedrill controls (a `ControlledAggregator`, started from the
 * proxy's latest round, so the feed's age runs on), and on heal proposes and confirms the
 * original aggregator again, proved by reading the proxy. The proxy's phase id grows by one
 * at each switch, as it does when Chainlink upgrades an aggregator. The L2 sequencer uptime
 * feed is flipped by its L1 sender's aliased address, as the bridge would.
 *
 * Every call here impersonates accounts or edits state: it goes only to a node the lab
 * started and checked as a local development node ({@link assertLocalDevNode}).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getAddress, Interface } from "ethers";
import { FiredrillError } from "../errors.ts";
import { ARTIFACTS_DIR } from "../paths.ts";
import { poll } from "../process.ts";

/** JSON-RPC to one node. */
export type NodeRpc = <T = unknown>(method: string, params?: unknown[]) => Promise<T>;

const PROXY = new Interface([
  "function aggregator() view returns (address)",
  "function owner() view returns (address)",
  "function phaseId() view returns (uint16)",
  "function proposeAggregator(address)",
  "function confirmAggregator(address)",
  "function decimals() view returns (uint8)",
  "function description() view returns (string)",
  "function version() view returns (uint256)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);
const CONTROLLED = new Interface([
  "function record(int256 answer, uint256 startedAt, uint256 updatedAt)",
  "function transmit(int256 answer)",
]);
const UPTIME = new Interface([
  "function l1Sender() view returns (address)",
  "function updateStatus(bool status, uint64 timestamp)",
]);

/** Arbitrum's L1-to-L2 address alias offset. */
const ALIAS_OFFSET = 0x1111000000000000000000000000000000001111n;
/** The aliased address of an L1 sender on the L2 (Arbitrum's AddressAliasHelper). */
export function aliasOfL1(address: string): string {
  const aliased = (BigInt(address) + ALIAS_OFFSET) % 2n ** 160n;
  return `0x${aliased.toString(16).padStart(40, "0")}`;
}

/** Gas money for an impersonated account, given back afterwards. */
const GAS_MONEY = "0x8AC7230489E80000"; // 10 ETH

export interface Round {
  roundId: bigint;
  answer: bigint;
  startedAt: bigint;
  updatedAt: bigint;
}

/**
 * Refuses any node that is not a local development node: its URL must be loopback and it
 * must answer anvil's own `anvil_nodeInfo`, which no public network serves.
 * @throws FiredrillError FD2xx (exit 2) before anything is sent that could change state.
 */
export async function assertLocalDevNode(url: string, rpc: NodeRpc, what: string): Promise<void> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new FiredrillError("FD212", `${what}: not a URL`);
  }
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host))
    throw new FiredrillError(
      "FD212",
      `${what}: ${host} is not this machine: faults, impersonation and state edits go only to nodes the lab started`,
    );
  try {
    await rpc("anvil_nodeInfo");
  } catch (error) {
    throw new FiredrillError(
      "FD212",
      `${what}: not a local development node (anvil_nodeInfo: ${(error as Error).message}): faults go only to nodes the lab started`,
    );
  }
}

async function read(rpc: NodeRpc, to: string, iface: Interface, fn: string, args: unknown[] = []) {
  const data = await rpc<string>("eth_call", [{ to, data: iface.encodeFunctionData(fn, args) }, "latest"]);
  return iface.decodeFunctionResult(fn, data);
}

/** The latest round a feed (or proxy) answers. */
export async function latestRound(rpc: NodeRpc, feed: string): Promise<Round> {
  const [roundId, answer, startedAt, updatedAt] = await read(rpc, feed, PROXY, "latestRoundData");
  return { roundId, answer, startedAt, updatedAt } as Round;
}

/** Sends a transaction and waits for its receipt; throws when it reverted. */
export async function send(
  rpc: NodeRpc,
  from: string,
  to: string | undefined,
  data: string,
): Promise<string> {
  const hash = await rpc<string>("eth_sendTransaction", [
    { from, ...(to ? { to } : {}), data, gas: "0x2DC6C0" },
  ]);
  const receipt = await poll(
    () =>
      rpc<{ status: string; contractAddress: string | null } | null>("eth_getTransactionReceipt", [
        hash,
      ]).then((r) => r ?? undefined),
    10_000,
    25,
  );
  if (receipt) {
    if (receipt.status !== "0x1")
      throw new FiredrillError("FD331", `transaction ${hash} to ${to ?? "a new contract"} reverted`);
    return receipt.contractAddress ? getAddress(receipt.contractAddress) : hash;
  }
  throw new FiredrillError("FD331", `transaction ${hash} was not mined within 10 s`);
}

/** Runs `act` as `account` (impersonated, with gas money), and puts its balance back after. */
export async function asAccount<T>(rpc: NodeRpc, account: string, act: () => Promise<T>): Promise<T> {
  const balance = await rpc<string>("eth_getBalance", [account, "latest"]);
  await rpc("anvil_impersonateAccount", [account]);
  try {
    await rpc("anvil_setBalance", [account, GAS_MONEY]);
    return await act();
  } finally {
    await rpc("anvil_setBalance", [account, balance]);
    await rpc("anvil_stopImpersonatingAccount", [account]);
  }
}

/** Points `proxy` at `aggregator`, as its owner does. */
async function switchAggregator(rpc: NodeRpc, proxy: string, aggregator: string): Promise<void> {
  const [owner] = await read(rpc, proxy, PROXY, "owner");
  await asAccount(rpc, owner as string, async () => {
    await send(rpc, owner as string, proxy, PROXY.encodeFunctionData("proposeAggregator", [aggregator]));
    await send(rpc, owner as string, proxy, PROXY.encodeFunctionData("confirmAggregator", [aggregator]));
  });
}

/** The proxy of a pair: its aggregator, decimals and description. */
export interface ProxyFacts {
  aggregator: string;
  decimals: number;
  description: string;
}

/**
 * Reads what makes `address` a Chainlink proxy for a pair.
 * @throws FiredrillError when it has no code or no `aggregator()`.
 */
export async function proxyFacts(rpc: NodeRpc, address: string): Promise<ProxyFacts> {
  const code = await rpc<string>("eth_getCode", [address, "latest"]);
  if (code === "0x") throw new FiredrillError("FD213", `${address} has no code`);
  try {
    const [aggregator] = await read(rpc, address, PROXY, "aggregator");
    const [decimals] = await read(rpc, address, PROXY, "decimals");
    const [description] = await read(rpc, address, PROXY, "description");
    return {
      aggregator: aggregator as string,
      decimals: Number(decimals),
      description: description as string,
    };
  } catch {
    throw new FiredrillError(
      "FD213",
      `${address} is not a Chainlink proxy (no aggregator(), decimals() and description())`,
    );
  }
}

/** Control of a proxy's answers, until `giveBack`. */
export interface ProxyControl {
  proxy: string;
  /** Decimals of the answers. */
  decimals: number;
  original: string;
  controlled: string;
  /** The round the proxy answered when control was taken. */
  start: Round;
  /** A new round with `answer` at the current block's time. */
  transmit(answer: bigint): Promise<void>;
  /** A new round with the times given (seconds). */
  record(answer: bigint, startedAt: bigint, updatedAt: bigint): Promise<void>;
  /** What the proxy answers now. */
  latest(): Promise<Round>;
  /** Points the proxy at its original aggregator again and proves it. */
  giveBack(): Promise<{ ok: boolean; summary: string; aggregator: string; round: Round }>;
}

let controlledBytecode: string | undefined;

/**
 * Takes control of `proxy`'s answers: deploys a `ControlledAggregator` from `operator` (an
 * unlocked account of the node), starts it from the proxy's latest round, and points the
 * proxy at it; proved by reading the proxy.
 */
export async function takeProxy(
  rpc: NodeRpc,
  proxy: string,
  operator: string,
  options: { empty?: boolean } = {},
): Promise<ProxyControl> {
  const facts = await proxyFacts(rpc, proxy);
  const start = await latestRound(rpc, proxy);
  const [version] = await read(rpc, proxy, PROXY, "version");
  controlledBytecode ??= (
    JSON.parse(
      readFileSync(join(ARTIFACTS_DIR, "ControlledAggregator.sol", "ControlledAggregator.json"), "utf8"),
    ) as { bytecode: string }
  ).bytecode;
  const args = new Interface([
    "constructor(uint8 decimals_, string description_, uint256 version_, address owner_)",
  ]).encodeDeploy([facts.decimals, facts.description, version, operator]);
  const controlled = await send(rpc, operator, undefined, controlledBytecode + args.slice(2));
  // Empty, the aggregator has no round: the proxy's latestRoundData reverts, as a feed
  // without data does.
  if (!options.empty)
    await send(
      rpc,
      operator,
      controlled,
      CONTROLLED.encodeFunctionData("record", [start.answer, start.startedAt, start.updatedAt]),
    );
  await switchAggregator(rpc, proxy, controlled);
  const [now] = await read(rpc, proxy, PROXY, "aggregator");
  const answers = options.empty ? undefined : await latestRound(rpc, proxy);
  if (
    (now as string).toLowerCase() !== controlled.toLowerCase() ||
    (answers && answers.answer !== start.answer)
  )
    throw new FiredrillError("FD331", `proxy ${proxy} did not take the controlled aggregator`);
  return {
    proxy,
    decimals: facts.decimals,
    original: facts.aggregator,
    controlled,
    start,
    async transmit(answer) {
      await send(rpc, operator, controlled, CONTROLLED.encodeFunctionData("transmit", [answer]));
    },
    async record(answer, startedAt, updatedAt) {
      await send(
        rpc,
        operator,
        controlled,
        CONTROLLED.encodeFunctionData("record", [answer, startedAt, updatedAt]),
      );
    },
    latest: () => latestRound(rpc, proxy),
    async giveBack() {
      await switchAggregator(rpc, proxy, facts.aggregator);
      const [aggregator] = await read(rpc, proxy, PROXY, "aggregator");
      const round = await latestRound(rpc, proxy);
      const own = await latestRound(rpc, facts.aggregator);
      const ok =
        (aggregator as string).toLowerCase() === facts.aggregator.toLowerCase() &&
        round.answer === own.answer &&
        round.updatedAt === own.updatedAt;
      return {
        ok,
        aggregator: aggregator as string,
        round,
        summary: `proxy ${proxy} answers from its original aggregator ${facts.aggregator} again: ${round.answer} updated at ${round.updatedAt}${ok ? "" : ` (the aggregator itself says ${own.answer} at ${own.updatedAt})`}`,
      };
    },
  };
}

/**
 * Sets an Arbitrum-style sequencer uptime feed (`feed`, or the aggregator behind the proxy
 * given) to down or up, sent by its L1 sender's aliased address; returns the answer the
 * feed then gives (1 down, 0 up).
 */
export async function setSequencerStatus(rpc: NodeRpc, feedOrProxy: string, down: boolean): Promise<bigint> {
  let feed = feedOrProxy;
  try {
    const [aggregator] = await read(rpc, feedOrProxy, PROXY, "aggregator");
    feed = aggregator as string;
  } catch {
    // Not a proxy: the feed itself.
  }
  const [l1Sender] = await read(rpc, feed, UPTIME, "l1Sender");
  const aliased = aliasOfL1(l1Sender as string);
  const block = await rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  await asAccount(rpc, aliased, () =>
    send(rpc, aliased, feed, UPTIME.encodeFunctionData("updateStatus", [down, BigInt(block.timestamp)])),
  );
  return (await latestRound(rpc, feedOrProxy)).answer;
}
