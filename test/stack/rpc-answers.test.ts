// How the reference stack's JSON-RPC client reads a provider's answers: a rate limit, an error
// only a provider gives, a batch refused for its size, and a node's own verdict (a revert),
// each against a stand-in provider that answers as real ones do.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { FailoverRpc, ProviderError, providerFailureOf, RpcError } from "../../harness/stack/rpc.ts";

type Answer = { status?: number; headers?: Record<string, string>; body: unknown };

/** A provider that answers every request with `answer(body)`, and counts them. */
async function standIn(
  answer: (body: unknown) => Answer,
): Promise<{ url: string; hits: unknown[]; server: Server }> {
  const hits: unknown[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => {
      text += d;
    });
    req.on("end", () => {
      const body = JSON.parse(text) as unknown;
      hits.push(body);
      const a = answer(body);
      res
        .writeHead(a.status ?? 200, { "content-type": "application/json", ...a.headers })
        .end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const ok = (body: unknown): Answer =>
  Array.isArray(body)
    ? { body: body.map((c: { id: number }) => ({ jsonrpc: "2.0", id: c.id, result: "0x1" })) }
    : { body: { jsonrpc: "2.0", id: (body as { id: number }).id, result: "0x1" } };

describe("stack JSON-RPC client: what a provider's answer means", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  const provider = async (answer: (body: unknown) => Answer) => {
    const p = await standIn(answer);
    servers.push(p.server);
    return p;
  };

  it("classifies provider-only errors apart from a node's verdict", () => {
    expect(providerFailureOf({ code: -32005, message: "limit exceeded" })).to.equal("rate_limited");
    expect(providerFailureOf({ code: -32000, message: "header not found" })).to.equal("method");
    expect(providerFailureOf({ code: -32005, message: "query returned more than 10000 results" })).to.equal(
      "method",
    );
    expect(providerFailureOf({ code: -32005, message: "batch size 4 exceeds the limit of 3" })).to.equal(
      "batch",
    );
    expect(providerFailureOf({ code: 3, message: "execution reverted" })).to.equal(undefined);
    expect(providerFailureOf({ code: -32603, message: "nonce too low" })).to.equal(undefined);
  });

  it("a 429 backs the provider off for its Retry-After: calls go to the next, then back", async () => {
    let limited = true;
    const primary = await provider((body) =>
      limited ? { status: 429, headers: { "retry-after": "1" }, body: { error: "too many" } } : ok(body),
    );
    const secondary = await provider(ok);
    const rpc = new FailoverRpc([
      { name: "primary", url: primary.url },
      { name: "secondary", url: secondary.url },
    ]);
    const failures: ProviderError[] = [];
    rpc.onProviderFailure = (_, error) => failures.push(error);
    expect(await rpc.call("eth_blockNumber")).to.equal("0x1");
    expect(failures.map((f) => [f.kind, f.retryAfterMs])).to.deep.equal([["rate_limited", 1000]]);
    // Within the wait, the primary is not asked at all.
    await rpc.call("eth_blockNumber");
    expect(primary.hits).to.have.length(1);
    expect(secondary.hits).to.have.length(2);
    limited = false;
    rpc.backoffUntil[0] = Date.now() - 1;
    await rpc.call("eth_blockNumber");
    expect(primary.hits).to.have.length(2);
  });

  it("an error of one method goes to the next provider; a revert does not", async () => {
    const primary = await provider((body) => {
      const { id, method } = body as { id: number; method: string };
      if (method === "eth_call")
        return {
          body: { jsonrpc: "2.0", id, error: { code: 3, message: "execution reverted", data: "0x" } },
        };
      return { body: { jsonrpc: "2.0", id, error: { code: -32000, message: "header not found" } } };
    });
    const secondary = await provider(ok);
    const rpc = new FailoverRpc([
      { name: "primary", url: primary.url },
      { name: "secondary", url: secondary.url },
    ]);
    const kinds: string[] = [];
    rpc.onProviderFailure = (_, error, method) => kinds.push(`${error.kind} ${method}`);
    expect(await rpc.call("eth_getBalance", ["0x0", "latest"])).to.equal("0x1");
    expect(kinds).to.deep.equal(["method eth_getBalance"]);
    const revert = await rpc.call("eth_call", [{}, "latest"]).catch((e: unknown) => e);
    expect(revert).to.be.instanceOf(RpcError);
    expect(secondary.hits).to.have.length(1);
  });

  it("a batch refused for its size is sent again in halves to the same provider, and the size kept", async () => {
    const sizes: number[] = [];
    const primary = await provider((body) => {
      const calls = body as { id: number }[];
      sizes.push(calls.length);
      if (calls.length > 3)
        return {
          body: {
            jsonrpc: "2.0",
            id: null,
            error: { code: -32005, message: `batch size ${calls.length} exceeds the limit of 3` },
          },
        };
      return ok(body);
    });
    const rpc = new FailoverRpc([{ name: "primary", url: primary.url }]);
    const kinds: string[] = [];
    rpc.onProviderFailure = (_, error) => kinds.push(error.kind);
    const calls = Array.from({ length: 10 }, () => ({ method: "eth_blockNumber", params: [] }));
    const results = await rpc.batch(calls);
    expect(results).to.deep.equal(Array(10).fill("0x1"));
    expect(sizes.slice(0, 2)).to.deep.equal([10, 5]);
    expect(Math.max(...sizes.slice(2))).to.be.at.most(3);
    expect(kinds.every((k) => k === "batch")).to.equal(true);
    // Remembered: the next batch goes in pieces the provider takes, without a refusal.
    sizes.length = 0;
    await rpc.batch(calls);
    expect(Math.max(...sizes)).to.be.at.most(3);
  });

  it("every call of a batch refused for rate is the provider's rate limit", async () => {
    const primary = await provider((body) => ({
      body: (body as { id: number }[]).map((c) => ({
        jsonrpc: "2.0",
        id: c.id,
        error: { code: -32005, message: "limit exceeded" },
      })),
    }));
    const rpc = new FailoverRpc([{ name: "primary", url: primary.url }]);
    const error = await rpc.batch([{ method: "eth_blockNumber", params: [] }]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProviderError);
    expect((error as ProviderError).kind).to.equal("rate_limited");
  });
});
