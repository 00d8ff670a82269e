/**
 * The BCP's emergency protocols: pause non-critical operations on chain
 * (`pauseNonCritical()`, redemptions keep working), emergency rebalance (collateral from
 * the treasury until the ratio is back above target), resume when every reason to pause
 * has cleared. Each action is posted as an alert.
 */
import { MaxUint256 } from "ethers";
import type { LabAccount as Account } from "../contract/lab-file.ts";
import { backoffMs, sleep } from "../process.ts";
import type { Alerter } from "./alerts.ts";
import { ERC20, FEED, VAULT } from "./chain.ts";
import type { CollateralMonitor } from "./monitor.ts";

/** A failed pause is sent again after 250 ms, then 500, 1000, 2000, 2000... for 30 s at most. */
const PAUSE_BACKOFF_MS = 250;
const PAUSE_MAX_BACKOFF_MS = 2_000;
const PAUSE_RETRY_MS = 30_000;

export interface EmergencyOptions {
  monitors: Map<string, CollateralMonitor>;
  alerter: Alerter;
  /** Signs pauses (guardian, else operator). */
  pauser: Account;
  treasury: Account | undefined;
  /** Ratio a rebalance restores, at least. */
  targetRatio: (m: CollateralMonitor) => number;
}

export class EmergencyProtocols {
  readonly #o: EmergencyOptions;
  /** chain -> reasons the stack paused it for. */
  readonly pauseReasons = new Map<string, Set<string>>();
  readonly #busy = new Map<string, Promise<unknown>>();
  readonly #closing = new AbortController();
  readonly actions: { at: string; action: string; chain: string; ok: boolean; detail: string }[] = [];

  constructor(options: EmergencyOptions) {
    this.#o = options;
  }

  #serial<T>(chain: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#busy.get(chain) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.#busy.set(chain, next);
    return next;
  }

  #log(action: string, chain: string, ok: boolean, detail: string): void {
    this.actions.push({ at: new Date().toISOString(), action, chain, ok, detail });
    if (this.actions.length > 200) this.actions.shift();
  }

  /** Pauses minting on `chain` for `reason` (once per chain; reasons accumulate). */
  pause(chain: string, reason: string): Promise<void> {
    const reasons = this.pauseReasons.get(chain) ?? new Set<string>();
    const first = reasons.size === 0;
    reasons.add(reason);
    this.pauseReasons.set(chain, reasons);
    if (!first) return Promise.resolve();
    return this.#serial(chain, async () => {
      const m = this.#o.monitors.get(chain);
      // Every reason may have cleared while this waited its turn.
      if (!m || (this.pauseReasons.get(chain)?.size ?? 0) === 0) return;
      if (m.chain.contracts === undefined) {
        this.#log(
          "pause",
          chain,
          false,
          `${reason}: a team's deployment, paused by its own guardian, not the stack`,
        );
        return;
      }
      await this.#pauseUntilDone(m, chain, reason);
    });
  }

  /**
   * Sends the pause until it is mined, the vault reports itself paused (a pause whose answer
   * was lost may have been mined: a second one then reverts), every reason has cleared, or
   * PAUSE_RETRY_MS is over. The first failure is posted at once, not the last.
   */
  async #pauseUntilDone(m: CollateralMonitor, chain: string, reason: string): Promise<void> {
    const started = Date.now();
    let failed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        let txHash: string | null = null;
        if (!m.state.nonCriticalPaused) {
          const receipt = await m.chain.signer(this.#o.pauser).send({
            to: m.chain.own().vault,
            data: VAULT.encodeFunctionData("pauseNonCritical"),
            gasLimit: 120_000n,
          });
          txHash = receipt.transactionHash;
        }
        this.#paused(m, chain, reason, { txHash, attempts: attempt });
        return;
      } catch (error) {
        if (await this.#vaultPaused(m)) {
          this.#paused(m, chain, reason, { txHash: null, attempts: attempt, confirmedBy: "the vault" });
          return;
        }
        const message = (error as Error).message;
        this.#log("pause", chain, false, message);
        if (!failed) {
          failed = true;
          this.#o.alerter.emit("EMERGENCY_PAUSE_FAILED", "critical", "minting_contracts", chain, {
            reason,
            error: message,
            retrying: true,
          });
        }
        const wait = backoffMs(attempt, PAUSE_BACKOFF_MS, PAUSE_MAX_BACKOFF_MS);
        const over = Date.now() + wait > started + PAUSE_RETRY_MS;
        if (over || (this.pauseReasons.get(chain)?.size ?? 0) === 0 || this.#closing.signal.aborted) return;
        await sleep(wait, this.#closing.signal);
        if (this.#closing.signal.aborted) return;
      }
    }
  }

  #paused(m: CollateralMonitor, chain: string, reason: string, details: Record<string, unknown>): void {
    m.state.nonCriticalPaused = true;
    this.#log("pause", chain, true, reason);
    this.#o.alerter.emit("EMERGENCY_PAUSE", "critical", "minting_contracts", chain, {
      reason,
      action: "pauseNonCritical",
      ...details,
      redemptions: "still open",
    });
  }

  /** Whether the vault reports non-critical operations paused; false when it cannot be read. */
  async #vaultPaused(m: CollateralMonitor): Promise<boolean> {
    try {
      const [paused] = await m.chain.read(VAULT, m.chain.own().vault, "nonCriticalPaused");
      return paused === true;
    } catch {
      return false;
    }
  }

  /** Drops `reason`; resumes minting when no reason is left. */
  release(chain: string, reason: string): Promise<void> {
    const reasons = this.pauseReasons.get(chain);
    if (!reasons?.delete(reason) || reasons.size > 0) return Promise.resolve();
    this.pauseReasons.delete(chain);
    return this.#serial(chain, async () => {
      const m = this.#o.monitors.get(chain);
      if (!m || (this.pauseReasons.get(chain)?.size ?? 0) > 0 || m.state.nonCriticalPaused === false) return;
      try {
        const receipt = await m.chain.signer(this.#o.pauser).send({
          to: m.chain.own().vault,
          data: VAULT.encodeFunctionData("resumeNonCritical"),
          gasLimit: 120_000n,
        });
        m.state.nonCriticalPaused = false;
        this.#log("resume", chain, true, reason);
        this.#o.alerter.emit("EMERGENCY_RESUME", "low", "minting_contracts", chain, {
          action: "resumeNonCritical",
          txHash: receipt.transactionHash,
        });
      } catch (error) {
        this.#log("resume", chain, false, (error as Error).message);
      }
    });
  }

  /** Deposits treasury collateral until `chain`'s ratio is back at the target. */
  rebalance(chain: string, reason: string): Promise<void> {
    return this.#serial(chain, async () => {
      const m = this.#o.monitors.get(chain);
      const treasury = this.#o.treasury;
      if (!m || !treasury) return;
      if (m.chain.contracts === undefined) {
        this.#log(
          "rebalance",
          chain,
          false,
          `${reason}: a team's deployment, its reserve is the team's to move`,
        );
        return;
      }
      const { supply, collateralValueUsd } = m.state;
      if (supply === undefined || collateralValueUsd === undefined) return;
      const target = this.#o.targetRatio(m);
      const neededUsd = target * supply - collateralValueUsd;
      if (!(neededUsd > 0)) return;
      const c = m.chain.own();
      const signer = m.chain.signer(treasury);
      try {
        let asset = "USDC";
        let txHash: string;
        const [balance] = await m.chain.read(ERC20, c.usdc, "balanceOf", [treasury.address]);
        const usdcPrice = await this.#feedPrice(m, c.usdcUsdFeed);
        const usdcUnits = BigInt(Math.ceil((neededUsd / Math.max(usdcPrice, 0.01)) * 1.01 * 1e6));
        if ((balance as bigint) >= usdcUnits) {
          // Both go out back to back with consecutive nonces, so the deposit sees the approval.
          const approve = await signer.broadcast({
            to: c.usdc,
            data: ERC20.encodeFunctionData("approve", [c.vault, MaxUint256]),
            gasLimit: 100_000n,
          });
          const deposit = signer.send({
            to: c.vault,
            data: VAULT.encodeFunctionData("depositCollateral", [usdcUnits]),
            gasLimit: 200_000n,
          });
          await signer.confirm(approve.hash, { to: c.usdc, data: "0x" });
          txHash = (await deposit).transactionHash;
        } else {
          asset = "ETH";
          const ethPrice = await this.#feedPrice(m, c.ethUsdFeed);
          const wei = BigInt(Math.ceil((neededUsd / ethPrice) * 1.01 * 1e6)) * 10n ** 12n;
          txHash = (
            await signer.send({
              to: c.vault,
              data: VAULT.encodeFunctionData("depositEth"),
              valueWei: wei,
              gasLimit: 150_000n,
            })
          ).transactionHash;
        }
        this.#log("rebalance", chain, true, `${asset} ${neededUsd.toFixed(2)} USD`);
        this.#o.alerter.emit("EMERGENCY_REBALANCE", "critical", "collateral_management", chain, {
          reason,
          asset,
          depositedUsd: Math.round(neededUsd * 100) / 100,
          targetRatio: target,
          txHash,
        });
      } catch (error) {
        this.#log("rebalance", chain, false, (error as Error).message);
        this.#o.alerter.emit("EMERGENCY_REBALANCE_FAILED", "critical", "collateral_management", chain, {
          reason,
          error: (error as Error).message,
        });
      }
    });
  }

  async #feedPrice(m: CollateralMonitor, feed: string): Promise<number> {
    const [decimals] = await m.chain.read(FEED, feed, "decimals");
    const round = await m.chain.read(FEED, feed, "latestRoundData");
    return Number(round[1] as bigint) / 10 ** Number(decimals);
  }

  async settle(): Promise<void> {
    // Steps in flight finish; a pause waiting to be sent again is not sent.
    this.#closing.abort();
    await Promise.allSettled([...this.#busy.values()]);
  }
}
