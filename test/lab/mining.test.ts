import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { startMining } from "../../harness/lab/mining.ts";
import { sleep } from "../../harness/process.ts";
import { until } from "../../harness/testing/until.ts";

/** A JSON-RPC node that takes `mineMs` to answer evm_mine and counts the calls in flight. */
async function slowNode(mineMs: number) {
  const node = { failing: false };
  const calls: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let mined = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      calls.push(method);
      const answer = () => res.end(JSON.stringify({ jsonrpc: "2.0", id, result: "0x0" }));
      if (method !== "evm_mine") return answer();
      if (node.failing) return res.end(JSON.stringify({ jsonrpc: "2.0", id, error: { message: "stuck" } }));
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        mined++;
        answer();
      }, mineMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(node, {
    url,
    calls,
    inFlight: () => inFlight,
    mostInFlight: () => mostInFlight,
    mined: () => mined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe("lab block clock", () => {
  it("never asks a node for two blocks at once, however long a block takes", async () => {
    // Blocks every 20 ms on a node that takes 150 ms to mine one.
    const node = await slowNode(150);
    const mining = await startMining([{ name: "ethereum", url: node.url, blockTimeMs: 20 }]);
    try {
      await until("four blocks", () => node.mined() >= 4, 10_000);
      expect(node.mostInFlight()).to.equal(1);
    } finally {
      await mining.close();
      await node.close();
    }
  });

  it("halts a chain only once the block in flight is mined: no block of the old mode lands later", async () => {
    const node = await slowNode(200);
    const mining = await startMining([{ name: "ethereum", url: node.url, blockTimeMs: 10 }]);
    try {
      await until("a block in flight", () => node.inFlight() === 1, 10_000);
      await mining.set("ethereum", { mode: "halted" });
      expect(node.inFlight()).to.equal(0);
      const mined = node.mined();
      const asked = node.calls.filter((m) => m === "evm_mine").length;
      // The halt's own calls come after the last evm_mine, and no evm_mine after them.
      expect(node.calls.slice(-2)).to.deep.equal(["evm_setIntervalMining", "evm_setAutomine"]);
      await mining.set("ethereum", { mode: "halted" });
      expect(node.calls.filter((m) => m === "evm_mine").length).to.equal(asked);
      expect(node.mined()).to.equal(mined);
      expect(mining.state()).to.deep.equal({ ethereum: { mode: "halted" } });
    } finally {
      await mining.close();
      await node.close();
    }
  });

  it("takes changes one at a time: two changes at once leave a single clock", async () => {
    const node = await slowNode(30);
    const mining = await startMining([{ name: "ethereum", url: node.url, blockTimeMs: 10 }]);
    try {
      await Promise.all([
        mining.set("ethereum", { mode: "interval", blockTimeMs: 10 }),
        mining.set("ethereum", { mode: "mixed", blockTimeMs: 10 }),
      ]);
      await until("three more blocks", () => node.mined() >= 3, 10_000);
      expect(node.mostInFlight()).to.equal(1);
      expect(mining.state()).to.deep.equal({ ethereum: { mode: "mixed", blockTimeMs: 10 } });
      // Closed: nothing in flight, and nothing asked for over ten block times.
      await mining.close();
      expect(node.inFlight()).to.equal(0);
      const asked = node.calls.length;
      await sleep(100);
      expect(node.calls.length).to.equal(asked);
    } finally {
      await mining.close();
      await node.close();
    }
  });

  it("says in the lab's log when a node fails block after block, once, and when it mines again", async () => {
    const node = await slowNode(0);
    const said: string[] = [];
    const mining = await startMining([{ name: "polygon", url: node.url, blockTimeMs: 10 }], (line) =>
      said.push(line),
    );
    try {
      node.failing = true;
      await until("a stall said", () => said.length > 0, 10_000);
      const asked = node.calls.length;
      await until("more failed blocks", () => node.calls.length > asked + 3, 10_000);
      expect(said).to.deep.equal(["polygon: no block for 3 tries: evm_mine: stuck"]);
      node.failing = false;
      await until("the return said", () => said.length > 1, 10_000);
      expect(said[1]).to.match(/^polygon: mining again after \d+ failed blocks$/);
    } finally {
      await mining.close();
      await node.close();
    }
  });
});
