/**
 * The redemption engine: pays the durable queue in order of acceptance, exactly once on
 * chain. A batch is signed with consecutive nonces, recorded as `sending` with its hashes
 * (one commit) before anything is broadcast, then confirmed. After a crash, a `sending`
 * row is reconciled with the vault's `processed(id)` before it is sent again, and a
 * repeat that the vault refuses with AlreadyProcessed counts as paid, never as a loss.
 */

import type { LabAccount as Account } from "../contract/lab-file.ts";
import { sleep } from "../process.ts";
import { type ChainClient, type SendOptions, TxReverted, VAULT } from "./chain.ts";
import type { StackMetrics } from "./metrics.ts";
import type { Redemption, RedemptionQueue } from "./queue.ts";
import { RpcError } from "./rpc.ts";

type Settlement = Parameters<RedemptionQueue["settle"]>[0][number];

/** Reverts that retrying will not cure. */
const PERMANENT = /ERC20Insufficient|RedemptionTooSmall|ZeroAmount|ZeroAddress|AccessControl/;

export interface EngineOptions {
  queue: RedemptionQueue;
  chains: Map<string, ChainClient>;
  operator: Account;
  metrics?: StackMetrics | undefined;
  /** Most redemptions per batch. @default 32 */
  batchSize?: number;
  /**
   * Most redemption transactions in flight per chain (two batches: the next is signed while
   * one is mined). The chain's capacity is shared with mints (see Gate): more here makes mints
   * wait longer and the node slower to answer the monitor. @default 64
   */
  maxInFlight?: number;
  /** Idle poll, ms. @default 100 */
  idleMs?: number;
  /** Receipt deadline, ms. @default 20000 */
  receiptTimeoutMs?: number;
  /** Extra wait to gather a batch (set under a gas spike: TX_BATCHING_ENABLED). */
  batchWindowMs?: (chain: string) => number;
  /** Is the chain able to take transactions now? */
  canSend?: (chain: string) => boolean;
  onSettled?: (redemption: Redemption, outcome: "paid" | "failed") => void;
}

export class RedemptionEngine {
  readonly #o: EngineOptions;
  #running = false;
  /** Loops idling until their timer or the next wake, whichever comes first. */
  readonly #sleepers = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #unsubscribe: (() => void) | undefined;
  readonly #inFlight = new Set<string>();
  readonly #confirming = new Set<Promise<void>>();
  #open = true;
  lastError: string | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
  }

  start(): void {
    this.#running = true;
    this.#unsubscribe = this.#o.queue.onAccepted(() => this.#wakeAll());
    this.#loops = [...this.#o.chains.keys()].map((chain) => this.#loop(chain));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#wakeAll();
    await Promise.allSettled(this.#loops);
    this.#open = false;
  }

  /** Wakes every idling loop at once. */
  #wakeAll(): void {
    const sleepers = [...this.#sleepers];
    this.#sleepers.clear();
    for (const wake of sleepers) wake();
  }

  /**
   * Idles `ms`, or until the next wake. A sleeper leaves the set when its timer fires, so
   * the set holds only the loops idling now (at most one per chain), however long the stack
   * runs.
   */
  async #idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  async #loop(chainName: string): Promise<void> {
    const chain = this.#o.chains.get(chainName)!;
    const idleMs = this.#o.idleMs ?? 100;
    const batchSize = this.#o.batchSize ?? 32;
    const maxInFlight = Math.max(this.#o.maxInFlight ?? 64, batchSize);
    while (this.#running) {
      if (!(this.#o.canSend?.(chainName) ?? true)) {
        await this.#idle(idleMs);
        continue;
      }
      if (this.#inFlight.size >= maxInFlight) {
        await this.#idle(idleMs);
        continue;
      }
      const batch = this.#o.queue
        .open(chainName, batchSize + this.#inFlight.size)
        .filter((r) => !this.#inFlight.has(r.id))
        .slice(0, Math.min(batchSize, maxInFlight - this.#inFlight.size));
      if (batch.length === 0) {
        await this.#idle(idleMs);
        continue;
      }
      const window = this.#o.batchWindowMs?.(chainName) ?? 0;
      if (window > 0 && batch.length < batchSize) {
        await this.#idle(window);
      }
      try {
        const sent = await this.#dispatch(chain, batch);
        this.lastError = undefined;
        if (sent === 0) await this.#idle(idleMs);
      } catch (error) {
        this.lastError = (error as Error).message;
        await this.#idle(Math.max(idleMs, 250));
      }
    }
    await Promise.allSettled([...this.#confirming]);
  }

  /**
   * Reconciles, signs (consecutive nonces, so the chain keeps the queue's order), records
   * and broadcasts one batch; confirmation runs in the background while the next batch goes
   * out. Returns how many were broadcast.
   */
  async #dispatch(chain: ChainClient, batch: Redemption[]): Promise<number> {
    const { queue } = this.#o;
    const signer = chain.signer(this.#o.operator);
    // Rows left `sending` by an earlier attempt (or an earlier process): ask the vault first.
    const toSend: Redemption[] = [];
    const settled: Settlement[] = [];
    for (const r of batch) {
      if (r.status === "sending") {
        const [done] = await chain.read(VAULT, chain.own().vault, "processed", [r.id]);
        if (done) {
          settled.push({ id: r.id, outcome: "paid", txHash: r.txHash });
          continue;
        }
        if (r.txHash) {
          const pending = await chain.rpc
            .call<{ blockNumber: string | null } | null>("eth_getTransactionByHash", [r.txHash])
            .catch(() => null);
          // Still in the mempool: leave it for a later pass instead of racing it.
          if (
            pending &&
            pending.blockNumber === null &&
            r.sentAt !== null &&
            Date.now() - r.sentAt < 30_000
          ) {
            continue;
          }
        }
      }
      toSend.push(r);
    }
    if (settled.length > 0) this.#settle(settled, batch);
    if (toSend.length === 0) return 0;
    const txs: {
      r: Redemption;
      options: SendOptions;
      signed: { raw: string; hash: string; nonce: number };
    }[] = [];
    try {
      for (const r of toSend) {
        const data = VAULT.encodeFunctionData("redeem", [r.id, r.holder, r.payTo, BigInt(r.amountWei)]);
        const options = {
          to: chain.own().vault,
          data,
          gasLimit: 300_000n,
          timeoutMs: this.#o.receiptTimeoutMs ?? 20_000,
        };
        txs.push({ r, options, signed: await signer.sign(options) });
      }
      queue.markSending(txs.map((t) => ({ id: t.r.id, txHash: t.signed.hash })));
    } catch (error) {
      // Signed and not sent: their nonces must not stay taken.
      for (const t of txs) signer.discard(t.signed.nonce);
      throw error;
    }
    for (const t of txs) this.#inFlight.add(t.r.id);
    // Submitted in one turn, the batch goes out as one JSON-RPC request (see ChainClient.submit).
    // Not awaited here: the next batch is signed while this one is mined; nonces keep the order.
    const sends = txs.map((t) =>
      signer.sendRaw(t.signed.raw, t.signed.hash, t.signed.nonce).then(
        (receipt) => ({ receipt, error: undefined as unknown }),
        (error: unknown) => ({ receipt: undefined, error }),
      ),
    );
    const confirming = Promise.all(
      txs.map(async (t, i): Promise<Settlement | undefined> => {
        try {
          const sent = await sends[i]!;
          if (sent.error !== undefined) throw sent.error;
          await signer.confirm(t.signed.hash, t.options, sent.receipt);
          return { id: t.r.id, outcome: "paid", txHash: t.signed.hash };
        } catch (error) {
          if (error instanceof TxReverted) {
            if (error.reason.startsWith("AlreadyProcessed"))
              return { id: t.r.id, outcome: "paid", txHash: null };
            if (PERMANENT.test(error.reason)) return { id: t.r.id, outcome: "failed", error: error.reason };
            return { id: t.r.id, outcome: "queued", error: error.reason };
          }
          if (error instanceof RpcError) return { id: t.r.id, outcome: "queued", error: error.message };
          // Not mined in time or the provider failed: stays `sending`, reconciled next pass.
          return undefined;
        }
      }),
    ).then(async (outcomes) => {
      const done = outcomes.filter((o) => o !== undefined);
      if (done.length > 0 && this.#open) this.#settle(done, toSend);
      if (outcomes.some((o) => o === undefined || o.outcome === "queued")) {
        // A failed send may leave a nonce gap: ask the chain, and give it a moment.
        signer.resync();
        await sleep(1000);
      }
      for (const t of txs) this.#inFlight.delete(t.r.id);
      // A loop idling because the chain had its fill of our transactions may send again.
      this.#wakeAll();
    });
    const tracked = confirming.finally(() => this.#confirming.delete(tracked));
    this.#confirming.add(tracked);
    return txs.length;
  }

  #settle(entries: readonly Settlement[], rows: Redemption[]): void {
    this.#o.queue.settle(entries);
    const now = Date.now();
    for (const e of entries) {
      if (e.outcome === "queued") continue;
      const r = rows.find((x) => x.id === e.id);
      this.#o.metrics?.redemptions.inc({ outcome: e.outcome });
      if (r && e.outcome === "paid") this.#o.metrics?.redemptionDuration.observe((now - r.acceptedAt) / 1000);
      if (r) this.#o.onSettled?.({ ...r, status: e.outcome }, e.outcome);
    }
  }
}
