/**
 * The durable redemption queue (node:sqlite, WAL, synchronous=FULL). A redemption is
 * committed and synced to disk before the gateway answers; concurrent requests share one
 * commit (group commit), so durability does not cost one fsync per request. Rows move
 * queued -> sending (with the signed transaction's hash, committed before broadcast) ->
 * paid | failed, in order of acceptance.
 *
 * The engine's own bookkeeping (`sending`, `paid`, `failed`) is committed to the WAL without
 * an fsync of its own (synchronous=NORMAL for that transaction): it survives a crash or a
 * SIGKILL of the process, and what a power loss could take back is rebuilt from the chain,
 * since a row found `queued` or `sending` is reconciled with the vault's `processed(id)`
 * before it is paid again. The next accept's fsync makes it durable anyway. Mint keys are
 * kept the same way: a mint's on-chain id is derived from its key, and the vault refuses an
 * id it has processed, so a key claim that a power loss took back cannot mint twice on that
 * chain; a synchronous fsync per mint held the whole gateway up under a spike.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { id as keccakId } from "ethers";

export type RedemptionStatus = "queued" | "sending" | "paid" | "failed";

export interface RedemptionRequest {
  idempotencyKey: string;
  chain: string;
  holder: string;
  payTo: string;
  /** Decimal text as given, e.g. "500.00". */
  amount: string;
  /** fdUSD base units (18 decimals), decimal string. */
  amountWei: string;
  collateralType: string;
  /** Hash of the canonical request body, to tell a replay from a different request. */
  bodyHash: string;
}

export interface Redemption extends RedemptionRequest {
  seq: number;
  /** keccak256 of the idempotency key: the on-chain redemption id. */
  id: string;
  status: RedemptionStatus;
  txHash: string | null;
  error: string | null;
  attempts: number;
  acceptedAt: number;
  sentAt: number | null;
  paidAt: number | null;
}

export type AcceptResult =
  | { kind: "created"; redemption: Redemption }
  | { kind: "existing"; redemption: Redemption }
  | { kind: "conflict"; redemption: Redemption };

/** The on-chain id of an idempotency key. */
export function redemptionIdOf(idempotencyKey: string): string {
  return keccakId(idempotencyKey);
}

/** SHA-256 of a canonical JSON rendering of `value` (keys sorted). */
export function bodyHashOf(value: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]]),
  );
  return createHash("sha256").update(canonical).digest("hex");
}

interface Row {
  seq: number;
  id: string;
  idem_key: string;
  body_hash: string;
  chain: string;
  holder: string;
  pay_to: string;
  amount: string;
  amount_wei: string;
  collateral_type: string;
  status: RedemptionStatus;
  tx_hash: string | null;
  error: string | null;
  attempts: number;
  accepted_at: number;
  sent_at: number | null;
  paid_at: number | null;
}

function fromRow(r: Row): Redemption {
  return {
    seq: r.seq,
    id: r.id,
    idempotencyKey: r.idem_key,
    bodyHash: r.body_hash,
    chain: r.chain,
    holder: r.holder,
    payTo: r.pay_to,
    amount: r.amount,
    amountWei: r.amount_wei,
    collateralType: r.collateral_type,
    status: r.status,
    txHash: r.tx_hash,
    error: r.error,
    attempts: r.attempts,
    acceptedAt: r.accepted_at,
    sentAt: r.sent_at,
    paidAt: r.paid_at,
  };
}

export interface MintRecord {
  idempotencyKey: string;
  id: string;
  bodyHash: string;
  status: "pending" | "done" | "failed";
  /** The HTTP status and body the gateway answered with. */
  response: { status: number; body: unknown } | null;
}

interface Pending {
  request: RedemptionRequest;
  resolve: (result: AcceptResult) => void;
  reject: (error: Error) => void;
}

export class RedemptionQueue {
  readonly #db: DatabaseSync;
  #pending: Pending[] = [];
  #flushScheduled = false;
  readonly #listeners = new Set<() => void>();
  readonly #stmts;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS redemptions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        idem_key TEXT NOT NULL UNIQUE,
        body_hash TEXT NOT NULL,
        chain TEXT NOT NULL,
        holder TEXT NOT NULL,
        pay_to TEXT NOT NULL,
        amount TEXT NOT NULL,
        amount_wei TEXT NOT NULL,
        collateral_type TEXT NOT NULL,
        status TEXT NOT NULL,
        tx_hash TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        accepted_at INTEGER NOT NULL,
        sent_at INTEGER,
        paid_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS redemptions_open ON redemptions(status, seq);
      CREATE TABLE IF NOT EXISTS mints (
        idem_key TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        status TEXT NOT NULL,
        response TEXT,
        created_at INTEGER NOT NULL
      );
    `);
    this.#stmts = {
      byKey: this.#db.prepare("SELECT * FROM redemptions WHERE idem_key = ?"),
      byId: this.#db.prepare("SELECT * FROM redemptions WHERE id = ?"),
      insert: this.#db.prepare(
        `INSERT INTO redemptions (id, idem_key, body_hash, chain, holder, pay_to, amount, amount_wei,
          collateral_type, status, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)`,
      ),
      open: this.#db.prepare(
        "SELECT * FROM redemptions WHERE status IN ('queued', 'sending') AND chain = ? ORDER BY seq LIMIT ?",
      ),
      depth: this.#db.prepare("SELECT COUNT(*) AS n FROM redemptions WHERE status IN ('queued', 'sending')"),
      counts: this.#db.prepare("SELECT status, COUNT(*) AS n FROM redemptions GROUP BY status"),
      sending: this.#db.prepare(
        "UPDATE redemptions SET status = 'sending', tx_hash = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
      ),
      paid: this.#db.prepare(
        "UPDATE redemptions SET status = 'paid', tx_hash = COALESCE(?, tx_hash), paid_at = ?, error = NULL WHERE id = ?",
      ),
      failed: this.#db.prepare("UPDATE redemptions SET status = 'failed', error = ? WHERE id = ?"),
      requeue: this.#db.prepare("UPDATE redemptions SET status = 'queued', error = ? WHERE id = ?"),
      mintGet: this.#db.prepare("SELECT * FROM mints WHERE idem_key = ?"),
      mintInsert: this.#db.prepare(
        "INSERT INTO mints (idem_key, id, body_hash, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
      ),
      mintDone: this.#db.prepare("UPDATE mints SET status = ?, response = ? WHERE idem_key = ?"),
      mintDelete: this.#db.prepare("DELETE FROM mints WHERE idem_key = ?"),
    };
  }

  /** Stores a redemption durably (or finds the one stored under its key). */
  accept(request: RedemptionRequest): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const results: AcceptResult[] = [];
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const { request } of batch) {
        const existing = this.#stmts.byKey.get(request.idempotencyKey) as Row | undefined;
        if (existing) {
          const redemption = fromRow(existing);
          results.push({
            kind: existing.body_hash === request.bodyHash ? "existing" : "conflict",
            redemption,
          });
          continue;
        }
        const now = Date.now();
        this.#stmts.insert.run(
          redemptionIdOf(request.idempotencyKey),
          request.idempotencyKey,
          request.bodyHash,
          request.chain,
          request.holder,
          request.payTo,
          request.amount,
          request.amountWei,
          request.collateralType,
          now,
        );
        const row = this.#stmts.byKey.get(request.idempotencyKey) as unknown as Row;
        results.push({ kind: "created", redemption: fromRow(row) });
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // Nothing to roll back.
      }
      for (const p of batch) p.reject(error as Error);
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(results[i]!);
    if (results.some((r) => r.kind === "created")) for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` whenever new redemptions were committed. */
  onAccepted(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** By on-chain id (0x..) or by idempotency key. */
  get(idOrKey: string): Redemption | undefined {
    const row = (this.#stmts.byId.get(idOrKey.toLowerCase()) ?? this.#stmts.byKey.get(idOrKey)) as
      | Row
      | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The oldest open redemptions of `chain`, in order of acceptance. */
  open(chain: string, limit: number): Redemption[] {
    return (this.#stmts.open.all(chain, limit) as unknown as Row[]).map(fromRow);
  }

  /** Open (queued or sending) redemptions. */
  depth(): number {
    return Number((this.#stmts.depth.get() as { n: number }).n);
  }

  counts(): Record<RedemptionStatus, number> {
    const out: Record<RedemptionStatus, number> = { queued: 0, sending: 0, paid: 0, failed: 0 };
    for (const row of this.#stmts.counts.all() as unknown as { status: RedemptionStatus; n: number }[]) {
      out[row.status] = Number(row.n);
    }
    return out;
  }

  /** One transaction of engine bookkeeping: committed to the WAL, not synced (see above). */
  #bookkeeping(fn: () => void): void {
    this.#db.exec("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE");
    try {
      fn();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    } finally {
      this.#db.exec("PRAGMA synchronous = FULL");
    }
  }

  /** Records the signed transactions before they are broadcast (one commit). */
  markSending(entries: readonly { id: string; txHash: string }[]): void {
    const now = Date.now();
    this.#bookkeeping(() => {
      for (const e of entries) this.#stmts.sending.run(e.txHash, now, e.id);
    });
  }

  /** Records outcomes (one commit). */
  settle(
    entries: readonly {
      id: string;
      outcome: "paid" | "failed" | "queued";
      txHash?: string | null;
      error?: string;
    }[],
  ): void {
    const now = Date.now();
    this.#bookkeeping(() => {
      for (const e of entries) {
        if (e.outcome === "paid") this.#stmts.paid.run(e.txHash ?? null, now, e.id);
        else if (e.outcome === "failed") this.#stmts.failed.run(e.error ?? "failed", e.id);
        else this.#stmts.requeue.run(e.error ?? null, e.id);
      }
    });
  }

  getMint(idempotencyKey: string): MintRecord | undefined {
    const row = this.#stmts.mintGet.get(idempotencyKey) as
      | {
          idem_key: string;
          id: string;
          body_hash: string;
          status: MintRecord["status"];
          response: string | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      idempotencyKey: row.idem_key,
      id: row.id,
      bodyHash: row.body_hash,
      status: row.status,
      response: row.response ? (JSON.parse(row.response) as MintRecord["response"]) : null,
    };
  }

  /** Claims a mint key; false when it is already taken. */
  claimMint(idempotencyKey: string, id: string, bodyHash: string): boolean {
    try {
      this.#bookkeeping(() => this.#stmts.mintInsert.run(idempotencyKey, id, bodyHash, Date.now()));
      return true;
    } catch {
      return false;
    }
  }

  finishMint(
    idempotencyKey: string,
    status: "done" | "failed",
    response: { status: number; body: unknown },
  ): void {
    this.#bookkeeping(() => this.#stmts.mintDone.run(status, JSON.stringify(response), idempotencyKey));
  }

  /** Forgets a mint key whose request never reached a chain, so that a retry can run. */
  releaseMint(idempotencyKey: string): void {
    this.#bookkeeping(() => this.#stmts.mintDelete.run(idempotencyKey));
  }

  close(): void {
    if (this.#pending.length > 0) this.#flush();
    this.#db.close();
  }
}
