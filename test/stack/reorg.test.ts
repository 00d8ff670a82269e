import { expect } from "chai";
import { type Alert, Alerter } from "../../harness/stack/alerts.ts";
import { ChainClient } from "../../harness/stack/chain.ts";
import { DEFAULT_THRESHOLDS, loadStackConfig } from "../../harness/stack/config.ts";
import { CollateralMonitor } from "../../harness/stack/monitor.ts";
import { OracleAggregator } from "../../harness/stack/oracle.ts";
import {
  type FreezableProvider,
  startFreezableProvider,
  startTestLab,
  type TestLab,
} from "../../harness/testing/stack-lab.ts";

// The monitor polls the head a few times per block, but a busy machine may miss a block or
// two: a reorg must be found however many blocks passed between two polls. The chain mines
// only when told here, and the monitor polls only when told, so each case is exact.
describe("stack collateral monitor: reorgs between two polls", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let monitor: CollateralMonitor;
  let alerts: Alert[];
  let newMonitor: (url?: string) => CollateralMonitor;

  const head = async () => Number(await lab.rpc<string>("ethereum", "eth_blockNumber"));
  const mine = (n: number) => lab.rpc("ethereum", "anvil_mine", [`0x${n.toString(16)}`]);
  const reorgs = () => alerts.filter((a) => a.event === "REORG_DETECTED");

  /**
   * The monitor reads the head, and again `burst` blocks later; then the last `depth` blocks
   * are replaced and `after` more are mined before its next read. Returns the alerts'
   * details, each `newHash` checked against the chain and left out.
   */
  const reorgAcrossGap = async (burst: number, depth: number, after: number) => {
    const base = await head();
    await mine(burst);
    await monitor.tick();
    await lab.rpc("ethereum", "anvil_reorg", [depth, []]);
    await mine(after);
    await monitor.tick();
    const found = [];
    for (const { details } of reorgs()) {
      const { newHash, ...rest } = details;
      const block = await lab.rpc<{ hash: string }>("ethereum", "eth_getBlockByNumber", [
        `0x${(rest["block"] as number).toString(16)}`,
        false,
      ]);
      expect(newHash).to.equal(block.hash);
      found.push(rest);
    }
    return { base, found };
  };

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    await lab.rpc("ethereum", "evm_setIntervalMining", [0]);
    const config = loadStackConfig(lab.env);
    alerts = [];
    const alerter = new Alerter({ onAlert: (a) => alerts.push(a) });
    const aggregator = new OracleAggregator(config.oracleSources, {
      heartbeatMs: config.heartbeatMs,
      deviation: DEFAULT_THRESHOLDS.oracleDeviation,
    });
    newMonitor = (url) =>
      new CollateralMonitor(
        new ChainClient(
          url ? { ...config.chains[0]!, providers: [{ name: "primary", url }] } : config.chains[0]!,
        ),
        { alerter, aggregator, onUpdate: () => undefined },
      );
    monitor = newMonitor();
  });

  after(async () => {
    await lab?.close();
  });

  beforeEach(async () => {
    await mine(2);
    await monitor.tick();
    alerts.length = 0;
  });

  it("finds a reorg when the next head it reads is two blocks past the replaced ones", async () => {
    const { base, found } = await reorgAcrossGap(3, 2, 2);
    // It read blocks base + 1 and base + 2, which it had missed, along with base + 3.
    expect(found).to.deep.equal([{ block: base + 5, replacedBlocks: 2, lastKeptBlock: base + 1 }]);
  });

  it("measures the depth of a reorg deeper than the gap, after a burst of blocks it did not see one by one", async () => {
    const { base, found } = await reorgAcrossGap(12, 10, 3);
    expect(found).to.deep.equal([{ block: base + 15, replacedBlocks: 10, lastKeptBlock: base + 2 }]);
  });

  it("finds a reorg that keeps the height (the head it reads replaces the one it saw)", async () => {
    const base = await head();
    await lab.rpc("ethereum", "anvil_reorg", [1, []]);
    await monitor.tick();
    expect(reorgs().map((a) => a.details["replacedBlocks"])).to.deep.equal([1]);
    expect(reorgs()[0]!.details).to.include({ block: base, lastKeptBlock: base - 1 });
  });

  it("raises nothing when blocks only pass between two polls", async () => {
    await mine(7);
    await monitor.tick();
    await mine(1);
    await monitor.tick();
    expect(reorgs()).to.deep.equal([]);
  });

  it("raises nothing for a head that goes back without replacing a block (a lagging provider)", async () => {
    const snapshot = await lab.rpc<string>("ethereum", "evm_snapshot");
    await mine(4);
    await monitor.tick();
    await lab.rpc("ethereum", "evm_revert", [snapshot]);
    await monitor.tick();
    expect(reorgs()).to.deep.equal([]);
  });

  describe("through a provider that refuses batches", () => {
    let provider: FreezableProvider;

    before(async () => {
      provider = await startFreezableProvider(lab.chains[0]!.chain.url);
      provider.refuseBatches(true);
      monitor = newMonitor(provider.url);
    });

    after(() => provider?.close());

    it("still finds a reorg after a gap, by reading the highest block it saw", async () => {
      const { base, found } = await reorgAcrossGap(3, 2, 2);
      // Without the batch it knows base and base + 2 (the parent of base + 3), not base + 1.
      expect(found).to.deep.equal([{ block: base + 5, replacedBlocks: 2, lastKeptBlock: base }]);
    });
  });
});
