/**
 * The oracle aggregator: polls every independent price source and reads each chain's
 * on-chain feed; the consensus is the median; a source that stops answering, answers with
 * an old price or deviates from the median is left out, and the price comes from the
 * primary source only while it is healthy (else from the secondary sources).
 */
import { send } from "../http.ts";
import { PAIRS, type Pair } from "../names.ts";
import { median } from "../stats.ts";
import { stallTolerantDeadline } from "./deadline.ts";
import type { OracleFinding } from "./detector.ts";

/** Chainlink's deviation thresholds: an on-chain feed may lag the market by this much. */
export const FEED_DEVIATION: Record<Pair, number> = { "ETH/USD": 0.005, "USDC/USD": 0.0025 };

export interface Quote {
  price: number;
  updatedAtMs: number;
  /** A feed's own heartbeat (a team's real feed on a fork); the lab's pair heartbeat otherwise. */
  heartbeatMs?: number;
}

interface SourceState {
  name: string;
  url: string;
  quotes: Map<Pair, Quote>;
  /** Why the source is unusable, or undefined while it answers. */
  error: string | undefined;
  goodStreak: number;
  lastOkMs: number;
}

export interface Consensus {
  pair: Pair;
  /** Median of the healthy sources (and the fresh primary-chain feed). */
  median: number | undefined;
  /** The price the stack uses: the primary source's, or the secondaries' median. */
  price: number | undefined;
  usedSources: string[];
  primaryActive: boolean;
  /** Largest relative deviation of a healthy source from the median. */
  maxDeviation: number;
}

export interface AggregatorOptions {
  /** Per request. @default 400 */
  timeoutMs?: number;
  /** A source quote older than this is stale. @default 2000 */
  sourceMaxAgeMs?: number;
  /** Feed heartbeat per pair, ms. */
  heartbeatMs: Record<string, number>;
  /** Feed age allowed beyond the heartbeat (keeper tick, block time). @default 3000 */
  heartbeatSlackMs?: number;
  /** Relative deviation threshold. */
  deviation: number;
}

export class OracleAggregator {
  readonly sources: SourceState[];
  /** chain -> pair -> on-chain answer. */
  readonly feeds = new Map<string, Map<Pair, Quote>>();
  readonly #options: Required<AggregatorOptions>;
  #primaryChain: string | undefined;
  /** Completed polls of every source. */
  polls = 0;
  /** Reasons the primary source is set aside even while it looks healthy (a playbook action). */
  readonly secondaryForced = new Set<string>();

  constructor(sources: readonly { name: string; url: string }[], options: AggregatorOptions) {
    this.sources = sources.map((s) => ({
      name: s.name,
      url: s.url.replace(/\/+$/, ""),
      quotes: new Map(),
      error: "not polled yet",
      goodStreak: 0,
      lastOkMs: 0,
    }));
    this.#options = { timeoutMs: 400, sourceMaxAgeMs: 2000, heartbeatSlackMs: 3000, ...options };
  }

  /** The chain whose feed joins the median. */
  set primaryChain(chain: string) {
    this.#primaryChain = chain;
  }

  /** Polls every source once, concurrently. */
  async poll(): Promise<void> {
    await Promise.all(this.sources.map((s) => this.#pollSource(s)));
    this.polls++;
  }

  async #pollSource(s: SourceState): Promise<void> {
    const deadline = stallTolerantDeadline(this.#options.timeoutMs);
    try {
      const response = await send(`${s.url}/prices`, { method: "GET", signal: deadline.signal });
      if (!response.ok) return this.#failed(s, `HTTP ${response.status}`);
      const body = JSON.parse(response.text) as {
        prices?: { pair?: string; price?: unknown; updatedAt?: string }[];
      };
      const now = Date.now();
      let got = 0;
      for (const q of body.prices ?? []) {
        const pair = PAIRS.find((p) => p === q.pair);
        const price = Number(q.price);
        const updatedAtMs = q.updatedAt ? Date.parse(q.updatedAt) : now;
        if (pair && Number.isFinite(price) && price > 0 && Number.isFinite(updatedAtMs)) {
          s.quotes.set(pair, { price, updatedAtMs });
          got++;
        }
      }
      if (got === 0) return this.#failed(s, "no prices in the answer");
      s.goodStreak++;
      s.lastOkMs = now;
      // Two good answers in a row before a failed source counts again.
      if (s.error !== undefined && (s.goodStreak >= 2 || s.error === "not polled yet")) s.error = undefined;
    } catch (error) {
      const e = error as Error;
      this.#failed(s, deadline.signal.aborted ? `no answer within ${this.#options.timeoutMs} ms` : e.message);
    } finally {
      deadline.clear();
    }
  }

  #failed(s: SourceState, why: string): void {
    s.goodStreak = 0;
    s.error = why;
  }

  /** Records an on-chain feed answer read by the collateral monitor. */
  setFeed(chain: string, pair: Pair, quote: Quote): void {
    const m = this.feeds.get(chain) ?? new Map<Pair, Quote>();
    this.feeds.set(chain, m);
    m.set(pair, quote);
  }

  #sourceProblem(s: SourceState, pair: Pair, nowMs: number): string | undefined {
    if (s.error !== undefined) return s.error;
    const q = s.quotes.get(pair);
    if (!q) return "no quote";
    const age = nowMs - q.updatedAtMs;
    if (age > this.#options.sourceMaxAgeMs) return `quote is ${Math.round(age)} ms old`;
    return undefined;
  }

  #feedProblem(pair: Pair, q: Quote, nowMs: number): string | undefined {
    const heartbeat = q.heartbeatMs ?? this.#options.heartbeatMs[pair];
    if (heartbeat === undefined) return undefined;
    const age = nowMs - q.updatedAtMs;
    return age > heartbeat + this.#options.heartbeatSlackMs
      ? `feed updated ${Math.round(age / 1000)} s ago, heartbeat ${Math.round(heartbeat / 1000)} s`
      : undefined;
  }

  /** Consensus per pair and the findings (stale or deviating sources and feeds). */
  evaluate(nowMs = Date.now()): { consensus: Consensus[]; findings: OracleFinding[] } {
    const findings: OracleFinding[] = [];
    const consensus: Consensus[] = [];
    const threshold = this.#options.deviation;
    for (const pair of PAIRS) {
      const healthy: { name: string; price: number }[] = [];
      for (const s of this.sources) {
        const problem = this.#sourceProblem(s, pair, nowMs);
        if (problem) findings.push({ source: s.name, pair, stale: problem });
        else healthy.push({ name: s.name, price: s.quotes.get(pair)!.price });
      }
      const feedPoints: { chain: string; quote: Quote; problem: string | undefined }[] = [];
      for (const [chain, m] of this.feeds) {
        const q = m.get(pair);
        if (!q) continue;
        const problem = this.#feedProblem(pair, q, nowMs);
        feedPoints.push({ chain, quote: q, problem });
        if (problem) findings.push({ source: `feed:${chain}`, pair, chain, stale: problem });
      }
      const primaryFeed = feedPoints.find((f) => f.chain === this.#primaryChain && !f.problem);
      const points = [...healthy.map((h) => h.price), ...(primaryFeed ? [primaryFeed.quote.price] : [])];
      const med = points.length > 0 ? median(points) : undefined;
      let maxDeviation = 0;
      const good: { name: string; price: number }[] = [];
      for (const h of healthy) {
        const deviation = med ? Math.abs(h.price - med) / med : 0;
        maxDeviation = Math.max(maxDeviation, deviation);
        findings.push({ source: h.name, pair, deviation });
        if (deviation <= threshold) good.push(h);
      }
      if (med) {
        for (const f of feedPoints) {
          if (f.problem) continue;
          findings.push({
            source: `feed:${f.chain}`,
            pair,
            chain: f.chain,
            deviation: Math.abs(f.quote.price - med) / med,
            tolerance: FEED_DEVIATION[pair],
          });
        }
      }
      const primaryName = this.sources[0]?.name;
      const primary = this.secondaryForced.size > 0 ? undefined : good.find((g) => g.name === primaryName);
      const secondaries = good.filter((g) => g.name !== primaryName);
      consensus.push({
        pair,
        median: med,
        price: primary
          ? primary.price
          : secondaries.length > 0
            ? median(secondaries.map((g) => g.price))
            : undefined,
        usedSources: primary ? [primary.name] : secondaries.map((g) => g.name),
        primaryActive: primary !== undefined,
        maxDeviation,
      });
    }
    return { consensus, findings };
  }
}
