/**
 * A surge of redemptions through the ops gateway, spread over the fault's duration; on a
 * chain that runs a team's deployment, the team's holders redeem its real token on the fork
 * (harness/faults/team-redemptions.ts).
 */
import { z } from "zod";
import { IDEMPOTENCY_KEY_HEADER, type RedeemRequest, ROUTES } from "../contract/gateway.ts";
import { formatDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { jsonBody, send } from "../http.ts";
import { chain } from "../names.ts";
import { poll, sleep } from "../process.ts";
import { percentile } from "../stats.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { type FaultProof, proof } from "./context.ts";
import { teamRedemptionRun } from "./team-redemptions.ts";

/** Requests in flight at once by default: the surge is bounded even when the gateway stalls. */
export const MAX_IN_FLIGHT = 32;
/** The most holders a scenario may have redeeming at once (each is one open connection). */
export const MAX_CONCURRENCY = 5000;
/** How long one request may take, ms (the gateway holds a redeem up to 10 s for settlement). */
export const REQUEST_TIMEOUT_MS = 20_000;
/** Pace of the surge when the fault has no `for`: requests per second. */
const DEFAULT_RATE = 50;

interface Outcome {
  index: number;
  status: number | "error";
  id?: string;
  ms: number;
}

/** A decimal string the gateway accepts ("100", "0.5"), never exponent notation. */
export function amountText(amount: number): string {
  return amount.toFixed(6).replace(/\.?0+$/, "");
}

function tally(outcomes: readonly Outcome[]) {
  const statuses: Record<string, number> = {};
  for (const o of outcomes) statuses[String(o.status)] = (statuses[String(o.status)] ?? 0) + 1;
  const accepted = outcomes.filter((o) => o.status === 200 || o.status === 202);
  const ms = outcomes.map((o) => o.ms);
  return {
    answered: outcomes.length,
    accepted: accepted.length,
    statuses,
    p50Ms: ms.length === 0 ? null : percentile(ms, 50),
    p95Ms: ms.length === 0 ? null : percentile(ms, 95),
    acceptedIds: accepted.flatMap((o) => (o.id ? [o.id] : [])),
  };
}

export const params = z
  .strictObject({
    chain: chain.default("ethereum").describe("Chain the redemptions are paid on."),
    requests: z
      .int()
      .min(1)
      .max(100_000)
      .describe("Redemption requests sent in all, spread evenly over `for`."),
    amount: z
      .number()
      .gt(0)
      .max(1_000_000)
      .default(100)
      .describe("fdUSD per request (on a team's chain, its token)."),
    concurrency: z
      .int()
      .min(1)
      .max(MAX_CONCURRENCY)
      .default(MAX_IN_FLIGHT)
      .describe("Holders redeeming at once: requests in flight at most. A bank run is thousands."),
  })
  .describe(
    "A surge of redemptions through the ops gateway of the system under test (`POST /redeem`), spread over the fault's duration, the lab's user accounts taking turns as holders. On a chain that runs a team's deployment, the holders of its address book (impersonated on the fork) send its real token to its `redemption_address`; healing sends every token back.",
  );

export const redemptionRun = {
  type: "redemption_run",
  params,
  window: "required",
  systems: ["redemption_engine"],
  target: (p) => `redemptions:${p.chain}`,
  describe: (p) =>
    `${p.requests} redemptions of ${p.amount} fdUSD on ${p.chain}${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    if (ctx.lab.chains?.[p.chain]?.team !== undefined) return teamRedemptionRun(ctx, p);
    const gateway = ctx.gateway;
    if (!gateway) {
      throw new FiredrillError(
        "FD320",
        "redemption_run needs the ops gateway of a system under test (run with the reference stack, --sut or --sut-url)",
      );
    }
    const holders = ctx.lab.accounts.users.map((u) => u.address);
    if (holders.length === 0)
      throw new FiredrillError("FD320", "redemption_run: the lab has no user accounts to redeem for");
    const url = new URL(ROUTES.redeem.path, gateway.url).toString();
    const amount = amountText(p.amount);
    // Spread over the fault's duration; keys unique per run so that a later run is no replay.
    const spacingMs = p.for !== undefined ? p.for / p.requests : 1000 / DEFAULT_RATE;
    const runKey = `redemption-run-${Date.now().toString(36)}`;
    const stop = new AbortController();
    const stopped = AbortSignal.any([stop.signal, ctx.signal]);
    const outcomes: Outcome[] = [];
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    const redeem = async (index: number) => {
      const started = performance.now();
      try {
        const response = await send(url, {
          method: "POST",
          headers: {
            authorization: `Bearer ${gateway.token}`,
            [IDEMPOTENCY_KEY_HEADER]: `${runKey}-${index}`,
          },
          body: JSON.stringify({
            amount,
            holder: holders[index % holders.length]!,
            collateral_type: "USDC",
            chain: p.chain,
          } satisfies RedeemRequest),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const body = jsonBody(response);
        outcomes.push({
          index,
          status: response.status,
          ...(typeof body.id === "string" ? { id: body.id } : {}),
          ms: Math.round(performance.now() - started),
        });
      } catch {
        outcomes.push({ index, status: "error", ms: Math.round(performance.now() - started) });
      }
    };
    const startedMs = Date.now();
    const surge = (async () => {
      for (let index = 0; index < p.requests && !stopped.aborted; index++) {
        const dueMs = startedMs + index * spacingMs;
        if (dueMs > Date.now()) await sleep(dueMs - Date.now(), stopped);
        while (inFlight.size >= p.concurrency && !stopped.aborted) await Promise.race(inFlight);
        if (stopped.aborted) break;
        const request: Promise<void> = redeem(index).finally(() => inFlight.delete(request));
        inFlight.add(request);
        sent += 1;
      }
      await Promise.all(inFlight);
    })();
    ctx.log(`redemption_run: ${p.requests} requests to ${url}, one every ${spacingMs.toFixed(1)} ms`);
    // The surge is on once the gateway answers the first requests.
    const firstAnswers = Math.min(p.requests, 5);
    await poll(
      async () => (outcomes.length >= firstAnswers ? true : undefined),
      REQUEST_TIMEOUT_MS,
      20,
      stopped,
    );
    const early = tally(outcomes);
    const summary = (t: ReturnType<typeof tally>, verb: string): FaultProof =>
      proof(
        t.accepted > 0,
        `${verb} ${sent} of ${p.requests} redemption requests of ${amount} fdUSD on ${p.chain}: ${t.accepted} accepted, statuses ${JSON.stringify(t.statuses)}`,
        { url, requested: p.requests, sent, spacingMs, ...t },
      );
    return {
      proof: summary(early, "sent"),
      heal: healOnce(async () => {
        // Paced over `for`, the surge is done by the time the runner heals it; an early heal
        // stops what was not sent yet and waits for the answers in flight.
        stop.abort();
        await surge;
        return summary(tally(outcomes), "surge over, sent");
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
