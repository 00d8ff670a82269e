/**
 * The keeper pushes each chain's on-chain price feeds the way a Chainlink network does:
 * a new round when the price moves past the deviation threshold, or when the heartbeat
 * runs out. Heartbeats are divided by the lab's clock speed-up (a 1 h heartbeat is 60 s at
 * factor 60). `oracle_stale` pauses it for a feed; `chain_halt` on an L2 flips the
 * sequencer uptime feed through it.
 */
import { Contract, Wallet } from "ethers";
import { FiredrillError } from "../errors.ts";
import type { Pair } from "../names.ts";
import { median } from "../stats.ts";
import { labProvider } from "./anvil.ts";
import type { PriceSource } from "./oracles.ts";

/** Chainlink's mainnet parameters for the lab's feeds. */
export const FEED_PARAMETERS: Record<Pair, { deviation: number; heartbeatSeconds: number }> = {
  "ETH/USD": { deviation: 0.005, heartbeatSeconds: 3600 },
  "USDC/USD": { deviation: 0.0025, heartbeatSeconds: 86_400 },
};

/**
 * Fee caps for the keeper's transactions. EIP-1559 charges the base fee plus the tip, not
 * the cap, so a high cap costs nothing in calm blocks and keeps the feeds moving through a
 * gas spike, as an oracle network's transmitters do.
 */
const FEES = { maxFeePerGas: 200_000n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, gasLimit: 200_000n };

const FEED_ABI = ["function transmit(int256 answer)", "function updateStatus(bool down)"];

export interface KeeperChain {
  name: string;
  nodeUrl: string;
  chainId: number;
  feeds: Record<Pair, string>;
  sequencerFeed?: string | undefined;
}

interface FeedState {
  lastAnswer: number | undefined;
  lastPushMs: number;
  paused: boolean;
  rounds: number;
}

export interface KeeperStatus {
  chain: string;
  pair: Pair;
  paused: boolean;
  lastAnswer: number | undefined;
  lastPushAt: string | undefined;
  rounds: number;
}

export interface Keeper {
  /** One pass over every feed: push where the deviation or the heartbeat says so. */
  tick(nowMs: number): Promise<void>;
  setPaused(paused: boolean, filter?: { chain?: string | undefined; pair?: Pair | undefined }): void;
  setSequencerDown(chain: string, down: boolean): Promise<void>;
  status(): KeeperStatus[];
  /** The heartbeat of `pair` in lab milliseconds. */
  heartbeatMs(pair: Pair): number;
  close(): void;
}

/** A keeper for `chains`, signing with `privateKey`, reading `sources`. */
export function createKeeper(
  chains: readonly KeeperChain[],
  privateKey: string,
  sources: () => readonly PriceSource[],
  clockSpeedup: number,
): Keeper {
  const lanes = chains.map((chain) => {
    const provider = labProvider(chain.nodeUrl, chain.chainId);
    const wallet = new Wallet(privateKey, provider);
    const feeds = new Map<Pair, { contract: Contract; state: FeedState }>();
    for (const [pair, address] of Object.entries(chain.feeds) as [Pair, string][]) {
      feeds.set(pair, {
        contract: new Contract(address, FEED_ABI, wallet),
        state: { lastAnswer: undefined, lastPushMs: 0, paused: false, rounds: 0 },
      });
    }
    const sequencer = chain.sequencerFeed ? new Contract(chain.sequencerFeed, FEED_ABI, wallet) : undefined;
    return {
      chain,
      provider,
      wallet,
      feeds,
      sequencer,
      nonce: undefined as number | undefined,
      busy: Promise.resolve(),
    };
  });
  const heartbeatMs = (pair: Pair) => (FEED_PARAMETERS[pair].heartbeatSeconds * 1000) / clockSpeedup;

  // Transactions of one chain go out one after another with local nonces: no receipt
  // waits (the chains mine on arrival), no nonce races.
  const send = (lane: (typeof lanes)[number], tx: (nonce: number) => Promise<unknown>) => {
    lane.busy = lane.busy.then(async () => {
      lane.nonce ??= await lane.wallet.getNonce("pending");
      try {
        await tx(lane.nonce);
        lane.nonce += 1;
      } catch (error) {
        lane.nonce = undefined;
        throw error;
      }
    });
    return lane.busy;
  };

  return {
    async tick(nowMs) {
      const live = sources();
      if (live.length === 0) return;
      const pushes: Promise<unknown>[] = [];
      for (const lane of lanes) {
        for (const [pair, feed] of lane.feeds) {
          const { state } = feed;
          if (state.paused) continue;
          const price = median(live.map((s) => s.quote(pair).price));
          const moved =
            state.lastAnswer === undefined ||
            Math.abs(price - state.lastAnswer) / state.lastAnswer >= FEED_PARAMETERS[pair].deviation;
          if (!moved && nowMs - state.lastPushMs < heartbeatMs(pair)) continue;
          state.lastAnswer = price;
          state.lastPushMs = nowMs;
          state.rounds += 1;
          const answer = BigInt(Math.round(price * 1e8));
          pushes.push(
            send(lane, (nonce) => feed.contract.getFunction("transmit")(answer, { nonce, ...FEES })),
          );
        }
      }
      await Promise.all(pushes);
    },
    setPaused(paused, filter = {}) {
      for (const lane of lanes) {
        if (filter.chain && filter.chain !== lane.chain.name) continue;
        for (const [pair, feed] of lane.feeds) {
          if (filter.pair && filter.pair !== pair) continue;
          feed.state.paused = paused;
        }
      }
    },
    async setSequencerDown(chain, down) {
      const lane = lanes.find((l) => l.chain.name === chain);
      if (!lane?.sequencer) throw new FiredrillError("FD320", `chain ${chain} has no sequencer uptime feed`);
      const sequencer = lane.sequencer;
      await send(lane, (nonce) => sequencer.getFunction("updateStatus")(down, { nonce, ...FEES }));
    },
    status() {
      return lanes.flatMap((lane) =>
        [...lane.feeds].map(([pair, { state }]) => ({
          chain: lane.chain.name,
          pair,
          paused: state.paused,
          lastAnswer: state.lastAnswer,
          lastPushAt: state.lastPushMs ? new Date(state.lastPushMs).toISOString() : undefined,
          rounds: state.rounds,
        })),
      );
    },
    heartbeatMs,
    close() {
      for (const lane of lanes) lane.provider.destroy();
    },
  };
}
