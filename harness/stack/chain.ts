/**
 * One chain as the stack sees it: its providers, its head, its contracts (read through
 * `eth_call`), and signers with local nonces that send transactions and wait for receipts
 * on new heads instead of polling each one.
 */
import { Interface, keccak256, type Result, Wallet } from "ethers";
import type { LabAccount as Account } from "../contract/lab-file.ts";
import { FiredrillError } from "../errors.ts";
import type { ChainConfig } from "./config.ts";
import { FailoverRpc, RpcError } from "./rpc.ts";

export const VAULT = new Interface([
  "function mint(bytes32 mintId, address to, uint256 amount)",
  "function redeem(bytes32 redemptionId, address holder, address payTo, uint256 amount)",
  "function processed(bytes32 id) view returns (bool)",
  "function collateralRatio() view returns (uint256)",
  "function collateralValueUsd() view returns (uint256)",
  "function minCollateralRatio() view returns (uint256)",
  "function pauseNonCritical()",
  "function resumeNonCritical()",
  "function nonCriticalPaused() view returns (bool)",
  "function paused() view returns (bool)",
  "function depositEth() payable",
  "function depositCollateral(uint256 usdcAmount)",
  "error AlreadyProcessed(bytes32 id)",
  "error BelowMinimumCollateralRatio(uint256 ratioAfter, uint256 minimum)",
  "error StalePrice(address feed)",
  "error InvalidPrice(address feed, int256 answer)",
  "error NonCriticalOperationsPaused()",
  "error NonCriticalOperationsNotPaused()",
  "error UnauthorizedPauser(address account)",
  "error ZeroAmount()",
  "error ZeroAddress()",
  "error RedemptionTooSmall(uint256 amount)",
  "error InsufficientLiquidity(uint256 available, uint256 required)",
  "error EnforcedPause()",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
]);

export const ERC20 = new Interface([
  "function totalSupply() view returns (uint256)",
  "function balanceOf(address) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
  "function decimals() view returns (uint8)",
]);

export const FEED = new Interface([
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function decimals() view returns (uint8)",
]);

export interface Head {
  number: number;
  hash: string;
  parentHash: string;
  timestampSec: number;
  baseFeeWei: bigint;
  /** Wall-clock ms when the stack first saw this head. */
  seenAtMs: number;
}

export interface Receipt {
  transactionHash: string;
  blockNumber: string;
  status: string;
  gasUsed: string;
  effectiveGasPrice?: string;
}

/** A transaction that was mined but reverted; `reason` is the decoded custom error when known. */
export class TxReverted extends Error {
  readonly reason: string;
  readonly hash: string;
  constructor(hash: string, reason: string) {
    super(`transaction ${hash} reverted: ${reason}`);
    this.name = "TxReverted";
    this.hash = hash;
    this.reason = reason;
  }
}

/** Name (and args) of a revert from its data, e.g. `AlreadyProcessed(0x..)`. */
export function decodeRevert(data: unknown): string {
  if (typeof data !== "string" || !data.startsWith("0x") || data.length < 10) return "reverted";
  try {
    const parsed = VAULT.parseError(data);
    if (parsed) return `${parsed.name}(${parsed.args.map((a) => String(a)).join(",")})`;
  } catch {
    // Not one of ours.
  }
  return `reverted ${data.slice(0, 10)}`;
}

interface RawBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  baseFeePerGas?: string;
  transactions: string[];
}

interface Waiter {
  resolve: (receipt: Receipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class ChainClient {
  readonly name: string;
  readonly chainId: number;
  readonly blockTimeMs: number;
  /** The lab's own contracts; absent on a chain that runs a team's deployment. */
  readonly contracts: ChainConfig["contracts"];
  /** A team's contracts on a fork: watched, never acted on. */
  readonly team: ChainConfig["team"];
  readonly rpc: FailoverRpc;
  head: Head | undefined;
  /** Wall-clock ms when the head last advanced. */
  lastAdvanceMs = Date.now();
  /**
   * Wall-clock ms when one of this stack's transactions was last mined in a block higher than
   * any before: a chain that mines them is alive, even while its providers are too busy to
   * answer the monitor's polls in time (a load spike), so it is neither halted nor down.
   */
  lastMinedMs = 0;
  #highestMined = -1;
  readonly #signers = new Map<string, TxSigner>();
  readonly #waiters = new Map<string, Waiter>();
  #scanning = false;
  readonly #outbox: {
    raw: string;
    hash: string;
    resolve: (receipt: Receipt | undefined) => void;
    reject: (error: unknown) => void;
  }[] = [];
  #outboxScheduled = false;
  /** Reads waiting for the next batch. */
  readonly #reads: {
    tx: { to: string; data: string };
    resolve: (raw: unknown) => void;
    reject: (error: unknown) => void;
  }[] = [];
  /** Outcome of every transaction sent, for the failure rate and gas efficiency. */
  readonly txLog: { atMs: number; ok: boolean; gasUsed: bigint }[] = [];

  constructor(config: ChainConfig, rpcTimeoutMs = 1000) {
    this.name = config.name;
    this.chainId = config.chainId;
    this.blockTimeMs = config.blockTimeMs;
    this.contracts = config.contracts;
    this.team = config.team;
    this.rpc = new FailoverRpc(config.providers, rpcTimeoutMs);
  }

  /**
   * The lab's own contracts, for an action through them.
   * @throws FiredrillError FD340 on a chain that runs a team's deployment: the stack acts on none of it.
   */
  own(): NonNullable<ChainConfig["contracts"]> {
    if (this.contracts === undefined)
      throw new FiredrillError(
        "FD340",
        `chain ${this.name} runs a team's deployment: the stack watches it and acts on none of it`,
      );
    return this.contracts;
  }

  /** The latest block through the active provider. */
  async fetchHead(): Promise<Head> {
    const block = await this.rpc.call<RawBlock>("eth_getBlockByNumber", ["latest", false]);
    return toHead(block);
  }

  /** Records a head seen by the monitor; resolves receipt waiters mined since the last one. */
  observeHead(head: Head): void {
    const previous = this.head;
    if (!previous || head.number !== previous.number || head.hash !== previous.hash) {
      if (!previous || head.number > previous.number) this.lastAdvanceMs = head.seenAtMs;
      this.head = head;
    }
    if (this.#waiters.size > 0) void this.#scan();
  }

  /** One batch of receipt lookups for every transaction still waiting. */
  async #scan(): Promise<void> {
    if (this.#scanning) return;
    this.#scanning = true;
    try {
      const hashes = [...this.#waiters.keys()].slice(0, 1000);
      const receipts = await this.rpc.batch(
        hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })),
      );
      receipts.forEach((r, i) => {
        if (!r || r instanceof RpcError) return;
        const hash = hashes[i]!;
        const waiter = this.#waiters.get(hash);
        if (!waiter) return;
        this.#waiters.delete(hash);
        clearTimeout(waiter.timer);
        waiter.resolve(r as Receipt);
      });
    } catch {
      // The next head tries again.
    } finally {
      this.#scanning = false;
    }
  }

  async #settle(hash: string): Promise<void> {
    const receipt = await this.rpc
      .call<Receipt | null>("eth_getTransactionReceipt", [hash])
      .catch(() => null);
    const waiter = this.#waiters.get(hash);
    if (!receipt || !waiter) return;
    this.#waiters.delete(hash);
    clearTimeout(waiter.timer);
    waiter.resolve(receipt);
  }

  /** Resolves with the receipt once mined; rejects after `timeoutMs`. */
  async waitReceipt(hash: string, timeoutMs: number): Promise<Receipt> {
    const now = await this.rpc.call<Receipt | null>("eth_getTransactionReceipt", [hash]).catch(() => null);
    if (now) return now;
    return new Promise<Receipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(hash);
        reject(
          new FiredrillError("FD340", `${this.name}: transaction ${hash} not mined within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.set(hash, { resolve, reject, timer });
      // A receipt mined between the first look and registering the waiter.
      setTimeout(() => void this.#settle(hash), Math.min(250, Math.max(50, this.blockTimeMs)));
    });
  }

  /**
   * Broadcasts a signed transaction in the next JSON-RPC batch (everything submitted in the
   * same turn of the event loop shares one request, and one more for the receipts); resolves
   * with the receipt when the chain mined it on arrival.
   */
  submit(raw: string, hash: string): Promise<Receipt | undefined> {
    return new Promise((resolve, reject) => {
      this.#outbox.push({ raw, hash, resolve, reject });
      if (!this.#outboxScheduled) {
        this.#outboxScheduled = true;
        setImmediate(() => void this.#flushOutbox());
      }
    });
  }

  async #flushOutbox(): Promise<void> {
    this.#outboxScheduled = false;
    const items = this.#outbox.splice(0);
    if (items.length === 0) return;
    let results: unknown[];
    try {
      results = await this.rpc.batch(
        items.map((i) => ({ method: "eth_sendRawTransaction", params: [i.raw] })),
      );
    } catch (error) {
      for (const i of items) i.reject(error);
      return;
    }
    const sent: typeof items = [];
    results.forEach((r, n) => {
      const item = items[n]!;
      if (r instanceof RpcError && !/already/i.test(r.message)) item.reject(r);
      else sent.push(item);
    });
    let receipts: unknown[] = [];
    try {
      receipts = await this.rpc.batch(
        sent.map((i) => ({ method: "eth_getTransactionReceipt", params: [i.hash] })),
      );
    } catch {
      // Each waits for its receipt on new heads.
    }
    sent.forEach((item, n) => {
      const r = receipts[n];
      item.resolve(r && !(r instanceof RpcError) ? (r as Receipt) : undefined);
    });
  }

  /**
   * `eth_call` of `fn` on `address`, decoded. The reads made in the same turn of the event
   * loop share one JSON-RPC batch, as a provider library sends them: a failure of the
   * provider (of the batch, or of any call in it) sends the batch on to the next provider.
   */
  async read(iface: Interface, address: string, fn: string, args: readonly unknown[] = []): Promise<Result> {
    const data = iface.encodeFunctionData(fn, args);
    const raw = await new Promise<unknown>((resolve, reject) => {
      this.#reads.push({ tx: { to: address, data }, resolve, reject });
      if (this.#reads.length === 1) setImmediate(() => void this.#flushReads());
    });
    if (raw instanceof RpcError) throw raw;
    return iface.decodeFunctionResult(fn, raw as string);
  }

  async #flushReads(): Promise<void> {
    const reads = this.#reads.splice(0);
    try {
      const results = await this.rpc.batch(
        reads.map((r) => ({ method: "eth_call", params: [r.tx, "latest"] })),
        this.rpc.timeoutMs,
        true,
      );
      for (const [i, r] of reads.entries()) r.resolve(results[i]);
    } catch (error) {
      for (const r of reads) r.reject(error);
    }
  }

  /** Simulates a call from `from`; returns the revert reason or undefined when it would succeed. */
  async simulate(from: string, to: string, data: string, valueWei = 0n): Promise<string | undefined> {
    try {
      await this.rpc.call("eth_call", [{ from, to, data, value: `0x${valueWei.toString(16)}` }, "latest"]);
      return undefined;
    } catch (error) {
      if (error instanceof RpcError) return decodeRevert(error.data);
      throw error;
    }
  }

  signer(account: Account): TxSigner {
    const key = account.address.toLowerCase();
    let signer = this.#signers.get(key);
    if (!signer) {
      signer = new TxSigner(this, account.privateKey);
      this.#signers.set(key, signer);
    }
    return signer;
  }

  /** How long without a new block before the chain counts as halted, ms. */
  get haltAfterMs(): number {
    return Math.max(3 * this.blockTimeMs, 1500);
  }

  /** Whether one of this stack's transactions was mined in a new block within the halt window. */
  minedLately(now = Date.now()): boolean {
    return now - this.lastMinedMs <= this.haltAfterMs;
  }

  /** Records that a transaction of this stack was mined in `blockNumber`. */
  recordMined(blockNumber: number): void {
    if (blockNumber <= this.#highestMined) return;
    this.#highestMined = blockNumber;
    this.lastMinedMs = Date.now();
  }

  recordTx(ok: boolean, gasUsed: bigint): void {
    const now = Date.now();
    this.txLog.push({ atMs: now, ok, gasUsed });
    while (this.txLog.length > 0 && this.txLog[0]!.atMs < now - 60_000) this.txLog.shift();
    if (this.txLog.length > 10_000) this.txLog.splice(0, this.txLog.length - 10_000);
  }

  close(): void {
    for (const [hash, waiter] of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new FiredrillError("FD340", `${this.name}: stopped while waiting for ${hash}`));
    }
    this.#waiters.clear();
  }
}

export function toHead(block: RawBlock): Head {
  return {
    number: Number(block.number),
    hash: block.hash,
    parentHash: block.parentHash,
    timestampSec: Number(block.timestamp),
    baseFeeWei: BigInt(block.baseFeePerGas ?? "0x0"),
    seenAtMs: Date.now(),
  };
}

export interface SendOptions {
  to: string;
  data: string;
  valueWei?: bigint;
  /** @default 500000 */
  gasLimit?: bigint;
  /** Receipt deadline. @default 15000 */
  timeoutMs?: number;
  /** Called with the hash once the transaction is signed, before it is sent. */
  onSigned?: (hash: string, nonce: number) => void;
}

/**
 * Sends transactions from one key with local nonces (many in flight, no nonce races). A
 * send the node refuses leaves its nonce unused: after it, the signer asks the chain for the
 * account's next nonce, and fills the gaps from there first, so that the transactions queued
 * behind a gap are mined; it never reuses a nonce of a transaction signed here and not sent
 * yet (a batch of the redemption engine while it is being recorded).
 */
export class TxSigner {
  readonly wallet: Wallet;
  readonly #chain: ChainClient;
  #nonce: number | undefined;
  #stale = true;
  #syncing: Promise<void> | undefined;
  /** Nonces of transactions signed here and not sent yet. */
  readonly #unsent = new Set<number>();
  /** Unused nonces below `#nonce`, lowest first. */
  #gaps: number[] = [];

  constructor(chain: ChainClient, privateKey: string) {
    this.#chain = chain;
    this.wallet = new Wallet(privateKey);
  }

  get address(): string {
    return this.wallet.address;
  }

  /** Asks the chain for the account's next nonce and works out the gaps above it. */
  async #sync(): Promise<void> {
    // A resync asked for while this one is under way runs after it.
    this.#stale = false;
    let pending: number;
    try {
      pending = Number(
        await this.#chain.rpc.call<string>("eth_getTransactionCount", [this.wallet.address, "pending"]),
      );
    } catch (error) {
      this.#stale = true;
      throw error;
    }
    const top = Math.max(pending - 1, ...this.#unsent);
    this.#gaps = [];
    for (let n = pending; n <= top; n++) if (!this.#unsent.has(n)) this.#gaps.push(n);
    this.#nonce = top + 1;
  }

  async #nextNonce(): Promise<number> {
    while (this.#stale || this.#nonce === undefined) {
      this.#syncing ??= this.#sync().finally(() => {
        this.#syncing = undefined;
      });
      await this.#syncing;
    }
    const nonce = this.#gaps.shift() ?? this.#nonce++;
    this.#unsent.add(nonce);
    return nonce;
  }

  /** The next send asks the chain which nonces are used. */
  resync(): void {
    this.#stale = true;
  }

  /** Signs with the next local nonce; nothing is sent yet. */
  async sign(options: SendOptions): Promise<{ raw: string; hash: string; nonce: number }> {
    const nonce = await this.#nextNonce();
    const head = this.#chain.head;
    const tip = 1_000_000_000n;
    const base = head?.baseFeeWei ?? 1_000_000_000n;
    const raw = await this.wallet.signTransaction({
      type: 2,
      chainId: this.#chain.chainId,
      nonce,
      to: options.to,
      data: options.data,
      value: options.valueWei ?? 0n,
      gasLimit: options.gasLimit ?? 500_000n,
      maxPriorityFeePerGas: tip,
      maxFeePerGas: base * 3n + tip,
    });
    return { raw, hash: keccak256(raw), nonce };
  }

  /**
   * Broadcasts a signed transaction; "already known" counts as sent. Resolves with the
   * receipt when mined on arrival. `nonce` is the one `sign` gave it.
   */
  async sendRaw(raw: string, hash = keccak256(raw), nonce?: number): Promise<Receipt | undefined> {
    try {
      return await this.#chain.submit(raw, hash);
    } catch (error) {
      // The node refused it (or the provider failed): ask the chain before the next send.
      this.resync();
      throw error;
    } finally {
      if (nonce !== undefined) this.#unsent.delete(nonce);
    }
  }

  /** A signed transaction that will not be sent: its nonce is free at the next sync. */
  discard(nonce: number): void {
    this.#unsent.delete(nonce);
    this.resync();
  }

  /** Signs and broadcasts; returns the hash (and the receipt when mined on arrival). */
  async broadcast(
    options: SendOptions,
  ): Promise<{ hash: string; nonce: number; receipt: Receipt | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const { raw, hash, nonce } = await this.sign(options);
      try {
        options.onSigned?.(hash, nonce);
      } catch (error) {
        this.discard(nonce);
        throw error;
      }
      try {
        const receipt = await this.sendRaw(raw, hash, nonce);
        return { hash, nonce, receipt };
      } catch (error) {
        // Another process (or this one before a restart) used the nonce: sign again.
        const nonceTaken =
          error instanceof RpcError &&
          /nonce too low|already imported|replacement transaction underpriced/i.test(error.message);
        if (!nonceTaken || attempt >= 2) throw error;
      }
    }
  }

  /** Waits for the receipt of a sent transaction; throws TxReverted with the decoded reason. */
  async confirm(hash: string, options: SendOptions, known?: Receipt): Promise<Receipt> {
    let receipt: Receipt;
    try {
      receipt = known ?? (await this.#chain.waitReceipt(hash, options.timeoutMs ?? 15_000));
    } catch (error) {
      // Not mined in time counts as a failed transaction (congestion, a halted chain, a nonce
      // gap): the next send asks the chain which nonces are used.
      this.#chain.recordTx(false, 0n);
      this.resync();
      throw error;
    }
    const ok = receipt.status === "0x1";
    this.#chain.recordTx(ok, BigInt(receipt.gasUsed));
    this.#chain.recordMined(Number(receipt.blockNumber));
    if (!ok) {
      let reason = "reverted";
      try {
        reason =
          (await this.#chain.simulate(this.wallet.address, options.to, options.data, options.valueWei)) ??
          "reverted";
      } catch {
        // The reason is a nicety.
      }
      throw new TxReverted(hash, reason);
    }
    return receipt;
  }

  /** Broadcasts and waits for the receipt; throws TxReverted with the decoded reason. */
  async send(options: SendOptions): Promise<Receipt> {
    const { hash, receipt } = await this.broadcast(options);
    return this.confirm(hash, options, receipt);
  }
}
