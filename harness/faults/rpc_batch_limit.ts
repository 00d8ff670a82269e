/** One RPC provider refuses JSON-RPC batches above a size, as providers do. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { chain, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import { addRule, call, providerUrl, removeRule, rpcPost, ruleId, untilShown } from "./rpc-rules.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider limits batches."),
    provider: rpcProvider.describe("The RPC provider that limits batches."),
    max_batch: z
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe("The largest batch answered; a larger one is refused whole."),
    answer: z
      .enum(["rpc_error", "http_400"])
      .default("rpc_error")
      .describe(
        "`rpc_error`: HTTP 200 with a single JSON-RPC error -32005 instead of the batch's replies; `http_400`: HTTP 400 with that error.",
      ),
  })
  .describe(
    "One RPC provider refuses JSON-RPC batches above a size; single calls and smaller batches still work.",
  );

const batch = (n: number) => Array.from({ length: n }, (_, i) => call("eth_blockNumber", [], i + 1));
const answeredWhole = (a: { status: number; body?: unknown }, n: number) =>
  a.status === 200 && Array.isArray(a.body) && a.body.length === n;

export const rpcBatchLimit = {
  type: "rpc_batch_limit",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} refuses batches over ${p.max_batch} calls${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const proxy = `${p.chain}-${p.provider}`;
    const url = providerUrl(ctx, p.chain, p.provider);
    const id = ruleId("rpc_batch_limit");
    await addRule(ctx, proxy, id, { kind: "batch_limit", maxBatch: p.max_batch, answer: p.answer });
    const over = await rpcPost(url, batch(p.max_batch + 1));
    const at = await rpcPost(url, batch(p.max_batch));
    const error = (over.body as { error?: { code: number; message: string } } | undefined)?.error;
    return {
      proof: proof(
        !answeredWhole(over, p.max_batch + 1) && answeredWhole(at, p.max_batch),
        `${p.provider} of ${p.chain}: a batch of ${p.max_batch + 1} got HTTP ${over.status}${error ? ` ${error.code} ${error.message}` : ""}; one of ${p.max_batch} was answered`,
        { overStatus: over.status, overError: error ?? null, atAnswered: answeredWhole(at, p.max_batch) },
      ),
      heal: healOnce(async () => {
        await removeRule(ctx, proxy, id);
        // A busy machine may answer the first batch late: it has a few seconds to be answered whole.
        const again = await untilShown(
          () => rpcPost(url, batch(p.max_batch + 1)),
          (a) => answeredWhole(a, p.max_batch + 1),
        );
        return proof(
          answeredWhole(again, p.max_batch + 1),
          `${p.provider} of ${p.chain} answers a batch of ${p.max_batch + 1} again`,
          {
            status: again.status,
          },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
