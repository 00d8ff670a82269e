/**
 * What the embedded engine does in each iteration, as load/mint-redeem.js does under k6: a
 * mint, or a redemption polled until it settles, against the ops gateway over a keep-alive
 * undici pool. Every request lands in the script's metrics with the tags k6 gives it.
 */
import { randomUUID } from "node:crypto";
import type { Dispatcher, Pool } from "undici";
import {
  IDEMPOTENCY_KEY_HEADER,
  type MintRequest,
  type RedeemRequest,
  ROUTES,
  redemptionPath,
  routeLabel,
} from "../contract/gateway.ts";
import { sleep } from "../process.ts";
import type { Metric, Registry, Tags } from "./metrics.ts";
import type { ProfileData } from "./profile.ts";
import { bucketOf } from "./tally.ts";

/**
 * The lab's first user, as in load/mint-redeem.js: it holds fdUSD and has approved the
 * vault, so its redemptions can be paid; mints go to it too, so a long run never drains it.
 */
const DEFAULT_RECIPIENT = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const DEFAULT_HOLDER = DEFAULT_RECIPIENT;

interface Response {
  status: number;
  body: string;
}

interface Exchange {
  status: number;
  body: string;
  queuedAt: number;
  sentAt: number;
  headersAt: number;
  endAt: number;
}

/**
 * One HTTP exchange through the pool with a raw dispatch handler: it timestamps the moment
 * the request is put on a socket, the response headers and the end, and skips the stream
 * machinery of `request()`. Never rejects: a failure is status 0, like k6.
 */
function exchange(
  pool: Pool,
  req: { method: "GET" | "POST"; path: string; headers: Record<string, string>; body: string | undefined },
  signal: AbortSignal | undefined,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const queuedAt = performance.now();
    const t: Exchange = {
      status: 0,
      body: "",
      queuedAt,
      sentAt: queuedAt,
      headersAt: queuedAt,
      endAt: queuedAt,
    };
    const chunks: Buffer[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    // The iteration's own abort reason: it ends the exchange and is never shown.
    const onAbort = () => controller?.abort(signal?.reason);
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      t.endAt = performance.now();
      if (ok) t.body = chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString();
      else t.status = 0;
      if (t.headersAt < t.sentAt) t.headersAt = t.endAt;
      resolve(t);
    };
    if (signal?.aborted) return finish(false);
    signal?.addEventListener("abort", onAbort, { once: true });
    pool.dispatch(
      { method: req.method, path: req.path, headers: req.headers, body: req.body ?? null },
      {
        onRequestStart(c) {
          controller = c;
          t.sentAt = performance.now();
          if (signal?.aborted) c.abort(signal.reason);
        },
        onResponseStart(_c, statusCode) {
          t.status = statusCode;
          t.headersAt = performance.now();
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          finish(true);
        },
        onResponseError() {
          finish(false);
        },
      },
    );
  });
}

/** The metrics the script writes, built in and its own. */
export function scriptMetrics(registry: Registry) {
  return {
    reqs: registry.get("http_reqs"),
    duration: registry.get("http_req_duration"),
    blocked: registry.get("http_req_blocked"),
    waiting: registry.get("http_req_waiting"),
    receiving: registry.get("http_req_receiving"),
    failed: registry.get("http_req_failed"),
    iterations: registry.get("iterations"),
    iterationDuration: registry.get("iteration_duration"),
    dropped: registry.get("dropped_iterations"),
    vus: registry.get("vus"),
    vusMax: registry.get("vus_max"),
    success: registry.get("success"),
    settlement: registry.get("redemption_settlement_time"),
    redemptionsFailed: registry.get("redemptions_failed"),
    timeouts: registry.get("redemption_settlement_timeouts"),
  } satisfies Record<string, Metric>;
}

export type ScriptMetrics = ReturnType<typeof scriptMetrics>;

export interface ScriptOptions {
  profile: ProfileData;
  /** Base URL of the gateway. */
  target: string;
  token: string;
  /** Where `RECIPIENT` and `HOLDER` are read, like the script's `__ENV`. */
  env: Readonly<Record<string, string | undefined>>;
}

export class GatewayScript {
  readonly #pool: Pool;
  readonly #registry: Registry;
  readonly #m: ScriptMetrics;
  readonly #basePath: string;
  readonly #urlBase: string;
  readonly #authorization: string;
  readonly #settlement: ProfileData["settlement"] | null;
  /** A scenario's own tags go on every sample it makes, as in k6. */
  readonly #scenarioTags: Map<string, Record<string, string>>;
  readonly #mintBody: string;
  readonly #redeemBody: string;

  constructor(pool: Pool, registry: Registry, m: ScriptMetrics, options: ScriptOptions) {
    const { profile } = options;
    this.#pool = pool;
    this.#registry = registry;
    this.#m = m;
    const origin = new URL(options.target);
    this.#basePath = origin.pathname.replace(/\/+$/, "");
    this.#urlBase = origin.origin + this.#basePath;
    this.#authorization = `Bearer ${options.token}`;
    this.#settlement = profile.settlement ?? null;
    const req = profile.request ?? {};
    const recipient = options.env["RECIPIENT"] || req.recipient || DEFAULT_RECIPIENT;
    const holder = options.env["HOLDER"] || req.holder || DEFAULT_HOLDER;
    this.#scenarioTags = new Map(Object.entries(profile.scenarios).map(([name, s]) => [name, s.tags ?? {}]));
    this.#mintBody = JSON.stringify({ amount: req.mintAmount ?? "1000.00", recipient } satisfies MintRequest);
    this.#redeemBody = JSON.stringify({
      amount: req.redeemAmount ?? "50.00", // as load/mint-redeem.js, which says why
      holder,
      // The profile's collateral goes as written: one the gateway does not redeem gets its 400.
      collateral_type: (req.collateralType ?? "USDC") as "USDC",
    } satisfies RedeemRequest);
  }

  /** The tags of a scenario's iterations and checks. */
  tags(scenario: string): Tags {
    return { ...this.#scenarioTags.get(scenario), scenario };
  }

  /** GET /health, as the script's setup does; status 0 when the target does not answer. */
  health(signal: AbortSignal): Promise<Response> {
    return this.#request(
      "GET",
      ROUTES.health.path,
      undefined,
      { authorization: this.#authorization },
      routeLabel("health"),
      undefined,
      signal,
    ).catch(() => ({ status: 0, body: "" }));
  }

  async mint(scenario: string, signal: AbortSignal): Promise<void> {
    const tags = this.tags(scenario);
    const res = await this.#post(ROUTES.mint.path, this.#mintBody, routeLabel("mint"), scenario, signal);
    const okStatus = res.status === 200;
    const okId = idOf(res) !== undefined;
    this.#registry.check("mint status is 200", okStatus, tags);
    this.#registry.check("mint has an id", okId, tags);
    this.#m.success.add(okStatus && okId ? 1 : 0, tags);
  }

  async redeem(scenario: string, signal: AbortSignal): Promise<void> {
    const tags = this.tags(scenario);
    const settlement = this.#settlement;
    const started = Date.now();
    const res = await this.#post(
      ROUTES.redeem.path,
      this.#redeemBody,
      routeLabel("redeem"),
      scenario,
      signal,
    );
    const id = idOf(res);
    // 200: paid at once; 202: queued, a success once it settles (as load/mint-redeem.js).
    const queued = res.status === 202;
    this.#registry.check("redeem status is 200 or 202", res.status === 200 || queued, tags);
    this.#registry.check("redeem has an id", id !== undefined, tags);
    const ok = (res.status === 200 || queued) && id !== undefined;
    if (!ok || !queued || settlement === null) {
      this.#m.success.add(ok ? 1 : 0, tags);
      if (!ok || settlement === null) return;
    }
    await this.#awaitSettlement(id!, scenario, tags, started, queued, signal);
  }

  /** Polls a redemption until it settles or fails, or its settlement time is over. */
  async #awaitSettlement(
    id: string,
    scenario: string,
    tags: Tags,
    started: number,
    queued: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const settlement = this.#settlement!;
    const m = this.#m;
    const deadline = started + settlement.timeoutMs;
    const headers = { authorization: this.#authorization };
    while (Date.now() < deadline && !signal.aborted) {
      const st = await this.#request(
        "GET",
        redemptionPath(id!),
        undefined,
        headers,
        routeLabel("redemption"),
        scenario,
        signal,
      );
      let status: unknown;
      if (st.status === 200) {
        try {
          status = (JSON.parse(st.body) as { status?: unknown }).status;
        } catch {
          status = undefined;
        }
      }
      if (status === "settled") {
        m.settlement.add(Date.now() - started, tags);
        if (queued) m.success.add(1, tags);
        return;
      }
      if (status === "failed") {
        m.redemptionsFailed.add(1, tags);
        if (queued) m.success.add(0, tags);
        return;
      }
      await sleep(settlement.pollMs, signal);
    }
    if (signal.aborted) return;
    m.timeouts.add(1, tags);
    if (queued) m.success.add(0, tags);
  }

  #post(path: string, body: string, name: string, scenario: string, signal: AbortSignal): Promise<Response> {
    return this.#request(
      "POST",
      path,
      body,
      {
        "content-type": "application/json",
        authorization: this.#authorization,
        [IDEMPOTENCY_KEY_HEADER]: randomUUID(),
      },
      name,
      scenario,
      signal,
    );
  }

  /** One request, recorded with the samples and tags k6 records for it; `scenario` undefined in setup. */
  async #request(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    name: string,
    scenario: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const t = await exchange(this.#pool, { method, path: this.#basePath + path, headers, body }, signal);
    // An interrupted request has no outcome: k6 records nothing for it, nor do we.
    if (signal?.aborted) throw signal.reason;
    const m = this.#m;
    const expected = t.status >= 200 && t.status < 400;
    const status = String(t.status);
    const url = this.#urlBase + path;
    const expectedResponse = String(expected);
    const tags: Tags =
      scenario === undefined
        ? { name, method, url, status, expected_response: expectedResponse, group: "::setup" }
        : {
            ...this.#scenarioTags.get(scenario),
            scenario,
            name,
            method,
            url,
            status,
            expected_response: expectedResponse,
            group: "",
          };
    m.reqs.add(1, tags);
    // Like k6: the duration runs from the moment the request goes on a connection;
    // the wait for a free connection before that is `http_req_blocked`.
    m.blocked.add(t.sentAt - t.queuedAt, tags);
    m.duration.add(t.endAt - t.sentAt, tags);
    m.waiting.add(t.headersAt - t.sentAt, tags);
    m.receiving.add(t.endAt - t.headersAt, tags);
    m.failed.add(expected ? 0 : 1, tags);
    this.#registry.get(bucketOf(t.endAt - t.sentAt)).add(1, tags);
    return { status: t.status, body: t.body };
  }
}

function idOf(res: Response): string | undefined {
  if (res.status === 0) return undefined;
  try {
    const id = (JSON.parse(res.body) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
