/**
 * The cross-chain backup manager: mints go to the first healthy chain in the
 * lab's order (ethereum -> polygon -> arbitrum in the embedded lab). A chain is unhealthy while it is halted, its gas is
 * above the threshold, its vault refuses mints (paused), or, on an L2, its sequencer is
 * down or inside its grace period. Under a gas spike transactions are batched.
 */
import { randomBytes } from "node:crypto";
import type { LabAccount as Account } from "../contract/lab-file.ts";
import { FiredrillError } from "../errors.ts";
import type { Alerter } from "./alerts.ts";
import { type ChainClient, TxReverted, VAULT } from "./chain.ts";
import type { Thresholds } from "./config.ts";
import { Gate } from "./gate.ts";
import type { CollateralMonitor } from "./monitor.ts";

export interface MintResult {
  mintId: string;
  chain: string;
  txHash: string;
  blockNumber: number;
  /** Chains tried before, with why they were skipped or failed. */
  skipped: { chain: string; reason: string }[];
}

export class AllChainsFailed extends Error {
  readonly skipped: { chain: string; reason: string }[];
  constructor(skipped: { chain: string; reason: string }[]) {
    super(
      `all chains failed - manual intervention required (${skipped.map((s) => `${s.chain}: ${s.reason}`).join("; ")})`,
    );
    this.name = "AllChainsFailed";
    this.skipped = skipped;
  }
}

/**
 * A mint sent past a chain that is not down as a whole (its custodian or its contract
 * refused this one) posts CROSS_CHAIN_FAILOVER at most this often per pair of chains.
 */
const FAILOVER_ALERT_EVERY_MS = 10_000;

/** Reverts after which another chain may succeed. */
const TRY_NEXT =
  /NonCriticalOperationsPaused|EnforcedPause|StalePrice|InvalidPrice|BelowMinimumCollateralRatio/;

export interface CrossChainOptions {
  monitors: readonly CollateralMonitor[];
  alerter: Alerter;
  thresholds: Thresholds;
  operator: Account;
  /**
   * The custodian account that receives a minter's fiat: each mint is paid for by its
   * deposit of USDC into the vault (fiat-backed minting), so minting never erodes the
   * collateral ratio. Without it, mints draw on the vault's existing headroom.
   */
  custodian?: Account | undefined;
  /** USDC deposited per fdUSD minted. @default 1.1 */
  backingRatio?: number;
  /** Window in which mints are gathered while batching is on, ms. @default 250 */
  batchWindowMs?: number;
  /**
   * Most fdUSD minted on a chain and not yet paid into its vault by the custodian; beyond
   * it (or beyond half the vault's headroom above its minimum ratio, if less), mints wait
   * for a deposit. @default 50000
   */
  maxUnsettledUsd?: number;
  /**
   * Most mint transactions in flight on one chain; more mints wait for a place (see Gate), so
   * that a burst queues in the gateway and the node stays quick to answer. @default 32
   */
  maxMintsInFlight?: number | undefined;
  /** Longest a mint waits for a place on a busy chain before it tries the next one, ms. @default 10000 */
  admissionTimeoutMs?: number | undefined;
}

/** What the custodian owes one chain's vault. */
interface Book {
  chain: ChainClient;
  /** USDC units received and not yet deposited. */
  owedUnits: bigint;
  /** The fdUSD those units paid for. */
  owedWei: bigint;
  /** fdUSD being minted, or minted and not yet deposited for (owed or in a deposit under way). */
  unsettledWei: bigint;
  timer: NodeJS.Timeout | undefined;
  /** A deposit is under way. */
  depositing: boolean;
  /** Deposit again as soon as it is done. */
  again: boolean;
  /** Mints waiting in #reserve. */
  waiters: Set<() => void>;
}

/** Lets every mint waiting on `book` look again (a wake-up removes itself from the set). */
function wakeAll(book: Book): void {
  for (const wake of [...book.waiters]) wake();
}

export class CrossChainManager {
  readonly #o: CrossChainOptions;
  readonly #batchWaiters = new Map<string, Promise<void>>();
  readonly #forced = new Map<string, Set<string>>();
  readonly #forcedBatching = new Map<string, Set<string>>();
  readonly #gates = new Map<string, Gate>();

  constructor(options: CrossChainOptions) {
    this.#o = options;
  }

  get primary(): string {
    return this.#o.monitors[0]?.chain.name ?? "";
  }

  /** How many chains take mints: the lab's own (a team's chain is watched, never minted on). */
  get rotation(): number {
    return this.#o.monitors.length;
  }

  /** Why `m`'s chain should not take mints now (empty when healthy). */
  problems(m: CollateralMonitor): string[] {
    const out: string[] = [];
    const { state, chain } = m;
    if (chain.contracts === undefined)
      out.push("a team's deployment: mints go through the lab's vaults only");
    if (!chain.head) out.push("no head yet");
    if (state.halted) out.push("halted");
    if (m.providersDisagree) out.push("its RPC providers disagree");
    const gwei = chain.head ? Number(chain.head.baseFeeWei) / 1e9 : 0;
    if (gwei > this.#o.thresholds.gasPriceGwei) out.push(`gas ${gwei.toFixed(0)} gwei`);
    if (state.paused) out.push("vault paused");
    if (state.nonCriticalPaused) out.push("minting paused");
    if (state.sequencerUnavailable)
      out.push(state.sequencerDown ? "sequencer down" : "sequencer grace period");
    // Providers too busy to answer the monitor in time still count while they mine our
    // transactions (a congested chain is slow, not down).
    if (m.health.every((h) => !h.ok) && !chain.minedLately()) out.push("no provider answers");
    for (const reason of this.#forced.get(chain.name) ?? []) out.push(`failover: ${reason}`);
    return out;
  }

  /** The chain mints go to now. */
  preferred(): string | undefined {
    return this.#o.monitors.find((m) => this.problems(m).length === 0)?.chain.name;
  }

  /** Whether transactions on `chain` are being batched (gas spike). */
  batching(chain: string): boolean {
    return this.#o.alerter.isActive(`batching:${chain}`) || this.#forcedBatching.has(chain);
  }

  /** Takes `chain` out of (or back into) the mint rotation for `reason` (a playbook action). */
  force(chain: string, reason: string, out: boolean): void {
    const reasons = this.#forced.get(chain) ?? new Set<string>();
    if (out) reasons.add(reason);
    else reasons.delete(reason);
    if (reasons.size > 0) this.#forced.set(chain, reasons);
    else this.#forced.delete(chain);
  }

  /** Turns batching on (or off) for `chain` for `reason` (a playbook action). */
  forceBatching(chain: string, reason: string, on: boolean): void {
    const reasons = this.#forcedBatching.get(chain) ?? new Set<string>();
    if (on) reasons.add(reason);
    else reasons.delete(reason);
    if (reasons.size > 0) this.#forcedBatching.set(chain, reasons);
    else this.#forcedBatching.delete(chain);
  }

  /**
   * Re-evaluates routing and batching. Every chain that drops out of the mint rotation
   * posts CROSS_CHAIN_FAILOVER (from it to the chain that takes its mints), and RECOVERED
   * when it is back; TX_BATCHING_ENABLED while its gas is above the threshold.
   */
  update(): void {
    const { alerter, monitors, thresholds } = this.#o;
    const healthy = monitors.filter((m) => this.problems(m).length === 0).map((m) => m.chain.name);
    for (const [index, m] of monitors.entries()) {
      const name = m.chain.name;
      const gwei = m.chain.head ? Number(m.chain.head.baseFeeWei) / 1e9 : 0;
      const batchKey = `batching:${name}`;
      const batching = gwei > thresholds.gasPriceGwei || this.#forcedBatching.has(name);
      if (batching) {
        alerter.raise({
          key: batchKey,
          event: "TX_BATCHING_ENABLED",
          severity: "medium",
          system: "minting_contracts",
          chain: name,
          details: {
            baseFeeGwei: Math.round(gwei),
            windowMs: this.#o.batchWindowMs ?? 250,
            reasons: [...(this.#forcedBatching.get(name) ?? ["gas above threshold"])],
          },
        });
      } else alerter.clear(batchKey);
      // Before its first head a chain is unknown, not failed.
      const problems = this.problems(m).filter((p) => p !== "no head yet");
      const key = `crosschain:${name}`;
      if (problems.length > 0) {
        const order = [...monitors.slice(index + 1), ...monitors.slice(0, index)].map((x) => x.chain.name);
        const to = order.find((c) => healthy.includes(c)) ?? null;
        alerter.raise({
          key,
          event: "CROSS_CHAIN_FAILOVER",
          severity: to ? "high" : "critical",
          system: "minting_contracts",
          chain: name,
          details: { from: name, to, reasons: problems },
        });
      } else alerter.clear(key, { to: name });
    }
  }

  async #batchWindow(chain: string): Promise<void> {
    let waiter = this.#batchWaiters.get(chain);
    if (!waiter) {
      waiter = new Promise((r) => setTimeout(r, this.#o.batchWindowMs ?? 250)).then(() => {
        this.#batchWaiters.delete(chain);
      });
      this.#batchWaiters.set(chain, waiter);
    }
    await waiter;
  }

  readonly #books = new Map<string, Book>();

  #book(chain: ChainClient): Book {
    let book = this.#books.get(chain.name);
    if (!book) {
      book = {
        chain,
        owedUnits: 0n,
        owedWei: 0n,
        unsettledWei: 0n,
        timer: undefined,
        depositing: false,
        again: false,
        waiters: new Set(),
      };
      this.#books.set(chain.name, book);
    }
    return book;
  }

  /**
   * How much fdUSD may be minted on `chain` ahead of the custodian's deposits: half the
   * vault's headroom above its minimum ratio as the monitor last read it, at most
   * `maxUnsettledUsd`; unbounded when there is no headroom at all (the vault then refuses
   * the mint itself, with its reason).
   */
  #unsettledLimitWei(chain: ChainClient): bigint {
    const cap = BigInt(Math.round(this.#o.maxUnsettledUsd ?? 50_000)) * 10n ** 18n;
    const state = this.#o.monitors.find((m) => m.chain === chain)?.state;
    const { collateralValueUsd: value, supply, minCollateralRatio: min } = state ?? {};
    if (value === undefined || supply === undefined || !min) return cap;
    const headroom = value / min - supply;
    if (headroom <= 0) return BigInt(Number.MAX_SAFE_INTEGER) * 10n ** 18n;
    const half = BigInt(Math.floor(headroom / 2)) * 10n ** 18n;
    return half < cap ? half : cap;
  }

  /**
   * Holds a mint back until the fdUSD minted on `chain` and not yet paid into its vault, this
   * mint included, is within #unsettledLimitWei (or nothing else is unsettled): under a burst
   * of mints, the custodian's deposits, not the vault's headroom, set the pace. Throws after
   * `deadlineMs`.
   */
  async #reserve(chain: ChainClient, amountWei: bigint, deadlineMs: number): Promise<void> {
    if (!this.#o.custodian) return;
    const book = this.#book(chain);
    const deadline = Date.now() + deadlineMs;
    while (book.unsettledWei > 0n && book.unsettledWei + amountWei > this.#unsettledLimitWei(chain)) {
      this.#deposit(book);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new FiredrillError("FD340", `${chain.name}: the custodian's deposits are behind its mints`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake() {
          clearTimeout(timer);
          book.waiters.delete(wake);
          resolve();
        }
        book.waiters.add(wake);
      });
    }
    book.unsettledWei += amountWei;
  }

  /** A reserved mint that did not happen. */
  #release(chain: ChainClient, amountWei: bigint): void {
    if (!this.#o.custodian) return;
    const book = this.#book(chain);
    book.unsettledWei -= amountWei;
    wakeAll(book);
  }

  /**
   * Records the minter's payment for a mint: the custodian settles what it received into
   * the vault in one deposit per chain every 100 ms, as custodians settle fiat in batches,
   * and at once when mints are waiting for it (see #reserve).
   */
  #owe(chain: ChainClient, amountWei: bigint): void {
    if (!this.#o.custodian) return;
    const backing = BigInt(Math.round((this.#o.backingRatio ?? 1.1) * 1000));
    const book = this.#book(chain);
    book.owedUnits += (amountWei * backing) / 1000n / 10n ** 12n;
    book.owedWei += amountWei;
    if (book.waiters.size > 0) this.#deposit(book);
    else this.#depositSoon(book);
  }

  /** Deposits for `book` in 100 ms, with everything owed by then (unless one is already due). */
  #depositSoon(book: Book): void {
    book.timer ??= setTimeout(() => this.#deposit(book), 100);
  }

  /**
   * Deposits what the custodian owes the vault of `book`'s chain now; while a deposit is
   * under way, the next one waits for it and takes everything owed by then.
   */
  #deposit(book: Book): void {
    const custodian = this.#o.custodian;
    clearTimeout(book.timer);
    book.timer = undefined;
    if (!custodian || book.owedUnits === 0n) return;
    if (book.depositing) {
      book.again = true;
      return;
    }
    const { owedUnits: usdcUnits, owedWei: wei } = book;
    book.owedUnits = 0n;
    book.owedWei = 0n;
    book.depositing = true;
    const deposit = book.chain.signer(custodian).send({
      to: book.chain.own().vault,
      data: VAULT.encodeFunctionData("depositCollateral", [usdcUnits]),
      gasLimit: 200_000n,
    });
    this.#settling.add(deposit);
    deposit
      .then(
        () => {
          book.unsettledWei -= wei;
        },
        () => {
          // Not settled: owed again, for the next deposit.
          book.owedUnits += usdcUnits;
          book.owedWei += wei;
          // Retried from `finally`, at once if mints are waiting, else after the usual 100 ms.
          book.again = false;
        },
      )
      .finally(() => {
        this.#settling.delete(deposit);
        book.depositing = false;
        if (book.again || book.waiters.size > 0) {
          book.again = false;
          this.#deposit(book);
        } else if (book.owedUnits > 0n && !this.#closing) {
          this.#depositSoon(book);
        }
        wakeAll(book);
      });
  }

  readonly #settling = new Set<Promise<unknown>>();
  #closing = false;

  /** Settles what the custodian still owes the vaults now, and waits for it (the stack is closing). */
  async settle(): Promise<void> {
    this.#closing = true;
    // A few rounds: what was owed while a deposit was under way goes in the next one; a
    // chain that refuses every deposit does not hold the stack's shutdown.
    for (let round = 0; round < 3; round++) {
      for (const book of this.#books.values()) this.#deposit(book);
      if (this.#settling.size === 0) break;
      await Promise.allSettled([...this.#settling]);
    }
    for (const book of this.#books.values()) clearTimeout(book.timer);
  }

  /** Per chain that has taken a mint: mints with a transaction in flight, and mints waiting for a place. */
  admission(): { chain: string; sending: number; waiting: number }[] {
    return [...this.#gates].map(([chain, g]) => ({ chain, sending: g.held, waiting: g.queued }));
  }

  #gate(chain: string): Gate {
    let gate = this.#gates.get(chain);
    if (!gate) {
      gate = new Gate(this.#o.maxMintsInFlight ?? 32);
      this.#gates.set(chain, gate);
    }
    return gate;
  }

  /** Mints `amountWei` fdUSD to `recipient` on the first healthy chain that takes it. */
  async mint(
    recipient: string,
    amountWei: bigint,
    mintId = `0x${randomBytes(32).toString("hex")}`,
  ): Promise<MintResult> {
    const skipped: { chain: string; reason: string }[] = [];
    const healthy = this.#o.monitors.filter((m) => {
      const problems = this.problems(m);
      if (problems.length > 0) skipped.push({ chain: m.chain.name, reason: problems.join(", ") });
      return problems.length === 0;
    });
    const admitBy = Date.now() + (this.#o.admissionTimeoutMs ?? 10_000);
    for (const m of healthy) {
      const chain: ChainClient = m.chain;
      if (this.batching(chain.name)) await this.#batchWindow(chain.name);
      const gate = this.#gate(chain.name);
      if (!(await gate.enter(admitBy - Date.now()))) {
        skipped.push({
          chain: chain.name,
          reason: `busy: ${gate.limit} mints in flight and ${gate.queued} waiting`,
        });
        continue;
      }
      try {
        const data = VAULT.encodeFunctionData("mint", [mintId, recipient, amountWei]);
        const options = {
          to: chain.own().vault,
          data,
          gasLimit: 300_000n,
          timeoutMs: Math.max(3 * chain.blockTimeMs, 1000) + 2000,
        };
        try {
          await this.#reserve(chain, amountWei, options.timeoutMs);
        } catch (error) {
          skipped.push({ chain: chain.name, reason: (error as Error).message });
          continue;
        }
        try {
          const receipt = await chain
            .signer(this.#o.operator)
            .send(options)
            .catch((error: unknown) => {
              this.#release(chain, amountWei);
              throw error;
            });
          this.#owe(chain, amountWei);
          const from = skipped[0]?.chain;
          if (from && !this.#o.alerter.isActive(`crosschain:${from}`)) {
            this.#o.alerter.emitEvery(
              `crosschain-mint:${from}>${chain.name}`,
              FAILOVER_ALERT_EVERY_MS,
              "CROSS_CHAIN_FAILOVER",
              "high",
              "minting_contracts",
              chain.name,
              { from, to: chain.name, mintId, skipped },
            );
          }
          return {
            mintId,
            chain: chain.name,
            txHash: receipt.transactionHash,
            blockNumber: Number(receipt.blockNumber),
            skipped,
          };
        } catch (error) {
          const reason = error instanceof TxReverted ? error.reason : (error as Error).message;
          if (error instanceof TxReverted && reason.startsWith("AlreadyProcessed")) throw error;
          skipped.push({ chain: chain.name, reason });
          if (error instanceof TxReverted && !TRY_NEXT.test(reason)) throw error;
        }
      } finally {
        gate.leave();
      }
    }
    throw new AllChainsFailed(skipped);
  }
}
