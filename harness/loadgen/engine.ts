/**
 * The embedded engine: runs a load profile's scenarios against the ops gateway over
 * keep-alive HTTP (undici), doing what `load/mint-redeem.js` does under k6, and returns
 * the same summary data k6 hands to `handleSummary`.
 */
import { randomUUID } from "node:crypto";
import { type Dispatcher, Pool } from "undici";
import {
  IDEMPOTENCY_KEY_HEADER,
  type MintRequest,
  type RedeemRequest,
  ROUTES,
  redemptionPath,
  routeLabel,
} from "../contract/gateway.ts";
import { labError } from "../errors.ts";
import { sleep } from "../process.ts";
import { runScenario, type VuHandle } from "./executors.ts";
import { type Metric, Registry, type SummaryData, type Tags } from "./metrics.ts";
import { maxRunMs, maxVus, type ProfileData } from "./profile.ts";
import { BUCKET_METRICS, bucketOf, withObserved } from "./tally.ts";
import { parseThresholds, type ThresholdSet } from "./thresholds.ts";

export interface EmbeddedOptions {
  profile: ProfileData;
  /** Base URL of the gateway, e.g. `http://127.0.0.1:8080`. */
  target: string;
  /** Bearer token for the gateway. @default "" */
  token?: string;
  /** Stops the run early; the summary covers what ran. */
  signal?: AbortSignal;
  /** Where `RECIPIENT` and `HOLDER` are read, like the script's `__ENV`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Called about once a second while running. */
  onTick?: (tick: LiveTick) => void;
  /** Per-request timeout in ms, like k6's `timeout` param. @default 60000 */
  requestTimeoutMs?: number;
  tty?: { stdout: boolean; stderr: boolean };
}

export interface LiveTick {
  elapsedMs: number;
  vus: number;
  /** Requests per second over the last tick. */
  rps: number;
  /** p95 of http_req_duration so far, ms. */
  p95Ms: number;
  requests: number;
}

export interface EmbeddedResult {
  data: SummaryData;
  thresholdsOk: boolean;
  /** True when the run stopped early: the caller's signal, an `abortOnFail` threshold, or the hard deadline. */
  aborted: boolean;
  abortedBy?: "signal" | "threshold" | "deadline";
}

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

/** Builds the metric registry the script defines (built-ins plus its custom metrics). */
export function scriptRegistry(): Registry {
  const registry = new Registry();
  registry.define("success", "rate");
  registry.define("redemption_settlement_time", "trend", true);
  registry.define("redemptions_failed", "counter");
  registry.define("redemption_settlement_timeouts", "counter");
  for (const bucket of BUCKET_METRICS) registry.define(bucket, "counter");
  return registry;
}

/** Parses a profile's thresholds against the script's metrics (throws `ThresholdError`). */
export function profileThresholds(profile: ProfileData): ThresholdSet[] {
  return parseThresholds(profile.thresholds, scriptRegistry().types());
}

/** Runs the profile and returns k6-shaped summary data; throws `labError` when the target does not answer. */
export async function runEmbedded(options: EmbeddedOptions): Promise<EmbeddedResult> {
  const { profile } = options;
  const registry = scriptRegistry();
  // The profile's budgets, and the observations the script adds to them (tally.ts).
  const sets = parseThresholds(
    withObserved(profile.thresholds, Object.keys(profile.scenarios)),
    registry.types(),
  );
  registry.useThresholds(sets);
  const origin = new URL(options.target);
  const basePath = origin.pathname.replace(/\/+$/, "");
  const urlBase = origin.origin + basePath;
  const scenarios = Object.entries(profile.scenarios);
  const connections = Math.max(1, maxVus(profile));
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const pool = new Pool(origin.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const authorization = `Bearer ${options.token ?? ""}`;
  const settlement = profile.settlement ?? null;
  const req = profile.request ?? {};
  const env = options.env ?? process.env;
  const recipient = env["RECIPIENT"] || req.recipient || DEFAULT_RECIPIENT;
  const holder = env["HOLDER"] || req.holder || DEFAULT_HOLDER;
  // A scenario's own tags go on every sample it makes, as in k6.
  const scenarioTags = new Map(Object.entries(profile.scenarios).map(([name, s]) => [name, s.tags ?? {}]));
  const mintBody = JSON.stringify({ amount: req.mintAmount ?? "1000.00", recipient } satisfies MintRequest);
  const redeemBody = JSON.stringify({
    amount: req.redeemAmount ?? "50.00", // as load/mint-redeem.js, which says why
    holder,
    // The profile's collateral goes as written: one the gateway does not redeem gets its 400.
    collateral_type: (req.collateralType ?? "USDC") as "USDC",
  } satisfies RedeemRequest);

  const m = {
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

  const request = async (
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    name: string,
    scenario: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> => {
    const t = await exchange(pool, { method, path: basePath + path, headers, body }, signal);
    // An interrupted request has no outcome: k6 records nothing for it, nor do we.
    if (signal?.aborted) throw new Error("iteration interrupted");
    const expected = t.status >= 200 && t.status < 400;
    const status = String(t.status);
    const url = urlBase + path;
    const expectedResponse = String(expected);
    const tags: Tags =
      scenario === undefined
        ? { name, method, url, status, expected_response: expectedResponse, group: "::setup" }
        : {
            ...scenarioTags.get(scenario),
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
    registry.get(bucketOf(t.endAt - t.sentAt)).add(1, tags);
    return { status: t.status, body: t.body };
  };

  const idOf = (res: Response): string | undefined => {
    if (res.status === 0) return undefined;
    try {
      const id = (JSON.parse(res.body) as { id?: unknown }).id;
      return typeof id === "string" ? id : undefined;
    } catch {
      return undefined;
    }
  };

  const post = (path: string, body: string, name: string, scenario: string, signal: AbortSignal) =>
    request(
      "POST",
      path,
      body,
      { "content-type": "application/json", authorization, [IDEMPOTENCY_KEY_HEADER]: randomUUID() },
      name,
      scenario,
      signal,
    );

  const mint = async (scenario: string, signal: AbortSignal) => {
    const tags = { ...scenarioTags.get(scenario), scenario };
    const res = await post(ROUTES.mint.path, mintBody, routeLabel("mint"), scenario, signal);
    const okStatus = res.status === 200;
    const okId = idOf(res) !== undefined;
    registry.check("mint status is 200", okStatus, tags);
    registry.check("mint has an id", okId, tags);
    m.success.add(okStatus && okId ? 1 : 0, tags);
  };

  const redeem = async (scenario: string, signal: AbortSignal) => {
    const tags = { ...scenarioTags.get(scenario), scenario };
    const started = Date.now();
    const res = await post(ROUTES.redeem.path, redeemBody, routeLabel("redeem"), scenario, signal);
    const id = idOf(res);
    // 200: paid at once; 202: queued, a success once it settles (as load/mint-redeem.js).
    const queued = res.status === 202;
    registry.check("redeem status is 200 or 202", res.status === 200 || queued, tags);
    registry.check("redeem has an id", id !== undefined, tags);
    const ok = (res.status === 200 || queued) && id !== undefined;
    if (!ok || !queued || settlement === null) {
      m.success.add(ok ? 1 : 0, tags);
      if (!ok || settlement === null) return;
    }
    const deadline = started + settlement.timeoutMs;
    const headers = { authorization };
    while (Date.now() < deadline && !signal.aborted) {
      const st = await request(
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
  };

  // Everything below is bounded: the schedule's own end, then a hard deadline past it.
  const stop = new AbortController();
  let abortedBy: EmbeddedResult["abortedBy"];
  const onAbort = () => {
    abortedBy ??= "signal";
    stop.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const hardDeadline = setTimeout(() => {
    abortedBy ??= "deadline";
    stop.abort();
  }, maxRunMs(profile) + 10_000);

  const started = performance.now();
  let vus = 0;
  let vusMax = 0;
  let lastCount = 0;
  let lastTickAt = started;
  const reqCount = () => (m.reqs.sink.sinkValues(1).values["count"] ?? 0) as number;
  const abortSets = sets.filter((s) => s.thresholds.some((t) => t.abortOnFail));
  const tick = () => {
    const now = performance.now();
    m.vus.add(vus, {});
    m.vusMax.add(vusMax, {});
    const count = reqCount();
    options.onTick?.({
      elapsedMs: now - started,
      vus,
      rps: ((count - lastCount) * 1000) / Math.max(1, now - lastTickAt),
      p95Ms: (m.duration.sink.sinkValues(1).percentile?.(95) ?? 0) as number,
      requests: count,
    });
    lastCount = count;
    lastTickAt = now;
    if (abortSets.length > 0) {
      const { results } = registry.evaluate(now - started);
      for (const set of abortSets) {
        for (const t of set.thresholds) {
          if (
            t.abortOnFail &&
            now - started >= t.delayAbortEvalMs &&
            results.get(set.key)?.get(t.source) === false
          ) {
            abortedBy ??= "threshold";
            stop.abort();
          }
        }
      }
    }
  };
  const ticker = setInterval(tick, 1000);

  try {
    const health = await request(
      "GET",
      ROUTES.health.path,
      undefined,
      { authorization },
      routeLabel("health"),
      undefined,
      stop.signal,
    ).catch(() => ({ status: 0, body: "" }));
    if (health.status === 0 && !stop.signal.aborted) {
      throw labError("load target", `${options.target} does not answer (GET /health)`);
    }
    let nextVu = 1;
    const runs = scenarios.map(([name, config]) =>
      runScenario(config, {
        signal: stop.signal,
        nextVuId: () => nextVu++,
        vusChanged: (delta) => {
          vus += delta;
          if (vus > vusMax) vusMax = vus;
        },
        dropped: () => m.dropped.add(1, { scenario: name }),
        iterationDone: (durationMs, interrupted) => {
          if (interrupted) return;
          const tags = { ...scenarioTags.get(name), scenario: name };
          m.iterations.add(1, tags);
          m.iterationDuration.add(durationMs, tags);
        },
        iterate: (_vu: VuHandle, signal) =>
          config.exec === "mint" ? mint(name, signal) : redeem(name, signal),
      }),
    );
    await Promise.all(runs);
  } finally {
    clearInterval(ticker);
    clearTimeout(hardDeadline);
    options.signal?.removeEventListener("abort", onAbort);
    if (stop.signal.aborted) await pool.destroy();
    else await pool.close();
  }
  tick();
  const durationMs = performance.now() - started;
  const data = registry.summary(durationMs, options.tty ?? { stdout: false, stderr: false });
  const { ok } = registry.evaluate(durationMs);
  return {
    data,
    thresholdsOk: ok,
    aborted: abortedBy !== undefined,
    ...(abortedBy === undefined ? {} : { abortedBy }),
  };
}
