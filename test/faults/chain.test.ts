import { expect } from "chai";
import { block, latestRound } from "../../harness/faults/chain.ts";
import { chainHalt } from "../../harness/faults/chain_halt.ts";
import { congestion } from "../../harness/faults/congestion.ts";
import { gasSpike } from "../../harness/faults/gas_spike.ts";
import { reorg } from "../../harness/faults/reorg.ts";
import { rpcCall } from "../../harness/lab/anvil.ts";
import { sleep } from "../../harness/process.ts";
import { until } from "../../harness/testing/until.ts";
import {
  expectMining,
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

const GWEI = 10n ** 9n;

describe("chain faults (JSON-RPC)", function () {
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
    await expectMining(lab.info);
  });

  /** Waits for `count` blocks after the current head; returns the last one. */
  const blocksLater = async (chain: "ethereum" | "polygon" | "arbitrum", count: number) => {
    const ctx = faultContext(lab.info);
    const from = await headOf(lab.info, chain);
    await until(`${count} blocks on ${chain}`, async () => (await headOf(lab.info, chain)) >= from + count);
    return block(ctx, chain, from + count);
  };

  it("gas_spike holds the base fee on every block, and the heal brings the old fee back", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await gasSpike.inject(ctx, {
        ...gasSpike.params.parse({ chain: "arbitrum", gwei: 1000 }),
        at: 0,
        for: 5_000,
      }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence["baseFeeWei"]).to.equal((1000n * GWEI).toString());
    // Held, not just set once: a few blocks later the fee has not decayed.
    const later = await blocksLater("arbitrum", 3);
    expect(later.baseFeePerGas).to.equal(1000n * GWEI);
    const healed = await healTwice(injected);
    expect(BigInt(healed.evidence["baseFeeWei"] as string)).to.be.at.most(
      BigInt(healed.evidence["originalWei"] as string),
    );
    const after = await blocksLater("arbitrum", 2);
    expect(after.baseFeePerGas! < GWEI).to.equal(true);
  });

  it("gas_spike stops re-applying the fee when the run is interrupted", async () => {
    const interrupt = new AbortController();
    const ctx = faultContext(lab.info, { signal: interrupt.signal });
    const injected = track(
      await gasSpike.inject(ctx, { ...gasSpike.params.parse({ chain: "polygon", gwei: 500 }), at: 0 }),
    );
    expectProof(injected.proof);
    interrupt.abort();
    // Left alone, the base fee decays by 12.5% a block.
    await until("the base fee decays", async () => {
      const b = await block(ctx, "polygon", "latest");
      return b.baseFeePerGas! < (500n * GWEI * 7n) / 8n;
    });
    await healTwice(injected);
  });

  it("congestion: slow blocks, a tiny gas limit and a bounded flood; the heal restores all three", async () => {
    const ctx = faultContext(lab.info);
    const gasLimitBefore = (await block(ctx, "ethereum", "latest")).gasLimit;
    const injected = track(
      await congestion.inject(ctx, {
        ...congestion.params.parse({ chain: "ethereum", block_time: "1s", gas_limit: 21_000, flood: 40 }),
        at: 0,
        for: 3_000,
      }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence["gasLimit"]).to.equal(21_000);
    const flood = injected.proof.evidence["flood"] as { sent: number; limit: number };
    expect(flood.limit).to.equal(120);
    expect((injected.proof.evidence["pool"] as { pending: number }).pending).to.be.above(0);
    const healed = await healTwice(injected);
    expect(healed.evidence["gasLimit"]).to.equal(gasLimitBefore);
    expect((healed.evidence["flood"] as { sent: number }).sent).to.be.at.most(120);
    const pool = await rpcCall<{ pending: string }>(lab.info.chains.ethereum!.nodeUrl, "txpool_content");
    const filler = lab.info.accounts.users.at(-1)!.address;
    expect(Object.keys((pool as unknown as { pending: Record<string, unknown> }).pending)).to.not.include(
      filler,
    );
  });

  it("congestion with 12 s blocks proves itself without waiting a block out", async () => {
    const ctx = faultContext(lab.info);
    const started = Date.now();
    const injected = track(
      await congestion.inject(ctx, {
        ...congestion.params.parse({ chain: "arbitrum", block_time: "12s", gas_limit: 1_000_000 }),
        at: 0,
        for: 30_000,
      }),
    );
    expectProof(injected.proof);
    expect(Date.now() - started).to.be.below(6_000);
    expect(injected.proof.evidence).to.include({ intervalMs: 12_000, gasLimit: 1_000_000 });
    await healTwice(injected);
  });

  it("congestion's flood stops when the run is interrupted", async () => {
    const interrupt = new AbortController();
    const ctx = faultContext(lab.info, { signal: interrupt.signal });
    const filler = lab.info.accounts.users.at(-1)!.address;
    const nonce = async () =>
      Number.parseInt(
        await rpcCall<string>(lab.info.chains.polygon!.nodeUrl, "eth_getTransactionCount", [
          filler,
          "pending",
        ]),
        16,
      );
    const injected = track(
      await congestion.inject(ctx, {
        ...congestion.params.parse({ chain: "polygon", flood: 100 }),
        at: 0,
        for: 20_000,
      }),
    );
    expectProof(injected.proof);
    interrupt.abort();
    await new Promise((r) => setTimeout(r, 150));
    const stoppedAt = await nonce();
    await new Promise((r) => setTimeout(r, 400));
    expect(await nonce()).to.equal(stoppedAt);
    await healTwice(injected);
  });

  it("chain_halt on arbitrum: no blocks, the sequencer feed down; the heal mines again and brings it up", async () => {
    const ctx = faultContext(lab.info);
    const sequencer = lab.info.chains.arbitrum!.contracts!.sequencerUptimeFeed!;
    const injected = track(
      await chainHalt.inject(ctx, { ...chainHalt.params.parse({ chain: "arbitrum" }), at: 0, for: 5_000 }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence).to.include({ sequencerDown: true, probeMined: null });
    expect(injected.proof.evidence["headAfter"]).to.equal(injected.proof.evidence["headBefore"]);
    expect((await latestRound(ctx, "arbitrum", sequencer)).answer).to.equal(1n);
    const healed = await healTwice(injected);
    expect(healed.evidence["sequencerUp"]).to.equal(true);
    // Exactly the start-up mode when the lab owns mining; the node alone can only give interval blocks.
    expect(healed.evidence["mode"]).to.equal(healed.evidence["by"] === "lab" ? "mixed" : "interval");
    expect((await latestRound(ctx, "arbitrum", sequencer)).answer).to.equal(0n);
  });

  it("chain_halt on polygon stops mining without a sequencer feed", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await chainHalt.inject(ctx, { ...chainHalt.params.parse({ chain: "polygon" }), at: 0, for: 5_000 }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence["sequencerDown"]).to.equal(undefined);
    const healed = await healTwice(injected);
    expect((healed.evidence["mining"] as { ok: boolean }).ok).to.equal(true);
  });

  it("reorg replaces the last blocks and re-includes their transactions", async () => {
    const ctx = faultContext(lab.info);
    // A transaction in the range to be replaced.
    const user = lab.info.accounts.users[0]!.address;
    await rpcCall(lab.info.chains.ethereum!.nodeUrl, "eth_sendTransaction", [
      { from: user, to: user, value: "0x1" },
    ]);
    const injected = track(
      await reorg.inject(ctx, { ...reorg.params.parse({ chain: "ethereum", depth: 3 }), at: 0 }),
    );
    expectProof(injected.proof);
    const before = injected.proof.evidence["before"] as string[];
    const after = injected.proof.evidence["after"] as string[];
    expect(before).to.have.length(3);
    for (let i = 0; i < 3; i++) expect(after[i]).to.not.equal(before[i]);
    const heights = injected.proof.evidence["heights"] as number[];
    expect((await block(ctx, "ethereum", heights[2]!)).hash).to.equal(after[2]);
    expect(injected.proof.evidence["transactionsAfter"]).to.equal(
      injected.proof.evidence["transactionsBefore"],
    );
    expect(injected.proof.evidence["reincluded"]).to.equal(true);
    await healTwice(injected);
  });
  it("reorg replaces exactly the blocks it read, however late the node takes the reorg", async () => {
    const base = faultContext(lab.info);
    // The reorg reaches the node three arbitrum blocks late, as on a busy machine: the lab's
    // blocks wait for it, so that no block comes between the last look and the reorg.
    const ctx: typeof base = {
      ...base,
      rpc: async (chain, method, params) => {
        if (method === "anvil_reorg") await sleep(750);
        return base.rpc(chain, method, params);
      },
    };
    const injected = track(
      await reorg.inject(ctx, { ...reorg.params.parse({ chain: "arbitrum", depth: 4 }), at: 0 }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence["heights"]).to.have.length(4);
    await healTwice(injected);
  });

  it("reorg deeper than the chain's own history mines past the loaded deployment first", async () => {
    const ctx = faultContext(lab.info);
    const injected = track(
      await reorg.inject(ctx, { ...reorg.params.parse({ chain: "ethereum", depth: 120 }), at: 0 }),
    );
    expectProof(injected.proof);
    expect(injected.proof.evidence["minedFirst"]).to.equal(121);
    expect(injected.proof.evidence["heights"]).to.have.length(120);
    await healTwice(injected);
  });
});
