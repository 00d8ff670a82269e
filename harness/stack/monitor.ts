/**
 * The collateral monitor of one chain: polls the head through the active provider a few
 * times per block, reads the vault (collateral ratio, supply, pause flags), the price
 * feeds and, on an L2, the sequencer uptime feed on every new block; fails over
 * primary -> secondary -> emergency on an RPC error, a timeout, or a head that stops
 * while another provider's advances, and moves back once the primary is healthy again.
 */
import { MaxUint256, toQuantity } from "ethers";
import type { Pair } from "../names.ts";
import type { Alerter } from "./alerts.ts";
import { type ChainClient, ERC20, FEED, type Head, toHead, VAULT } from "./chain.ts";
import type { OracleAggregator } from "./oracle.ts";
import { ProviderConsensus, type ProviderHealth } from "./providers.ts";
import { ProviderError } from "./rpc.ts";

/** What a sequencer uptime feed's `latestRoundData` gives: 0 up, 1 down, since `startedAt`. */
interface SequencerRound {
  roundId: bigint;
  answer: bigint;
  startedAt: bigint;
}

export type { ProviderHealth } from "./providers.ts";

export interface ChainState {
  collateralRatio: number | undefined;
  collateralValueUsd: number | undefined;
  supply: number | undefined;
  minCollateralRatio: number | undefined;
  nonCriticalPaused: boolean | undefined;
  paused: boolean | undefined;
  halted: boolean;
  sequencerDown: boolean | undefined;
  sequencerUnavailable: boolean | undefined;
  lastReadMs: number;
  readError: string | undefined;
}

export interface MonitorOptions {
  alerter: Alerter;
  aggregator: OracleAggregator;
  /** Head polling interval, ms. @default min(100, blockTime/4) */
  pollMs?: number;
  /** Grace period after the sequencer comes back up, seconds of chain time. @default 60 */
  sequencerGraceSeconds?: number;
  /** Called after every change of state (new block read, halt, failover). */
  onUpdate: () => void;
}

const PRIMARY = 0;

/** Methods the monitor polls heads with: their failure is the provider's, not one method's. */
const HEAD_METHODS = new Set(["eth_getBlockByNumber", "eth_blockNumber"]);

interface RawHashes {
  number: string;
  hash: string;
  parentHash: string;
}

/** Blocks below the head whose hashes the monitor keeps, for reorgs. */
const HASH_WINDOW = 128;

/** The JSON-RPC call for block `n`, without its transactions. */
function blockByNumber(n: number) {
  return { method: "eth_getBlockByNumber", params: [toQuantity(n), false] };
}

export class CollateralMonitor {
  readonly chain: ChainClient;
  readonly health: ProviderHealth[];
  readonly state: ChainState = {
    collateralRatio: undefined,
    collateralValueUsd: undefined,
    supply: undefined,
    minCollateralRatio: undefined,
    nonCriticalPaused: undefined,
    paused: undefined,
    halted: false,
    sequencerDown: undefined,
    sequencerUnavailable: undefined,
    lastReadMs: 0,
    readError: undefined,
  };
  readonly consensus: ProviderConsensus;
  readonly #options: MonitorOptions;
  readonly #pollMs: number;
  readonly #standbyMs: number;
  readonly #hashes = new Map<number, string>();
  #running = false;
  #timers: NodeJS.Timeout[] = [];
  #feedDecimals = new Map<string, number>();
  #tokenDecimals = new Map<string, number>();
  #lastStandbyMs = 0;
  #switching = false;
  /** Wall-clock ms of the last two head advances. */
  readonly #advances: number[] = [];

  constructor(chain: ChainClient, options: MonitorOptions) {
    this.chain = chain;
    this.#options = options;
    this.#pollMs = options.pollMs ?? Math.max(25, Math.min(100, chain.blockTimeMs / 4));
    this.#standbyMs = Math.max(this.#pollMs * 2, Math.min(500, chain.blockTimeMs / 2));
    const now = Date.now();
    this.health = chain.rpc.providers.map((p) => ({
      name: p.name,
      ok: true,
      error: undefined,
      head: undefined,
      lastAdvanceMs: now,
      goodStreak: 0,
      lastCheckMs: 0,
      suspect: undefined,
    }));
    this.consensus = new ProviderConsensus(chain.name, chain.rpc.providers.length, options.alerter);
    chain.rpc.onProviderFailure = (provider, error, method) => {
      const index = chain.rpc.providers.indexOf(provider);
      this.#providerFailure(index, error, method);
    };
  }

  /** The chain's providers disagree with no majority: nothing read from them can be trusted. */
  get providersDisagree(): boolean {
    return this.consensus.disagree;
  }

  /**
   * A call failed on a provider. A rate limit moves reads off it until its wait is over; an
   * error of one method (or a timeout of one while the head polls answer) is reported and the
   * call goes on elsewhere; anything else on the active provider fails over.
   */
  #providerFailure(index: number, error: ProviderError, method: string): void {
    const h = this.health[index]!;
    // A head poll answered since the call was sent: the provider lives while this method hangs.
    // (A stall of the whole process answers nothing in between, and fails over as before.)
    const headsFine = h.ok && h.lastCheckMs >= Date.now() - this.chain.rpc.timeoutMs;
    const oneMethod =
      error.kind === "method" ||
      error.kind === "batch" ||
      (error.kind === "timeout" && headsFine && !HEAD_METHODS.has(method));
    if (error.kind === "rate_limited" || oneMethod) this.consensus.failure(index, h, error, method);
    if (oneMethod) return;
    if (index === this.chain.rpc.active) this.failover(error.message);
  }

  /** Name of the provider in use. */
  get activeProvider(): string {
    return this.chain.rpc.activeProvider.name;
  }

  start(): void {
    this.#running = true;
    void this.#loop();
  }

  stop(): void {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#timers = this.#timers.filter((x) => x !== t);
        resolve();
      }, ms);
      this.#timers.push(t);
    });
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const started = Date.now();
      await this.tick().catch(() => undefined);
      if (started - this.#lastStandbyMs >= this.#standbyMs) {
        this.#lastStandbyMs = started;
        void this.#checkStandby().catch(() => undefined);
      }
      await this.#sleep(Math.max(5, this.#pollMs - (Date.now() - started)));
    }
  }

  #record(index: number, head: number | undefined, error: string | undefined): void {
    const h = this.health[index]!;
    const now = Date.now();
    h.lastCheckMs = now;
    if (error !== undefined) {
      h.ok = false;
      h.error = error;
      h.goodStreak = 0;
      return;
    }
    h.ok = true;
    h.error = undefined;
    h.goodStreak++;
    if (head !== undefined && (h.head === undefined || head > h.head)) {
      h.head = head;
      h.lastAdvanceMs = now;
    }
  }

  /** One poll of the active provider. */
  async tick(): Promise<void> {
    const index = this.chain.rpc.active;
    let head: Head;
    try {
      head = toHead(await this.chain.rpc.callOn(index, "eth_getBlockByNumber", ["latest", false]));
    } catch (error) {
      if (!this.#running) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#record(index, undefined, message);
      if (error instanceof ProviderError && index === this.chain.rpc.active) {
        // The head poll itself failed: whatever the kind, the provider cannot serve heads.
        if (error.kind !== "down" && error.kind !== "timeout")
          this.consensus.failure(index, this.health[index]!, error, "eth_getBlockByNumber");
        this.failover(message);
      }
      return;
    }
    this.#record(index, head.number, undefined);
    // Providers that disagree with no majority: nothing they say is read, nor any hash learnt.
    if (this.consensus.disagree) {
      this.#hashes.clear();
      return;
    }
    const previous = this.chain.head;
    const isNew = !previous || head.number !== previous.number || head.hash !== previous.hash;
    if (isNew) {
      if (!previous || head.number > previous.number) {
        this.#advances.push(head.seenAtMs);
        if (this.#advances.length > 2) this.#advances.shift();
      }
      if (!(await this.#checkReorg(head, index))) return;
      this.chain.observeHead(head);
      await this.#readState(head);
    }
    this.#checkHalt();
    if (isNew) this.#options.onUpdate();
  }

  /**
   * Finds a reorg between the blocks seen so far and the new head. The head and its parent
   * settle it when the monitor saw the block just below. After a gap (a slow poll, a burst
   * of blocks) a head two blocks past the replaced ones shows nothing of them: the monitor
   * reads the blocks it missed in one batch, linked to the head by parent hash, so that it
   * knows every block of the window (for the next reorg's depth as well). On a reorg, a
   * binary search over the blocks seen finds the last one kept.
   */
  async #checkReorg(head: Head, index: number): Promise<boolean> {
    const seen = [...this.#hashes.keys()].filter((n) => n <= head.number).sort((a, b) => a - b);
    const probe = seen.at(-1);
    // Hashes of the chain the head is on, by height.
    const branch = new Map<number, string | undefined>([
      [head.number, head.hash],
      [head.number - 1, head.parentHash],
    ]);
    if (probe !== undefined && probe < head.number - 1) await this.#backfill(branch, head, probe, index);
    const hashAt = async (n: number): Promise<string | undefined> => {
      if (!branch.has(n)) {
        const { method, params } = blockByNumber(n);
        const block = await this.chain.rpc.callOn<RawHashes | null>(index, method, params);
        branch.set(n, block?.hash);
      }
      return branch.get(n);
    };
    const probeHash = probe === undefined ? undefined : await hashAt(probe);
    if (probe !== undefined && probeHash !== this.#hashes.get(probe)) {
      // A reorg, unless the provider alone says so: then it left the chain (a fork of its own),
      // and nothing it says is read.
      const timeoutMs = Math.min(this.chain.rpc.timeoutMs, this.#standbyMs);
      const verdict =
        probeHash === undefined
          ? "confirmed"
          : await this.consensus.corroborate(this.chain.rpc, index, this.health, probe, probeHash, timeoutMs);
      if (verdict !== "confirmed") {
        if (verdict === "alone") {
          this.#hashes.clear();
          this.failover(this.health[index]!.suspect ?? "on a fork of its own");
        }
        return false;
      }
      // seen[0..lo] still stand, seen[hi..] were replaced.
      let lo = -1;
      let hi = seen.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((await hashAt(seen[mid]!)) === this.#hashes.get(seen[mid]!)) lo = mid;
        else hi = mid;
      }
      const oldTip = Math.max(...this.#hashes.keys());
      const kept = lo >= 0 ? seen[lo]! : undefined;
      for (const n of [...this.#hashes.keys()]) if (n >= seen[hi]!) this.#hashes.delete(n);
      this.#options.alerter.emit("REORG_DETECTED", "high", "chains", this.chain.name, {
        block: head.number,
        newHash: head.hash,
        // From the first block seen that changed to the replaced branch's tip: the depth,
        // unless the monitor missed blocks just above `lastKeptBlock` (when a reorg came
        // before it could read them), then up to the tip minus it.
        replacedBlocks: oldTip - seen[hi]! + 1,
        // The highest block seen that the reorg kept.
        ...(kept !== undefined ? { lastKeptBlock: kept } : {}),
      });
    }
    for (const [n, hash] of branch)
      if (hash !== undefined && n > head.number - HASH_WINDOW) this.#hashes.set(n, hash);
    for (const n of this.#hashes.keys()) if (n < head.number - HASH_WINDOW) this.#hashes.delete(n);
    return true;
  }

  /**
   * Reads the blocks between `from` and the head in one batch and adds to `branch` those
   * that link to the head by parent hash (the chain may change while they are read).
   */
  async #backfill(
    branch: Map<number, string | undefined>,
    head: Head,
    from: number,
    index: number,
  ): Promise<void> {
    const low = Math.max(from + 1, head.number - HASH_WINDOW + 1);
    // From the head's parent down, so that each block links to the one read before it.
    const heights = Array.from({ length: head.number - low }, (_, i) => head.number - 1 - i);
    // Best effort: a provider that refuses batches (or one this long) leaves the check to
    // the single block read that follows.
    const replies = await this.chain.rpc.batchOn(index, heights.map(blockByNumber)).catch(() => []);
    for (const reply of replies) {
      const block = reply as RawHashes | null;
      if (reply instanceof Error || !block || branch.get(Number(block.number)) !== block.hash) return;
      branch.set(Number(block.number) - 1, block.parentHash);
    }
  }

  #checkHalt(): void {
    const now = Date.now();
    const { haltAfterMs } = this.chain;
    const lastAdvance = Math.max(
      this.chain.lastAdvanceMs,
      this.chain.lastMinedMs,
      ...this.health.filter((h) => h.ok).map((h) => h.lastAdvanceMs),
    );
    const stalled = now - lastAdvance > haltAfterMs;
    // Once halted, a chain counts as back after two blocks at a normal pace, so that a chain
    // crawling at a block every 12 s does not flap between halted and recovered.
    const [before, last] = this.#advances;
    const normalPace = before !== undefined && last !== undefined && last - before <= haltAfterMs;
    const halted = stalled || (this.state.halted && !normalPace);
    if (halted !== this.state.halted) {
      this.state.halted = halted;
      this.#options.onUpdate();
    }
  }

  async #readState(head: Head): Promise<void> {
    try {
      if (this.chain.team) await this.#readTeam(head, this.chain.team);
      else await this.#readOwn(head, this.chain.own());
      this.state.lastReadMs = Date.now();
      this.state.readError = undefined;
    } catch (error) {
      this.state.readError = (error as Error).message;
    }
  }

  /** The lab's vault, token and feeds. */
  async #readOwn(head: Head, c: ReturnType<ChainClient["own"]>): Promise<void> {
    const { chain } = this;
    const reads: Promise<unknown>[] = [
      chain.read(VAULT, c.vault, "collateralRatio"),
      chain.read(VAULT, c.vault, "collateralValueUsd"),
      chain.read(ERC20, c.stablecoin, "totalSupply"),
      chain.read(VAULT, c.vault, "nonCriticalPaused"),
      chain.read(VAULT, c.vault, "paused"),
      this.#readFeed("ETH/USD", c.ethUsdFeed),
      this.#readFeed("USDC/USD", c.usdcUsdFeed),
      // Governance may change it: the headroom the stack mints into follows it.
      chain.read(VAULT, c.vault, "minCollateralRatio"),
    ];
    if (c.sequencerUptimeFeed) reads.push(chain.read(FEED, c.sequencerUptimeFeed, "latestRoundData"));
    const [ratio, value, supply, ncp, paused, , , minRatio, sequencer] = (await Promise.all(reads)) as [
      { [0]: bigint },
      { [0]: bigint },
      { [0]: bigint },
      { [0]: boolean },
      { [0]: boolean },
      unknown,
      unknown,
      { [0]: bigint } | undefined,
      SequencerRound | undefined,
    ];
    this.state.collateralRatio = ratio[0] === MaxUint256 ? Number.POSITIVE_INFINITY : wad(ratio[0]);
    this.state.collateralValueUsd = wad(value[0]);
    this.state.supply = wad(supply[0]);
    this.state.nonCriticalPaused = ncp[0];
    this.state.paused = paused[0];
    if (minRatio) this.state.minCollateralRatio = wad(minRatio[0]);
    if (sequencer) this.#sequencer(sequencer, head);
  }

  /**
   * A team's deployment on a fork: its token's supply, its reserve at its own feeds' prices
   * (the collateral ratio), its feeds and its sequencer uptime feed. Nothing is paused by
   * the stack there.
   */
  async #readTeam(head: Head, team: NonNullable<ChainClient["team"]>): Promise<void> {
    const { chain } = this;
    const decimals = async (token: string) => {
      let d = this.#tokenDecimals.get(token);
      if (d === undefined) {
        d = Number((await chain.read(ERC20, token, "decimals"))[0]);
        this.#tokenDecimals.set(token, d);
      }
      return d;
    };
    const prices: Partial<Record<Pair, number>> = {};
    await Promise.all(
      (Object.entries(team.feeds) as [Pair, string][]).map(async ([pair, proxy]) => {
        try {
          prices[pair] = await this.#readFeed(pair, proxy, team.heartbeatsMs[pair]);
        } catch (error) {
          // A feed whose reads revert gives no price at all: it counts as stale, from now on.
          if (!(error instanceof ProviderError)) this.#noData(pair, team.heartbeatsMs[pair]);
          else throw error;
        }
      }),
    );
    const [supply] = await chain.read(ERC20, team.stablecoin, "totalSupply");
    const supplyUnits = Number(supply as bigint) / 10 ** (await decimals(team.stablecoin));
    if (team.sequencerUptimeFeed)
      this.#sequencer(
        (await chain.read(FEED, team.sequencerUptimeFeed, "latestRoundData")) as unknown as SequencerRound,
        head,
      );
    this.state.supply = supplyUnits;
    this.state.paused = false;
    this.state.nonCriticalPaused = false;
    if (team.reserve === undefined) return;
    const { token, holders } = team.reserve;
    const price = prices[token === undefined ? "ETH/USD" : "USDC/USD"];
    if (price === undefined) return;
    let held = 0;
    for (const holder of holders) {
      const units = token
        ? ((await chain.read(ERC20, token, "balanceOf", [holder]))[0] as bigint)
        : BigInt(await chain.rpc.call<string>("eth_getBalance", [holder, "latest"]));
      held += Number(units) / 10 ** (token ? await decimals(token) : 18);
    }
    this.state.collateralValueUsd = held * price;
    this.state.collateralRatio =
      supplyUnits > 0 ? this.state.collateralValueUsd / supplyUnits : Number.POSITIVE_INFINITY;
  }

  /** Records a feed that answered no data as one updated at the epoch: stale past any heartbeat. */
  #noData(pair: Pair, heartbeatMs: number | undefined): void {
    const last = this.#options.aggregator.feeds.get(this.chain.name)?.get(pair);
    this.#options.aggregator.setFeed(this.chain.name, pair, {
      price: last?.price ?? Number.NaN,
      updatedAtMs: 0,
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    });
  }

  #sequencer(sequencer: SequencerRound, head: Head): void {
    const down = sequencer.answer !== 0n;
    const grace = this.#options.sequencerGraceSeconds ?? 60;
    this.state.sequencerDown = down;
    // The grace period follows a recovery; a feed that never reported an outage (first round) has none.
    // Behind a proxy the round id carries the proxy's phase in its upper bits: the feed's own
    // round is the lower 64.
    const recovered = (sequencer.roundId & 0xffff_ffff_ffff_ffffn) > 1n;
    this.state.sequencerUnavailable =
      down || (recovered && Number(sequencer.startedAt) + grace > head.timestampSec);
  }

  async #readFeed(pair: Pair, address: string, heartbeatMs?: number): Promise<number> {
    let decimals = this.#feedDecimals.get(address);
    if (decimals === undefined) {
      decimals = Number((await this.chain.read(FEED, address, "decimals"))[0]);
      this.#feedDecimals.set(address, decimals);
    }
    const round = await this.chain.read(FEED, address, "latestRoundData");
    const price = Number(round[1] as bigint) / 10 ** decimals;
    this.#options.aggregator.setFeed(this.chain.name, pair, {
      price,
      updatedAtMs: Number(round[3] as bigint) * 1000,
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    });
    return price;
  }

  /**
   * Polls every provider: their health and heads, compared (a lagging, forked or rate-limited
   * one is suspect); decides failover away from a suspect or stalled active provider, and
   * fail-back to the primary.
   */
  async #checkStandby(): Promise<void> {
    const rpc = this.chain.rpc;
    const timeoutMs = Math.min(rpc.timeoutMs, this.#standbyMs);
    const round = await this.consensus.round(rpc, this.health, timeoutMs);
    if (!this.#running) return;
    for (const [index, h] of round.heads.entries()) {
      // The active provider's health is the head poll's: a suspect one still answers.
      if (index === rpc.active && "error" in h) continue;
      this.#record(index, "head" in h ? h.head : undefined, "error" in h ? h.error : undefined);
    }
    // Hashes learnt from a provider now known to be on a fork are not the chain's.
    if (round.newlyForked) this.#hashes.clear();
    if (round.activeSuspect !== undefined) {
      this.failover(round.activeSuspect);
      return;
    }
    const now = Date.now();
    const active = this.health[rpc.active]!;
    const stallMs = 2 * this.chain.blockTimeMs + 250;
    const ahead = this.health.some(
      (h, i) =>
        i !== rpc.active && h.ok && h.head !== undefined && active.head !== undefined && h.head > active.head,
    );
    if (active.ok && now - active.lastAdvanceMs > stallMs && ahead) {
      this.failover(
        `head stuck at ${active.head} for ${now - active.lastAdvanceMs} ms while another provider advances`,
      );
      return;
    }
    if (rpc.active !== PRIMARY) {
      const primary = this.health[PRIMARY]!;
      const best = Math.max(...this.health.map((h) => h.head ?? 0));
      const usable = primary.ok && primary.suspect === undefined && rpc.backoffUntil[PRIMARY]! <= now;
      if (usable && primary.goodStreak >= 3 && (primary.head ?? 0) >= best - 1) {
        const from = rpc.activeProvider.name;
        rpc.active = PRIMARY;
        this.#options.alerter.emit("RPC_FAILBACK", "low", "rpc_providers", this.chain.name, {
          from,
          to: rpc.activeProvider.name,
        });
        this.#options.alerter.clear(`rpc:${this.chain.name}`, { provider: rpc.activeProvider.name });
        this.#options.onUpdate();
      }
    }
  }

  /** Moves to the next provider in order that is not known to be failing. */
  failover(reason: string): void {
    if (this.#switching) return;
    this.#switching = true;
    try {
      const rpc = this.chain.rpc;
      const from = rpc.active;
      const n = rpc.providers.length;
      let to = -1;
      for (let step = 1; step < n; step++) {
        const candidate = (from + step) % n;
        const h = this.health[candidate]!;
        const usable = h.suspect === undefined && rpc.backoffUntil[candidate]! <= Date.now();
        if ((h.ok || h.lastCheckMs === 0) && usable) {
          to = candidate;
          break;
        }
      }
      if (to < 0) {
        this.#options.alerter.raise({
          key: `rpc-all:${this.chain.name}`,
          event: "RPC_ALL_PROVIDERS_DOWN",
          severity: "critical",
          system: "rpc_providers",
          chain: this.chain.name,
          details: { reason },
        });
        return;
      }
      rpc.active = to;
      this.health[from]!.ok = false;
      this.health[from]!.goodStreak = 0;
      this.health[from]!.error = reason;
      this.#options.alerter.clear(`rpc-all:${this.chain.name}`);
      const details = { from: rpc.providers[from]!.name, to: rpc.providers[to]!.name, reason };
      const raised = this.#options.alerter.raise({
        key: `rpc:${this.chain.name}`,
        event: "RPC_FAILOVER",
        severity: "high",
        system: "rpc_providers",
        chain: this.chain.name,
        details,
      });
      if (!raised)
        this.#options.alerter.emit("RPC_FAILOVER", "high", "rpc_providers", this.chain.name, details);
      this.#options.onUpdate();
    } finally {
      this.#switching = false;
    }
  }
}

function wad(value: bigint): number {
  return Number(value) / 1e18;
}
