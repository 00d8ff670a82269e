// How the reference stack's JSON-RPC client reads a provider's answers: a rate limit, an error
// only a provider gives, a batch refused for its size, and a node's own verdict (a revert),
// each against a stand-in provider that answers as real ones do.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { Alerter } from "../../harness/stack/alerts.ts";
import { ChainClient, ERC20 } from "../../harness/stack/chain.ts";
import { ProviderConsensus, type ProviderHealth } from "../../harness/stack/providers.ts";
import { FailoverRpc, ProviderError, providerFailureOf, RpcError } from "../../harness/stack/rpc.ts";

type Answer = { status?: number; headers?: Record<string, string>; body: unknown };

/** A provider that answers every request with `answer(body)`, and counts them. */
async function standIn(
  answer: (body: unknown) => Answer,
  keepAliveTimeoutMs?: number,
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
  if (keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = keepAliveTimeoutMs;
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
  const provider = async (answer: (body: unknown) => Answer, keepAliveTimeoutMs?: number) => {
    const p = await standIn(answer, keepAliveTimeoutMs);
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

  it("a batch sent whole goes on to the next provider when one call fails for the provider", async () => {
    const primary = await provider((body) => ({
      body: (body as { id: number; method: string }[]).map((c) =>
        c.method === "eth_getBalance"
          ? { jsonrpc: "2.0", id: c.id, error: { code: -32000, message: "header not found" } }
          : { jsonrpc: "2.0", id: c.id, result: "0x2" },
      ),
    }));
    const secondary = await provider(ok);
    const rpc = new FailoverRpc([
      { name: "primary", url: primary.url },
      { name: "secondary", url: secondary.url },
    ]);
    const failures: string[] = [];
    rpc.onProviderFailure = (p, error, method) => failures.push(`${p.name} ${error.kind} ${method}`);
    const calls = [
      { method: "eth_call", params: [{}, "latest"] },
      { method: "eth_getBalance", params: ["0x0", "latest"] },
    ];
    // Not whole: the error is that call's answer.
    const answers = await rpc.batch(calls);
    expect(answers[0]).to.equal("0x2");
    expect(answers[1]).to.be.instanceOf(RpcError);
    expect(failures).to.deep.equal([]);
    // Whole: the provider failed the batch, reported for the method that failed.
    expect(await rpc.batch(calls, 1000, true)).to.deep.equal(["0x1", "0x1"]);
    expect(failures).to.deep.equal(["primary method eth_getBalance"]);
    expect(secondary.hits).to.have.length(1);
  });

  it("reads made in one turn share one batch; a revert fails its own read only", async () => {
    const supply = `0x${5n.toString(16).padStart(64, "0")}`;
    const reverting = "0x000000000000000000000000000000000000dead";
    const primary = await provider((body) => ({
      body: (body as { id: number; params: [{ to: string }] }[]).map((c) =>
        c.params[0].to === reverting
          ? { jsonrpc: "2.0", id: c.id, error: { code: 3, message: "execution reverted", data: "0x" } }
          : { jsonrpc: "2.0", id: c.id, result: supply },
      ),
    }));
    const chain = new ChainClient({
      name: "ethereum",
      chainId: 1,
      blockTimeMs: 1000,
      providers: [{ name: "primary", url: primary.url }],
    });
    const token = "0x0000000000000000000000000000000000000001";
    const reads = await Promise.allSettled([
      chain.read(ERC20, token, "totalSupply"),
      chain.read(ERC20, reverting, "totalSupply"),
      chain.read(ERC20, token, "totalSupply"),
    ]);
    expect(reads.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect((reads[0] as PromiseFulfilledResult<bigint[]>).value[0]).to.equal(5n);
    expect((reads[1] as PromiseRejectedResult).reason).to.be.instanceOf(RpcError);
    expect(primary.hits).to.have.length(1);
    expect(primary.hits[0]).to.have.length(3);
    // A read in a later turn is a batch of its own.
    await chain.read(ERC20, token, "totalSupply");
    expect(primary.hits).to.have.length(2);
  });

  it("a kept-alive connection the provider closed while idle is not used again", async () => {
    const primary = await provider(ok, 50);
    const rpc = new FailoverRpc([{ name: "primary", url: primary.url }]);
    const failures: ProviderError[] = [];
    rpc.onProviderFailure = (_, error) => failures.push(error);
    expect(await rpc.call("eth_blockNumber")).to.equal("0x1");
    // The server closes the idle connection after 50 ms.
    const deadline = Date.now() + 5_000;
    const open = () => new Promise<number>((resolve) => primary.server.getConnections((_, n) => resolve(n)));
    while ((await open()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).to.equal(0);
    expect(await rpc.call("eth_blockNumber")).to.equal("0x1");
    expect(failures).to.deep.equal([]);
  });

  describe("a standby round", () => {
    /** Three providers whose latest block is `latest(i)`; blocks by number from `byNumber`. */
    const providers = async (
      latest: (i: number) => { number: number; hash: string; parentHash: string },
      byNumber: (i: number, n: number) => string,
    ) => {
      const answering = await Promise.all(
        [0, 1, 2].map((i) =>
          provider((body) => {
            const { id, params } = body as { id: number; params: [string] };
            const block =
              params[0] === "latest"
                ? latest(i)
                : { number: Number(params[0]), hash: byNumber(i, Number(params[0])), parentHash: "0x0" };
            const hex = { ...block, number: `0x${block.number.toString(16)}` };
            return { body: { jsonrpc: "2.0", id, result: hex } };
          }),
        ),
      );
      const rpc = new FailoverRpc(
        (["primary", "secondary", "emergency"] as const).map((name, i) => ({ name, url: answering[i]!.url })),
      );
      const health: ProviderHealth[] = rpc.providers.map((p) => ({
        name: p.name,
        ok: true,
        error: undefined,
        head: undefined,
        lastAdvanceMs: 0,
        goodStreak: 0,
        lastCheckMs: 0,
        suspect: undefined,
      }));
      return { answering, rpc, health };
    };

    it("compares the providers at the lowest head's parent without asking those at it again", async () => {
      const { answering, rpc, health } = await providers(
        (i) => ({ number: i === 2 ? 11 : 10, hash: `0xa${i}`, parentHash: "0x99" }),
        () => "0x99",
      );
      const events: string[] = [];
      const consensus = new ProviderConsensus(
        "ethereum",
        3,
        new Alerter({ onAlert: (a) => events.push(a.event) }),
      );
      for (let round = 0; round < 3; round++) await consensus.round(rpc, health, 1000);
      // The two at block 10 named block 9 in their latest; the one at 11 was asked for 9.
      expect(answering.map((a) => a.hits.length)).to.deep.equal([3, 3, 6]);
      expect(events).to.deep.equal([]);
    });

    it("finds a provider on a fork from its latest block's parent", async () => {
      const { rpc, health } = await providers(
        (i) => ({ number: 10, hash: `0xa${i}`, parentHash: i === 1 ? "0xf0" : "0x99" }),
        () => "0x99",
      );
      const events: string[] = [];
      const consensus = new ProviderConsensus(
        "ethereum",
        3,
        new Alerter({ onAlert: (a) => events.push(a.event) }),
      );
      await consensus.round(rpc, health, 1000);
      expect(events).to.deep.equal([]);
      await consensus.round(rpc, health, 1000);
      expect(events).to.deep.equal(["RPC_PROVIDER_FORKED"]);
      expect(health[1]!.suspect).to.match(/^on a fork: block 9 is 0xf0/);
    });
  });
});
