// Faults on a team's real Chainlink contracts: taking a proxy's answers and giving them back,
// and flipping a sequencer uptime feed, on a fork of a "mainnet-like" node; and the rail that
// keeps all of it off any node the lab did not start.
import { createServer, type Server } from "node:http";
import { expect } from "chai";
import { Interface } from "ethers";
import { type Chain, startAnvil } from "../../harness/lab/anvil.ts";
import {
  assertLocalDevNode,
  proxyFacts,
  setSequencerStatus,
  takeProxy,
} from "../../harness/lab/chainlink.ts";
import { labAccounts } from "../../harness/lab/deploy.ts";
import { type MainnetLike, startMainnetLike } from "../../harness/testing/mainnet-like.ts";

const PROXY = new Interface([
  "function aggregator() view returns (address)",
  "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
]);

describe("faults on real Chainlink contracts, on a fork", function () {
  this.timeout(120_000);
  let mainnet: MainnetLike;
  let fork: Chain;
  const operator = labAccounts().operator.address;

  before(async () => {
    mainnet = await startMainnetLike();
    fork = await startAnvil({
      name: "fork",
      chainId: 1,
      blockTimeMs: 1000,
      fork: { url: mainnet.url, block: mainnet.block },
    });
  });
  after(async () => {
    await fork?.process.stop();
    await mainnet?.stop();
  });

  const rpc = <T>(method: string, params: unknown[] = []) => fork.rpc<T>(method, params);
  const call = async (node: Chain, to: string, fn: string) =>
    PROXY.decodeFunctionResult(
      fn,
      await node.rpc<string>("eth_call", [{ to, data: PROXY.encodeFunctionData(fn) }, "latest"]),
    );

  it("reads a proxy's pair, and refuses an address with no code or one that is no proxy", async () => {
    const facts = await proxyFacts(rpc, mainnet.feeds["ETH/USD"].proxy);
    expect(facts).to.deep.equal({
      aggregator: mainnet.feeds["ETH/USD"].aggregator,
      decimals: 8,
      description: "ETH / USD",
    });
    await expectError(proxyFacts(rpc, mainnet.emptyAddress), /has no code/);
    await expectError(proxyFacts(rpc, mainnet.stablecoin), /is not a Chainlink proxy/);
  });

  it("takes a proxy's answers from its latest round, moves them, and gives them back, proved by reading", async () => {
    const proxy = mainnet.feeds["ETH/USD"].proxy;
    const [, answerBefore, , updatedBefore] = await call(fork, proxy, "latestRoundData");
    const owner = mainnet.proxyOwner;
    const ownerBalance = await rpc<string>("eth_getBalance", [owner, "latest"]);

    const control = await takeProxy(rpc, proxy, operator);
    expect(control.original).to.equal(mainnet.feeds["ETH/USD"].aggregator);
    expect((await call(fork, proxy, "aggregator"))[0]).to.equal(control.controlled);
    // The first round is a copy: the same answer and the same age.
    const first = await control.latest();
    expect([first.answer, first.updatedAt]).to.deep.equal([answerBefore, updatedBefore]);

    await control.transmit(1_500n * 10n ** 8n);
    expect((await control.latest()).answer).to.equal(1_500n * 10n ** 8n);

    const back = await control.giveBack();
    expect(back.ok, back.summary).to.equal(true);
    expect((await call(fork, proxy, "aggregator"))[0]).to.equal(mainnet.feeds["ETH/USD"].aggregator);
    const [, answerAfter, , updatedAfter] = await call(fork, proxy, "latestRoundData");
    expect([answerAfter, updatedAfter]).to.deep.equal([answerBefore, updatedBefore]);
    // The owner's balance reads as before: the gas money firedrill gave it is taken back.
    expect(await rpc<string>("eth_getBalance", [owner, "latest"])).to.equal(ownerBalance);
    // The node the fork was taken from never saw any of it.
    expect((await call(mainnet.chain, proxy, "aggregator"))[0]).to.equal(mainnet.feeds["ETH/USD"].aggregator);
  });

  it("flips the sequencer uptime feed to down and back through its proxy, as the L1 sender", async () => {
    const proxy = mainnet.sequencer.proxy;
    expect((await call(fork, proxy, "latestRoundData"))[1]).to.equal(0n);
    expect(await setSequencerStatus(rpc, proxy, true)).to.equal(1n);
    expect(await setSequencerStatus(rpc, proxy, false)).to.equal(0n);
    expect((await call(mainnet.chain, proxy, "latestRoundData"))[1]).to.equal(0n);
  });

  describe("the rail", () => {
    let server: Server;
    let url: string;
    before(async () => {
      // A JSON-RPC node that is no development node: it knows eth_chainId and nothing of anvil's.
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (d) => {
          body += d;
        });
        req.on("end", () => {
          const { id, method } = JSON.parse(body) as { id: number; method: string };
          res.setHeader("content-type", "application/json");
          res.end(
            JSON.stringify(
              method === "eth_chainId"
                ? { jsonrpc: "2.0", id, result: "0x1" }
                : { jsonrpc: "2.0", id, error: { code: -32601, message: "the method does not exist" } },
            ),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => server.close());

    it("lets a lab's anvil through", async () => {
      await assertLocalDevNode(fork.url, rpc, "chain fork");
    });

    it("refuses a node that is not a development node, and any node off this machine, sending nothing", async () => {
      const { rpcCall } = await import("../../harness/lab/anvil.ts");
      await expectError(
        assertLocalDevNode(url, (m, p) => rpcCall(url, m, p), "chain mainnet"),
        /chain mainnet: not a local development node .*the method does not exist/,
      );
      let sent = 0;
      await expectError(
        assertLocalDevNode(
          "https://eth-mainnet.example.com/v2/KEY",
          async () => {
            sent += 1;
            return undefined as never;
          },
          "chain ethereum",
        ),
        /chain ethereum: eth-mainnet\.example\.com is not this machine/,
      );
      expect(sent).to.equal(0);
    });
  });
});

async function expectError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected an error matching ${pattern}`);
}
