/** Chosen JSON-RPC methods of one provider fail the way real providers fail them; the rest work. */
import { z } from "zod";
import { formatDuration } from "../duration.ts";
import { KNOWN_METHODS } from "../lab/rpc-layer.ts";
import { chain, rpcProvider } from "../names.ts";
import { type FaultDefinition, forText, healOnce } from "./common.ts";
import { proof } from "./context.ts";
import {
  addRule,
  call,
  providerUrl,
  type RpcAnswer,
  removeRule,
  rpcPost,
  ruleId,
  untilShown,
} from "./rpc-rules.ts";

export const params = z
  .strictObject({
    chain: chain.describe("The chain whose provider fails some methods."),
    provider: rpcProvider.describe("The RPC provider that fails them."),
    methods: z
      .array(z.enum(KNOWN_METHODS))
      .min(1)
      .describe("The JSON-RPC methods that fail, e.g. `[eth_getLogs]` or `[eth_call, eth_getBalance]`."),
    error: z
      .enum(["header_not_found", "logs_range", "internal", "timeout"])
      .default("header_not_found")
      .describe(
        "`header_not_found`: JSON-RPC -32000 `header not found`, as a node behind a load balancer answers for a block it has not seen; `logs_range`: `eth_getLogs` over more than `max_block_range` blocks refused with -32005; `internal`: -32603; `timeout`: no answer at all (the request is held).",
      ),
    max_block_range: z
      .int()
      .min(0)
      .optional()
      .describe("With `logs_range`: the widest `eth_getLogs` range answered, in blocks. @default 0"),
  })
  .describe(
    "Chosen JSON-RPC methods of one provider fail the way real providers fail them; every other method works.",
  );

/** A call of `method` for a proof: parameters that a node answers when nothing is wrong. */
function probeCall(method: string): ReturnType<typeof call> {
  const zero = "0x0000000000000000000000000000000000000000";
  const hash = `0x${"0".repeat(64)}`;
  const params: Record<string, unknown[]> = {
    eth_getBlockByNumber: ["latest", false],
    eth_getBlockByHash: [hash, false],
    eth_getLogs: [{ fromBlock: "0x0", toBlock: "latest" }],
    eth_getTransactionByHash: [hash],
    eth_getTransactionReceipt: [hash],
    eth_getTransactionByBlockHashAndIndex: [hash, "0x0"],
    eth_call: [{ to: zero, data: "0x" }, "latest"],
    eth_getBalance: [zero, "latest"],
    eth_getCode: [zero, "latest"],
    eth_getTransactionCount: [zero, "latest"],
    eth_getStorageAt: [zero, "0x0", "latest"],
    eth_estimateGas: [{ to: zero }, "latest"],
    eth_createAccessList: [{ to: zero }, "latest"],
    eth_getProof: [zero, [], "latest"],
    eth_feeHistory: ["0x1", "latest", []],
    eth_sendRawTransaction: ["0x00"],
    eth_sendTransaction: [{ to: zero }],
  };
  return call(method, params[method] ?? []);
}

const INJECTED = new Set(["header not found", "internal error"]);

/** True when `a` is the fault's failure: held, or the error the rule answers. */
function failed(a: RpcAnswer, error: string): boolean {
  if (error === "timeout") return a.status === 0 && a.error === "TIMEOUT";
  const e = (a.body as { error?: { code: number; message: string } } | undefined)?.error;
  if (error === "logs_range") return e?.code === -32005 && /per eth_getLogs/.test(e.message);
  return e !== undefined && INJECTED.has(e.message);
}

export const rpcMethodErrors = {
  type: "rpc_method_errors",
  params,
  window: "required",
  systems: ["rpc_providers"],
  target: (p) => `rpc:${p.chain}:${p.provider}`,
  check: (p) => {
    if (p.error === "logs_range" && p.methods.some((m) => m !== "eth_getLogs"))
      return [{ path: ["methods"], message: "logs_range applies to eth_getLogs only" }];
    if (p.max_block_range !== undefined && p.error !== "logs_range")
      return [{ path: ["max_block_range"], message: "applies only with error: logs_range" }];
    if (new Set(p.methods).size !== p.methods.length)
      return [{ path: ["methods"], message: "names a method twice" }];
    return [];
  },
  describe: (p) =>
    `${p.provider} RPC provider of ${p.chain} fails ${p.methods.join(", ")} (${p.error === "logs_range" ? `ranges over ${p.max_block_range ?? 0} blocks` : p.error.replaceAll("_", " ")})${forText(p, formatDuration)}`,
  async inject(ctx, p) {
    const proxy = `${p.chain}-${p.provider}`;
    const url = providerUrl(ctx, p.chain, p.provider);
    const id = ruleId("rpc_method_errors");
    await addRule(ctx, proxy, id, {
      kind: "method_errors",
      methods: p.methods,
      error: p.error,
      ...(p.max_block_range !== undefined ? { maxBlockRange: p.max_block_range } : {}),
    });
    const timeoutMs = 1_500;
    const probe = (m: string) => rpcPost(url, probeCall(m), timeoutMs);
    const method = p.methods[0]!;
    const other = p.methods.includes("eth_blockNumber") ? "eth_chainId" : "eth_blockNumber";
    const answers = (w: RpcAnswer) =>
      w.status === 200 && (w.body as { result?: unknown } | undefined)?.result !== undefined;
    const [broken, working] = await untilShown(
      () => Promise.all([probe(method), probe(other)]),
      ([b, w]) => failed(b, p.error) && answers(w),
    );
    const otherOk = answers(working);
    return {
      proof: proof(
        failed(broken, p.error) && otherOk,
        `${p.provider} of ${p.chain}: ${method} ${broken.status === 0 ? `no answer in ${timeoutMs} ms` : `answered ${JSON.stringify((broken.body as { error?: unknown } | undefined)?.error ?? "a result")}`}; ${other} ${otherOk ? "still answered" : "did not answer"}`,
        { method, status: broken.status, error: broken.error ?? null, other, otherOk },
      ),
      heal: healOnce(async () => {
        await removeRule(ctx, proxy, id);
        // A busy machine may answer a first probe late: the methods have a few seconds to answer.
        const stillFailing = async () => {
          const after = await Promise.all(p.methods.map(probe));
          return p.methods.filter((_, i) => failed(after[i]!, p.error) || after[i]!.status === 0);
        };
        const still = await untilShown(stillFailing, (s) => s.length === 0);
        return proof(
          still.length === 0,
          still.length === 0
            ? `${p.provider} of ${p.chain} answers ${p.methods.join(", ")} again`
            : `still failing: ${still.join(", ")}`,
          {
            still,
          },
        );
      }),
    };
  },
} as const satisfies FaultDefinition<typeof params>;
