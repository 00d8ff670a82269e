/**
 * Independent price sources: HTTP servers that report the market with their own small
 * noise, as real oracle networks do. A market fault moves the market; `oracle_stale`
 * and `oracle_deviation` set a source's mode; an outage is a Toxiproxy fault on the
 * source's proxy, so the server itself never lies about being up.
 */
import { PAIRS, type Pair, type SourceName } from "../names.ts";
import type { Random } from "../random.ts";
import { type JsonServer, serveJson } from "./http.ts";
import type { Market } from "./market.ts";

export type SourceMode =
  | { kind: "live" }
  /** Keeps answering with the last price and its old timestamp. */
  | { kind: "frozen"; since: number }
  /** Reports the market times (1 + offset). */
  | { kind: "offset"; offset: number };

export interface PriceQuote {
  pair: Pair;
  price: number;
  updatedAt: string;
  source: SourceName;
}

export interface PriceSource {
  name: SourceName;
  server: JsonServer;
  quote(pair: Pair): PriceQuote;
  mode(): SourceMode;
  setMode(mode: SourceMode): void;
  /** Refreshes the source's noise and timestamp; called by the lab's clock. */
  tick(nowMs: number): void;
}

/** Relative noise each source adds, in parts of the price. @default 0.0003 (0.03%) */
const NOISE = 0.0003;

/** Starts one price source on 127.0.0.1. */
export async function startPriceSource(
  name: SourceName,
  market: Market,
  random: Random,
  port = 0,
): Promise<PriceSource> {
  const rng = random.fork(`source:${name}`);
  let mode: SourceMode = { kind: "live" };
  const last = new Map<Pair, PriceQuote>();
  const refresh = (nowMs: number) => {
    if (mode.kind === "frozen") return;
    for (const pair of PAIRS) {
      const noise = 1 + NOISE * Math.max(-3, Math.min(3, rng.normal()));
      const offset = mode.kind === "offset" ? 1 + mode.offset : 1;
      last.set(pair, {
        pair,
        price: Number((market.price(pair) * noise * offset).toPrecision(10)),
        updatedAt: new Date(nowMs).toISOString(),
        source: name,
      });
    }
  };
  refresh(Date.now());
  const quote = (pair: Pair) => last.get(pair)!;
  const pairOf = (text: string): Pair | undefined =>
    PAIRS.find((p) => p.replace("/", "-") === text.toUpperCase());
  const server = await serveJson(
    `oracle ${name}`,
    {
      "GET /health": () => ({ status: 200, body: { ok: true, source: name } }),
      "GET /prices": () => ({ status: 200, body: { source: name, prices: PAIRS.map(quote) } }),
      "GET /price/:pair": ({ params }) => {
        const pair = pairOf(params["pair"] ?? "");
        return pair
          ? { status: 200, body: quote(pair) }
          : { status: 404, body: { error: `unknown pair ${params["pair"]}; use ETH-USD or USDC-USD` } };
      },
    },
    port,
  );
  return {
    name,
    server,
    quote,
    mode: () => mode,
    setMode(next) {
      mode = next;
      refresh(Date.now());
    },
    tick: refresh,
  };
}
