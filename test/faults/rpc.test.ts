// The JSON-RPC faults on a real lab: each proves it took effect against the chain's node,
// through the provider's proxy as the system under test reaches it, and proves its heal;
// bad parameters are refused before anything is injected.
import { expect } from "chai";
import { rpcBatchLimit } from "../../harness/faults/rpc_batch_limit.ts";
import { rpcDisagree } from "../../harness/faults/rpc_disagree.ts";
import { chainAtLeast, rpcLag } from "../../harness/faults/rpc_lag.ts";
import { rpcMethodErrors } from "../../harness/faults/rpc_method_errors.ts";
import { rpcRateLimit } from "../../harness/faults/rpc_rate_limit.ts";
import { rpcWrongFork } from "../../harness/faults/rpc_wrong_fork.ts";
import { call, rpcPost } from "../../harness/faults/rpc-rules.ts";
import {
  expectProof,
  expectSteady,
  type FaultLab,
  faultContext,
  headOf,
  healLeftovers,
  healTwice,
  startFaultLab,
  track,
} from "./support.ts";

describe("JSON-RPC faults", function () {
  this.timeout(60_000);
  let lab: FaultLab;

  before(async () => {
    lab = await startFaultLab();
  });
  after(async () => {
    await lab?.down();
  });
  afterEach(async () => {
    await healLeftovers();
    await expectSteady(lab.info);
  });

  it("rpc_lag: the provider's head is N blocks behind the node's, then level again", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcLag.params.parse({ chain: "polygon", provider: "primary", blocks: 3 });
    const injected = track(await rpcLag.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    expect(injected.proof.evidence["blocksBehind"]).to.be.within(3, 4);
    // Another provider of the chain is not touched.
    const other = await rpcPost(lab.info.chains.polygon!.rpc.secondary, call("eth_blockNumber"));
    expect(Number((other.body as { result: string }).result)).to.be.at.least(
      (await headOf(lab.info, "polygon")) - 1,
    );
    await healTwice(injected);
  });

  it("rpc_lag on a chain younger than the lag waits for the blocks to lag behind", async () => {
    const ctx = faultContext(lab.info);
    // Arbitrum mines every 250 ms: a chain a few blocks longer comes within seconds.
    const blocks = (await headOf(lab.info, "arbitrum")) + 6;
    await chainAtLeast(ctx, "arbitrum", blocks);
    expect(await headOf(lab.info, "arbitrum")).to.be.at.least(blocks);
  });

  it("rpc_rate_limit: 429 with Retry-After, then every request answered", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcRateLimit.params.parse({
      chain: "ethereum",
      provider: "primary",
      share: 0.5,
      retry_after: "2s",
    });
    const injected = track(await rpcRateLimit.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    expect(injected.proof.evidence).to.include({ status: 429, retryAfter: "2" });
    await healTwice(injected);
  });

  it("rpc_rate_limit per second with -32005", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcRateLimit.params.parse({
      chain: "ethereum",
      provider: "secondary",
      per_second: 3,
      answer: "rpc_error",
    });
    const injected = track(await rpcRateLimit.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    expect(injected.proof.evidence["status"]).to.equal(200);
    await healTwice(injected);
  });

  it("rpc_method_errors: eth_call fails with header not found while eth_blockNumber works", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcMethodErrors.params.parse({ chain: "arbitrum", provider: "primary", methods: ["eth_call"] });
    const injected = track(await rpcMethodErrors.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    await healTwice(injected);
  });

  it("rpc_method_errors: a held method, and a logs range limit", async () => {
    const ctx = faultContext(lab.info);
    const held = rpcMethodErrors.params.parse({
      chain: "ethereum",
      provider: "emergency",
      methods: ["eth_getBalance"],
      error: "timeout",
    });
    const injected = track(await rpcMethodErrors.inject(ctx, { ...held, at: 0 }));
    expectProof(injected.proof);
    await healTwice(injected);
    const logs = rpcMethodErrors.params.parse({
      chain: "ethereum",
      provider: "emergency",
      methods: ["eth_getLogs"],
      error: "logs_range",
      max_block_range: 2,
    });
    const range = track(await rpcMethodErrors.inject(ctx, { ...logs, at: 0 }));
    expectProof(range.proof);
    await healTwice(range);
  });

  it("rpc_batch_limit: a batch over the limit is refused whole, one at the limit answered", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcBatchLimit.params.parse({ chain: "polygon", provider: "secondary", max_batch: 4 });
    const injected = track(await rpcBatchLimit.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    await healTwice(injected);
  });

  it("rpc_wrong_fork: the provider's hash differs from the node's above the fork point only", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcWrongFork.params.parse({ chain: "ethereum", provider: "primary", depth: 3 });
    const injected = track(await rpcWrongFork.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    expect(injected.proof.evidence["agreeAtForkPoint"]).to.equal(true);
    await healTwice(injected);
  });

  it("rpc_disagree: no two providers agree on the hash of one height", async () => {
    const ctx = faultContext(lab.info);
    const p = rpcDisagree.params.parse({ chain: "polygon" });
    const injected = track(await rpcDisagree.inject(ctx, { ...p, at: 0 }));
    expectProof(injected.proof);
    const hashes = Object.values(injected.proof.evidence["providers"] as Record<string, string>);
    expect(new Set(hashes).size).to.equal(3);
    await healTwice(injected);
  });

  it("refuses bad parameters before anything is injected", () => {
    const bad = (fault: { params: { safeParse(x: unknown): { success: boolean } } }, p: object) =>
      expect(fault.params.safeParse(p).success, JSON.stringify(p)).to.equal(false);
    bad(rpcMethodErrors, { chain: "ethereum", provider: "primary", methods: ["eth_getLogz"] });
    bad(rpcRateLimit, { chain: "ethereum", provider: "primary", share: 1.5 });
    bad(rpcLag, { chain: "ethereum", provider: "primary", blocks: 100_000 });
    bad(rpcDisagree, { chain: "ethereum", providers: ["primary"] });
    bad(rpcLag, { chain: "ethereum", provider: "tertiary", blocks: 2 });
    const both = rpcLag.params.parse({ chain: "ethereum", provider: "primary", blocks: 2, behind: "5s" });
    expect(rpcLag.check({ ...both, at: 0 })).to.have.length(1);
    const share = rpcRateLimit.params.parse({ chain: "ethereum", provider: "primary" });
    expect(rpcRateLimit.check({ ...share, at: 0 })[0]?.message).to.match(/exactly one/);
  });
});
