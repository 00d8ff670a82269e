/**
 * The cross-chain backup manager: mints go to the first healthy chain in order
 * (ethereum -> polygon -> arbitrum). A chain is unhealthy while it is halted, its gas is
 * above the threshold, its vault refuses mints (paused), or, on an L2, its sequencer is
 * down or inside its grace period. Under a gas spike transactions are batched.
 */
import { randomBytes } from "node:crypto";
import type { Alerter } from "./alerts.ts";
import { type ChainClient, TxReverted, VAULT } from "./chain.ts";
import type { Account, Thresholds } from "./config.ts";
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

/** Reverts after which another chain may succeed. */
const TRY_NEXT =
  /NonCriticalOperationsPaused|EnforcedPause|StalePrice|InvalidPrice|BelowMinimumCollateralRatio/;

export interface CrossChainOptions {
  monitors: readonly CollateralMonitor[];
  alerter: Alerter;
  thresholds: Thresholds;
  operator: Account;
  /** Window in which mints are gathered while batching is on, ms. @default 250 */
  batchWindowMs?: number;
}

export class CrossChainManager {
  readonly #o: CrossChainOptions;
  readonly #batchWaiters = new Map<string, Promise<void>>();
  #preferred: string | undefined;

  constructor(options: CrossChainOptions) {
    this.#o = options;
  }

  get primary(): string {
    return this.#o.monitors[0]!.chain.name;
  }

  /** Why `m`'s chain should not take mints now (empty when healthy). */
  problems(m: CollateralMonitor): string[] {
    const out: string[] = [];
    const { state, chain } = m;
    if (!chain.head) out.push("no head yet");
    if (state.halted) out.push("halted");
    const gwei = chain.head ? Number(chain.head.baseFeeWei) / 1e9 : 0;
    if (gwei > this.#o.thresholds.gasPriceGwei) out.push(`gas ${gwei.toFixed(0)} gwei`);
    if (state.paused) out.push("vault paused");
    if (state.nonCriticalPaused) out.push("minting paused");
    if (state.sequencerUnavailable)
      out.push(state.sequencerDown ? "sequencer down" : "sequencer grace period");
    if (m.health.every((h) => !h.ok)) out.push("no provider answers");
    return out;
  }

  /** The chain mints go to now. */
  preferred(): string | undefined {
    return this.#o.monitors.find((m) => this.problems(m).length === 0)?.chain.name;
  }

  /** Whether transactions on `chain` are being batched (gas spike). */
  batching(chain: string): boolean {
    return this.#o.alerter.isActive(`batching:${chain}`);
  }

  /** Re-evaluates routing and batching; posts CROSS_CHAIN_FAILOVER / TX_BATCHING_ENABLED / RECOVERED. */
  update(): void {
    const { alerter, monitors, thresholds } = this.#o;
    for (const m of monitors) {
      const gwei = m.chain.head ? Number(m.chain.head.baseFeeWei) / 1e9 : 0;
      const key = `batching:${m.chain.name}`;
      if (gwei > thresholds.gasPriceGwei) {
        alerter.raise({
          key,
          event: "TX_BATCHING_ENABLED",
          severity: "medium",
          system: "minting_contracts",
          chain: m.chain.name,
          details: { baseFeeGwei: Math.round(gwei), windowMs: this.#o.batchWindowMs ?? 250 },
        });
      } else alerter.clear(key);
    }
    const preferred = this.preferred();
    if (preferred === this.#preferred) return;
    const previous = this.#preferred;
    this.#preferred = preferred;
    if (preferred === this.primary) {
      alerter.clear("crosschain", { to: preferred });
      return;
    }
    const primaryMonitor = monitors[0]!;
    const details = {
      from: previous ?? this.primary,
      to: preferred ?? null,
      reasons: this.problems(primaryMonitor),
    };
    if (preferred === undefined && previous === undefined) return;
    const raised = alerter.raise({
      key: "crosschain",
      event: "CROSS_CHAIN_FAILOVER",
      severity: preferred ? "high" : "critical",
      system: "minting_contracts",
      chain: preferred ?? null,
      details,
    });
    if (!raised)
      alerter.emit(
        "CROSS_CHAIN_FAILOVER",
        preferred ? "high" : "critical",
        "minting_contracts",
        preferred ?? null,
        details,
      );
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
    for (const m of healthy) {
      const chain: ChainClient = m.chain;
      if (this.batching(chain.name)) await this.#batchWindow(chain.name);
      const data = VAULT.encodeFunctionData("mint", [mintId, recipient, amountWei]);
      const options = {
        to: chain.contracts.vault,
        data,
        gasLimit: 300_000n,
        timeoutMs: Math.max(3 * chain.blockTimeMs, 1000) + 2000,
      };
      try {
        const receipt = await chain.signer(this.#o.operator).send(options);
        if (skipped.length > 0 && chain.name !== this.primary && !this.#o.alerter.isActive("crosschain")) {
          this.#o.alerter.emit("CROSS_CHAIN_FAILOVER", "high", "minting_contracts", chain.name, {
            from: skipped[0]!.chain,
            to: chain.name,
            mintId,
            skipped,
          });
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
    }
    throw new AllChainsFailed(skipped);
  }
}
