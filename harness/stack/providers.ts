/**
 * What a chain's providers say, compared: a provider that answers is not yet one to trust.
 * Every standby round reads each provider's latest block and, at one height every provider
 * has, each one's hash. A provider whose head stays behind its peers' is lagging; one whose
 * hash differs from the majority's is on a fork of its own; with no majority the providers
 * disagree and the chain's reads cannot be trusted at all. Rate limits and errors of single
 * methods are reported here too, without counting the provider down.
 */
import type { Alerter } from "./alerts.ts";
import type { FailoverRpc, ProviderError } from "./rpc.ts";

export interface ProviderHealth {
  name: string;
  ok: boolean;
  error: string | undefined;
  head: number | undefined;
  /** Wall-clock ms when this provider's head last advanced. */
  lastAdvanceMs: number;
  goodStreak: number;
  lastCheckMs: number;
  /** Why the provider answers but is not to be read from: lagging, on a fork, rate-limited. */
  suspect: string | undefined;
}

/** Blocks behind the best head from which a provider counts as lagging. */
export const LAG_BLOCKS = 3;
/** Rounds in a row a finding must hold before it is raised, and its absence before it clears. */
const ROUNDS = 2;
/** How long after its last method error a provider's method alert clears, ms. */
const METHOD_QUIET_MS = 5_000;

interface Track {
  lag: number;
  fork: number;
  fine: number;
  lagging: boolean;
  forked: boolean;
  rateLimited: boolean;
  methodErrorMs: number;
  methods: Set<string>;
}

interface Block {
  number: string;
  hash: string;
  parentHash?: string;
}

export interface Round {
  /** Each provider's head this round, or the error it answered with. */
  heads: ({ head: number } | { error: string })[];
  /** The active provider answers but must not be read from: why. */
  activeSuspect: string | undefined;
  /** A provider found on a fork this round (the monitor forgets hashes it may have learnt from it). */
  newlyForked: boolean;
  /** No majority of providers agrees on a block hash. */
  disagree: boolean;
}

export class ProviderConsensus {
  readonly #chain: string;
  readonly #alerter: Alerter;
  readonly #tracks: Track[];
  #disagreeRounds = 0;
  #agreeRounds = 0;
  disagree = false;

  constructor(chain: string, providers: number, alerter: Alerter) {
    this.#chain = chain;
    this.#alerter = alerter;
    this.#tracks = Array.from({ length: providers }, () => ({
      lag: 0,
      fork: 0,
      fine: 0,
      lagging: false,
      forked: false,
      rateLimited: false,
      methodErrorMs: 0,
      methods: new Set<string>(),
    }));
  }

  #key(what: string, provider?: string): string {
    return provider === undefined ? `rpc-${what}:${this.#chain}` : `rpc-${what}:${this.#chain}:${provider}`;
  }

  #raiseForked(
    provider: string,
    block: number,
    hash: string,
    majorityHash: string,
    majority: string[],
  ): void {
    this.#alerter.raise({
      key: this.#key("fork", provider),
      event: "RPC_PROVIDER_FORKED",
      severity: "critical",
      system: "rpc_providers",
      chain: this.#chain,
      details: { provider, block, hash, majorityHash, majority },
    });
  }

  /** A rate limit or a method error seen on a call. */
  failure(index: number, health: ProviderHealth, error: ProviderError, method: string): void {
    const t = this.#tracks[index]!;
    if (error.kind === "rate_limited") {
      t.rateLimited = true;
      t.fine = 0;
      health.suspect = `rate-limited (${error.message})`;
      this.#alerter.raise({
        key: this.#key("rate", health.name),
        event: "RPC_RATE_LIMITED",
        severity: "medium",
        system: "rpc_providers",
        chain: this.#chain,
        details: {
          provider: health.name,
          method,
          retryAfterMs: error.retryAfterMs ?? null,
          reason: error.message,
        },
      });
    } else if (error.kind === "method" || error.kind === "timeout" || error.kind === "batch") {
      t.methodErrorMs = Date.now();
      const fresh = !t.methods.has(method);
      t.methods.add(method);
      const event = error.kind === "batch" ? "RPC_BATCH_LIMITED" : "RPC_METHOD_ERRORS";
      const key = this.#key(error.kind === "batch" ? "batch" : "method", health.name);
      const details = { provider: health.name, methods: [...t.methods], reason: error.message };
      if (
        !this.#alerter.raise({
          key,
          event,
          severity: "medium",
          system: "rpc_providers",
          chain: this.#chain,
          details,
        }) &&
        fresh &&
        error.kind !== "batch"
      )
        this.#alerter.emit(event, "medium", "rpc_providers", this.#chain, details);
    }
  }

  /**
   * The active provider gave a new hash for a height seen before: a reorg, or the provider
   * left the chain. The other providers settle it: `confirmed` when one of them says the same
   * (or none answers), `alone` when all that answer agree on another hash (the provider is on
   * a fork: raised at once, the provider suspect), `split` when they disagree among themselves.
   */
  async corroborate(
    rpc: FailoverRpc,
    index: number,
    health: ProviderHealth[],
    height: number,
    hash: string,
    timeoutMs: number,
  ): Promise<"confirmed" | "alone" | "split"> {
    const others = rpc.providers.map((_, i) => i).filter((i) => i !== index);
    const answers = await Promise.all(
      others.map((i) =>
        rpc
          .callOn<Block | null>(i, "eth_getBlockByNumber", [`0x${height.toString(16)}`, false], timeoutMs)
          .then(
            (b) => b?.hash,
            () => undefined,
          ),
      ),
    );
    const said = answers.filter((a): a is string => a !== undefined);
    if (said.length === 0 || said.includes(hash)) return "confirmed";
    if (new Set(said).size > 1) return "split";
    const t = this.#tracks[index]!;
    const h = health[index]!;
    t.fork = ROUNDS;
    t.fine = 0;
    if (!t.forked) {
      t.forked = true;
      const majority = others.filter((_, k) => answers[k] !== undefined).map((i) => health[i]!.name);
      this.#raiseForked(h.name, height, hash, said[0]!, majority);
    }
    h.suspect = `on a fork: block ${height} is ${hash.slice(0, 10)}… where the others say ${said[0]!.slice(0, 10)}…`;
    return "alone";
  }

  /**
   * One round: every provider's latest block, then every provider's hash at one height they
   * all have. Updates `health` (heads, `suspect`) and raises or clears the alerts.
   */
  async round(rpc: FailoverRpc, health: ProviderHealth[], timeoutMs: number): Promise<Round> {
    const parents: (string | undefined)[] = [];
    const heads = await Promise.all(
      rpc.providers.map((_, i) =>
        rpc.callOn<Block | null>(i, "eth_getBlockByNumber", ["latest", false], timeoutMs).then(
          (b) => {
            if (!b) return { error: "no latest block" };
            parents[i] = b.parentHash;
            return { head: Number(b.number) };
          },
          (error: Error) => ({ error: error.message }),
        ),
      ),
    );
    const latest = heads.map((h) => ("head" in h ? h.head : undefined));
    const answering = latest.flatMap((n, i) => (n === undefined ? [] : [i]));
    const best = Math.max(...answering.map((i) => latest[i]!));
    // One below the lowest head, so that a block mined during the round changes nothing.
    const height = Math.min(...answering.map((i) => latest[i]!)) - 1;
    const hashes = new Map<number, string>();
    if (answering.length >= 2 && height >= 0) {
      await Promise.all(
        answering.map(async (i) => {
          // A provider at the lowest head has named its block at that height already: the
          // parent of its latest. Only those ahead are asked.
          const parent = latest[i] === height + 1 ? parents[i] : undefined;
          if (parent !== undefined) return hashes.set(i, parent);
          const block = await rpc
            .callOn<Block | null>(i, "eth_getBlockByNumber", [`0x${height.toString(16)}`, false], timeoutMs)
            .catch(() => null);
          if (block) hashes.set(i, block.hash);
        }),
      );
    }
    const votes = new Map<string, number[]>();
    for (const [i, hash] of hashes) votes.set(hash, [...(votes.get(hash) ?? []), i]);
    const majority = [...votes.values()].find((group) => group.length * 2 > hashes.size);
    const split = votes.size > 1;
    let newlyForked = false;
    const now = Date.now();
    for (const [i, h] of health.entries()) {
      const t = this.#tracks[i]!;
      const head = latest[i];
      if (head === undefined) continue;
      const behind = best - head;
      t.lag = behind >= LAG_BLOCKS ? t.lag + 1 : 0;
      const offMajority = split && majority !== undefined && hashes.has(i) && !majority.includes(i);
      t.fork = offMajority ? t.fork + 1 : 0;
      const clean = behind <= 1 && !offMajority;
      t.fine = clean ? t.fine + 1 : 0;
      if (t.lag >= ROUNDS && !t.lagging) {
        t.lagging = true;
        this.#alerter.raise({
          key: this.#key("lag", h.name),
          event: "RPC_PROVIDER_LAGGING",
          severity: "high",
          system: "rpc_providers",
          chain: this.#chain,
          details: { provider: h.name, head, best, blocksBehind: behind },
        });
      }
      if (t.fork >= ROUNDS && !t.forked) {
        t.forked = true;
        newlyForked = true;
        const majorityHash = [...votes.entries()].find(([, g]) => g === majority)?.[0];
        this.#raiseForked(
          h.name,
          height,
          hashes.get(i)!,
          majorityHash!,
          majority!.map((m) => health[m]!.name),
        );
      }
      if (t.fine >= ROUNDS) {
        if (t.lagging) this.#alerter.clear(this.#key("lag", h.name), { provider: h.name });
        t.lagging = false;
        if (t.forked) this.#alerter.clear(this.#key("fork", h.name), { provider: h.name });
        t.forked = false;
        // A rate limit is over once its wait has passed and the provider answered since.
        if (t.rateLimited && rpc.backoffUntil[i]! <= now) {
          this.#alerter.clear(this.#key("rate", h.name), { provider: h.name });
          t.rateLimited = false;
        }
      }
      if (t.methods.size > 0 && now - t.methodErrorMs > METHOD_QUIET_MS) {
        this.#alerter.clear(this.#key("method", h.name), { provider: h.name });
        this.#alerter.clear(this.#key("batch", h.name), { provider: h.name });
        t.methods.clear();
      }
      h.suspect = t.forked
        ? `on a fork: block ${height} is ${hashes.get(i)?.slice(0, 10)}… where the others say otherwise`
        : t.lagging
          ? `lagging ${behind} blocks behind the best head (${best})`
          : t.rateLimited && rpc.backoffUntil[i]! > now
            ? "rate-limited"
            : undefined;
    }
    this.#disagreeRounds = split && majority === undefined ? this.#disagreeRounds + 1 : 0;
    this.#agreeRounds = split ? 0 : this.#agreeRounds + 1;
    if (this.#disagreeRounds >= ROUNDS && !this.disagree) {
      this.disagree = true;
      this.#alerter.raise({
        key: this.#key("disagree"),
        event: "RPC_PROVIDERS_DISAGREE",
        severity: "critical",
        system: "rpc_providers",
        chain: this.#chain,
        details: {
          block: height,
          hashes: Object.fromEntries([...hashes].map(([i, hash]) => [health[i]!.name, hash])),
        },
      });
    }
    if (this.disagree && this.#agreeRounds >= ROUNDS) {
      this.disagree = false;
      this.#alerter.clear(this.#key("disagree"));
    }
    return { heads, activeSuspect: health[rpc.active]!.suspect, newlyForked, disagree: this.disagree };
  }
}
