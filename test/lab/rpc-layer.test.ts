// The JSON-RPC layer between a provider's proxy and the node: transparent with no rule, and
// each rule answering as a misbehaving provider does, on a real anvil; a kept-alive connection
// opened before a rule sees the rule at its next request, and the node again once it goes.

import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { type Chain, rpcCall, startAnvil } from "../../harness/lab/anvil.ts";
import { serveJson } from "../../harness/lab/http.ts";
import { type RpcLayers, ruleProblem, startRpcLayers } from "../../harness/lab/rpc-control.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A POST on a kept-alive agent (one socket), as a monitor sends them. */
function post(agent: Agent, url: string, body: unknown): Promise<Answer> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": text.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: raw ? JSON.parse(raw) : undefined,
          });
        });
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

const call = (method: string, params: unknown[] = [], id: unknown = 1) => ({
  jsonrpc: "2.0",
  id,
  method,
  params,
});

describe("JSON-RPC layer", function () {
  this.timeout(60_000);
  let node: Chain;
  let layers: RpcLayers;
  let control: Awaited<ReturnType<typeof serveJson>>;
  let dir: string;
  let url: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const USER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

  const rule = async (body: object) => {
    const answer = await post(new Agent(), `${control.url}/rpc/eth-primary/rules`, body);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  };
  const drop = (id: string) => fetch(`${control.url}/rpc/eth-primary/rules/${id}`, { method: "DELETE" });
  const head = async () => Number(await rpcCall<string>(node.url, "eth_blockNumber"));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rpc-layer-"));
    node = await startAnvil({ name: "eth", chainId: 31337, blockTimeMs: 60_000 });
    await rpcCall(node.url, "anvil_mine", ["0x20"]);
    layers = await startRpcLayers(
      [{ name: "eth", url: node.url, chainId: 31337, blockTimeMs: 60_000 }],
      ["primary"],
      { pidDir: join(dir, "pids"), cacheParent: dir },
    );
    control = await serveJson("control", layers.routes);
    url = layers.layers.get("eth-primary")!.url;
  });
  after(async () => {
    agent.destroy();
    await control?.close();
    await layers?.close();
    await node?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const r of layers.layers.get("eth-primary")!.rules()) await drop(r.id);
  });

  it("passes calls and batches through untouched when no rule is active", async () => {
    const direct = await post(new Agent(), node.url, [
      call("eth_chainId", [], 7),
      call("eth_getBalance", [USER, "latest"], "x"),
    ]);
    const layered = await post(agent, url, [
      call("eth_chainId", [], 7),
      call("eth_getBalance", [USER, "latest"], "x"),
    ]);
    expect(layered).to.deep.include({ status: 200, body: direct.body });
  });

  it("lags: the head, blocks above it and state at latest are those N blocks back", async () => {
    await rule({ id: "lag", kind: "lag", blocks: 5 });
    const real = await head();
    const single = await post(agent, url, call("eth_blockNumber"));
    expect(Number((single.body as { result: string }).result)).to.equal(real - 5);
    const [latest, above, balance] = (
      await post(agent, url, [
        call("eth_getBlockByNumber", ["latest", false], 1),
        call("eth_getBlockByNumber", [`0x${real.toString(16)}`, false], 2),
        call("eth_getBalance", [USER, `0x${real.toString(16)}`], 3),
      ])
    ).body as Array<{ result?: { number: string } | null; error?: { message: string } }>;
    expect(Number(latest!.result!.number)).to.equal(real - 5);
    expect(above!.result).to.equal(null);
    expect(balance!.error?.message).to.equal("header not found");
    // A transfer mined now is not seen by the lagging provider, and is by the node.
    await rpcCall(node.url, "anvil_setBalance", [USER, "0x1"]);
    await rpcCall(node.url, "evm_mine");
    const seen = (await post(agent, url, call("eth_getBalance", [USER, "latest"]))).body as {
      result: string;
    };
    expect(seen.result).to.not.equal("0x1");
    expect(await rpcCall(node.url, "eth_getBalance", [USER, "latest"])).to.equal("0x1");
    await drop("lag");
    const healed = (await post(agent, url, call("eth_blockNumber"))).body as { result: string };
    expect(Number(healed.result)).to.equal(await head());
  });

  it("rate-limits a share of requests with 429 and Retry-After, or with -32005", async () => {
    await rule({ id: "rl", kind: "rate_limit", share: 1, answer: "http_429", retryAfterSeconds: 3, seed: 1 });
    const refused = await post(agent, url, call("eth_blockNumber"));
    expect(refused.status).to.equal(429);
    expect(refused.headers["retry-after"]).to.equal("3");
    await rule({
      id: "rl",
      kind: "rate_limit",
      share: 1,
      answer: "rpc_error",
      retryAfterSeconds: 0,
      seed: 1,
    });
    const batch = await post(agent, url, [call("eth_blockNumber", [], 1), call("eth_chainId", [], 2)]);
    expect(batch.status).to.equal(200);
    expect(batch.body).to.deep.equal([
      { jsonrpc: "2.0", id: 1, error: { code: -32005, message: "limit exceeded" } },
      { jsonrpc: "2.0", id: 2, error: { code: -32005, message: "limit exceeded" } },
    ]);
    await rule({
      id: "rl",
      kind: "rate_limit",
      share: 0.5,
      answer: "http_429",
      retryAfterSeconds: 1,
      seed: 9,
    });
    let refusedCount = 0;
    for (let i = 0; i < 200; i++)
      if ((await post(agent, url, call("eth_blockNumber"))).status === 429) refusedCount++;
    expect(refusedCount).to.be.within(70, 130);
  });

  it("rate-limits above a rate per second", async () => {
    await rule({
      id: "rps",
      kind: "rate_limit",
      perSecond: 5,
      answer: "http_429",
      retryAfterSeconds: 1,
      seed: 1,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await post(agent, url, call("eth_blockNumber"))).status);
    // The window may turn once while the requests are sent: at least 5 pass, at least 2 do not.
    expect(statuses.filter((s) => s === 200).length).to.be.within(5, 10);
    expect(statuses.filter((s) => s === 429).length).to.be.at.least(2);
  });

  it("fails chosen methods only: header not found, a logs range limit, a held request", async () => {
    await rule({ id: "m", kind: "method_errors", methods: ["eth_getBalance"], error: "header_not_found" });
    const [balance, number] = (
      await post(agent, url, [call("eth_getBalance", [USER, "latest"], 1), call("eth_blockNumber", [], 2)])
    ).body as Array<{ result?: string; error?: { code: number; message: string } }>;
    expect(balance!.error).to.deep.equal({ code: -32000, message: "header not found" });
    expect(number!.result).to.match(/^0x/);
    await rule({
      id: "logs",
      kind: "method_errors",
      methods: ["eth_getLogs"],
      error: "logs_range",
      maxBlockRange: 10,
    });
    const real = await head();
    const wide = (await post(agent, url, call("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }])))
      .body as {
      error?: { code: number };
    };
    expect(wide.error?.code).to.equal(-32005);
    const narrow = (
      await post(
        agent,
        url,
        call("eth_getLogs", [{ fromBlock: `0x${(real - 5).toString(16)}`, toBlock: "latest" }]),
      )
    ).body as { result?: unknown[] };
    expect(narrow.result).to.be.an("array");
    await rule({ id: "hold", kind: "method_errors", methods: ["eth_chainId"], error: "timeout" });
    const held = await Promise.race([
      post(new Agent(), url, call("eth_chainId")).then(() => "answered"),
      new Promise((resolve) => setTimeout(() => resolve("held"), 1500)),
    ]);
    expect(held).to.equal("held");
  });

  it("refuses a batch over the limit as one error, and answers one at the limit", async () => {
    await rule({ id: "b", kind: "batch_limit", maxBatch: 3, answer: "rpc_error" });
    const over = await post(
      agent,
      url,
      [1, 2, 3, 4].map((i) => call("eth_blockNumber", [], i)),
    );
    expect(over.body).to.deep.include({
      id: null,
      error: { code: -32005, message: "batch size 4 exceeds the limit of 3" },
    });
    const at = await post(
      agent,
      url,
      [1, 2, 3].map((i) => call("eth_blockNumber", [], i)),
    );
    expect(at.body).to.be.an("array").with.length(3);
    await rule({ id: "b", kind: "batch_limit", maxBatch: 3, answer: "http_400" });
    expect(
      (
        await post(
          agent,
          url,
          [1, 2, 3, 4].map((i) => call("eth_blockNumber", [], i)),
        )
      ).status,
    ).to.equal(400);
  });

  it("serves a diverged fork consistent with itself, and the chain again once the rule goes", async () => {
    const forked = await post(new Agent(), `${control.url}/rpc/eth-primary/fork`, { id: "fork", depth: 4 });
    expect(forked.status, JSON.stringify(forked.body)).to.equal(200);
    const real = await head();
    const h = `0x${(real - 1).toString(16)}`;
    const viaLayer = (await post(agent, url, call("eth_getBlockByNumber", [h, false]))).body as {
      result: { hash: string };
    };
    const onNode = await rpcCall<{ hash: string }>(node.url, "eth_getBlockByNumber", [h, false]);
    expect(viaLayer.result.hash).to.not.equal(onNode.hash);
    const below = `0x${(real - 6).toString(16)}`;
    const common = (await post(agent, url, call("eth_getBlockByNumber", [below, false]))).body as {
      result: { hash: string };
    };
    expect(common.result.hash).to.equal(
      (await rpcCall<{ hash: string }>(node.url, "eth_getBlockByNumber", [below, false])).hash,
    );
    await drop("fork");
    const back = (await post(agent, url, call("eth_getBlockByNumber", [h, false]))).body as {
      result: { hash: string };
    };
    expect(back.result.hash).to.equal(onNode.hash);
  });

  it("closes a connection it cannot follow (a chunked body) when a rule comes, so the rule reaches its client", async () => {
    const chunkedAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const chunked = () =>
      new Promise<unknown>((resolve, reject) => {
        const req = request(
          url,
          { method: "POST", agent: chunkedAgent, headers: { "content-type": "application/json" } },
          (res) => {
            let text = "";
            res.on("data", (d) => {
              text += d;
            });
            res.on("end", () => resolve(JSON.parse(text)));
          },
        );
        req.on("error", reject);
        // No Content-Length: Node sends the body chunked.
        req.write('{"jsonrpc":"2.0","id":1,');
        req.end('"method":"eth_blockNumber","params":[]}');
      });
    const before = (await chunked()) as { result: string };
    expect(Number(before.result)).to.equal(await head());
    await rule({ id: "lag", kind: "lag", blocks: 4 });
    const after = (await chunked()) as { result: string };
    expect(Number(after.result)).to.equal((await head()) - 4);
    chunkedAgent.destroy();
  });

  it("refuses malformed rules at the control API", async () => {
    expect(
      ruleProblem({
        id: "x",
        kind: "rate_limit",
        share: 2,
        answer: "http_429",
        retryAfterSeconds: 1,
        seed: 1,
      }),
    ).to.equal("share must be within 0..1");
    expect(
      ruleProblem({ id: "x", kind: "method_errors", methods: ["eth_nope"], error: "internal" }),
    ).to.equal("unknown method eth_nope");
    const answer = await post(new Agent(), `${control.url}/rpc/eth-primary/rules`, { id: "x", kind: "warp" });
    expect(answer.status).to.equal(400);
    const fork = await post(new Agent(), `${control.url}/rpc/eth-primary/fork`, { id: "f", depth: 10_000 });
    expect(fork.status).to.equal(409);
    expect((fork.body as { error: string }).error).to.match(/beyond the head/);
  });
});
