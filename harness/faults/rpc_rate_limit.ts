/** One RPC provider rate-limits: a share of requests, or those above a rate, are refused as providers refuse them. */
import { z } from "zod";
import { duration, formatDuration } from "../duration.ts";
import { chain, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import { addRule, call, providerUrl, removeRule, rpcPost, ruleId } from "./rpc-rules.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider rate-limits."),
    provider: rpcProvider.describe("The RPC provider that rate-limits."),
    share: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe("Share of requests refused, in (0, 1]; drawn from the run's seed."),
    per_second: z
      .int()
      .min(1)
      .optional()
      .describe("Or: requests per second let through; every request above it in the same second is refused."),
    answer: z
      .enum(["http_429", "rpc_error"])
      .default("http_429")
      .describe(
        "`http_429`: HTTP 429 Too Many Requests with a `Retry-After` header; `rpc_error`: HTTP 200 with JSON-RPC error -32005 `limit exceeded` for every call, as many providers answer.",
      ),
    retry_after: duration.default(1000).describe("What `Retry-After` says, whole seconds (`http_429` only)."),
  })
  .describe("One RPC provider rate-limits the system under test, as providers do during a spike.");

/** Requests a proof sends at most, and how many answered ones a heal proof needs in a row. */
const PROOF_REQUESTS = 200;
const HEALED_IN_A_ROW = 10;

const refused = (a: { status: number; body?: unknown }) =>
  a.status === 429 || (a.body as { error?: { code?: number } } | undefined)?.error?.code === -32005;

export const rpcRateLimit = {
  type: "rpc_rate_limit",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  check: (p) =>
    (p.share === undefined) === (p.per_second === undefined)
      ? [{ path: ["share"], message: "give exactly one of share and per_second" }]
      : [],
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} rate-limits ${p.share !== undefined ? `${Math.round(p.share * 100)}% of requests` : `above ${p.per_second} requests/s`} (${p.answer === "http_429" ? "HTTP 429" : "JSON-RPC -32005"})${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const proxy = `${p.chain}-${p.provider}`;
    const url = providerUrl(ctx, p.chain, p.provider);
    const id = ruleId("rpc_rate_limit");
    await addRule(ctx, proxy, id, {
      kind: "rate_limit",
      ...(p.share !== undefined ? { share: p.share } : { perSecond: p.per_second }),
      answer: p.answer,
      retryAfterSeconds: Math.round(p.retry_after / 1000),
      seed: ctx.random.int(2 ** 31),
    });
    const heal = healOnce(async () => {
      await removeRule(ctx, proxy, id);
      let answered = 0;
      for (let i = 0; i < HEALED_IN_A_ROW; i++) {
        const a = await rpcPost(url, call("eth_blockNumber"));
        if (a.status === 200 && !refused(a)) answered++;
      }
      return proof(
        answered === HEALED_IN_A_ROW,
        `${p.provider} of ${p.chain} answered ${answered} of ${HEALED_IN_A_ROW} requests`,
        {
          answered,
          sent: HEALED_IN_A_ROW,
        },
      );
    });
    // Until the first refusal (a share draws; a rate needs a burst), at most PROOF_REQUESTS.
    let sent = 0;
    let first: { status: number; retryAfter?: string | undefined; body?: unknown } | undefined;
    for (; sent < PROOF_REQUESTS && first === undefined; sent++) {
      const a = await rpcPost(url, call("eth_blockNumber"));
      if (refused(a)) first = a;
    }
    const how =
      first === undefined
        ? "no request refused"
        : first.status === 429
          ? `HTTP 429, Retry-After ${first.retryAfter}`
          : "JSON-RPC error -32005 limit exceeded";
    return {
      proof: proof(first !== undefined, `${p.provider} of ${p.chain}: ${how} (request ${sent})`, {
        sent,
        status: first?.status ?? null,
        retryAfter: first?.retryAfter ?? null,
      }),
      heal,
    };
  },
} as const satisfies FaultDefinition<typeof params>;
