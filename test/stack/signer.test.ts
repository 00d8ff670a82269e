import { expect } from "chai";
import { ChainClient } from "../../harness/stack/chain.ts";
import { loadStackConfig } from "../../harness/stack/config.ts";
import { startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";

// The signer keeps nonces locally so that many transactions are in flight at once. A send the
// node refuses leaves a gap that would hold every later transaction back; filling it must not
// reuse a nonce that a transaction signed here still holds.
describe("stack signer: local nonces", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let chain: ChainClient;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    chain = new ChainClient(loadStackConfig(lab.env).chains[0]!);
  });

  after(async () => {
    await lab?.close();
  });

  it("fills the gap a refused send leaves, and reuses no nonce still held", async () => {
    const signer = chain.signer(lab.accounts.users[4]!);
    const to = lab.accounts.users[0]!.address;
    const transfer = { to, data: "0x", valueWei: 1n, gasLimit: 21_000n, timeoutMs: 10_000 };
    const a = await signer.sign({ ...transfer, gasLimit: 1_000n }); // under intrinsic gas: refused
    const queued = [];
    for (let i = 0; i < 5; i++) queued.push(await signer.sign(transfer));
    expect(queued.map((q) => q.nonce)).to.deep.equal([1, 2, 3, 4, 5].map((i) => a.nonce + i));
    const refused = await signer.sendRaw(a.raw, a.hash, a.nonce).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
    // The five are signed and not sent yet (as a batch of the redemption engine is while it
    // is recorded): the next transaction takes the gap's nonce, the one after it the nonce
    // after the five, and the five then go out with theirs.
    const d = await signer.broadcast(transfer);
    const e = await signer.broadcast(transfer);
    expect([d.nonce, e.nonce]).to.deep.equal([a.nonce, a.nonce + 6]);
    await Promise.all(queued.map((q) => signer.sendRaw(q.raw, q.hash, q.nonce)));
    for (const hash of [...queued.map((q) => q.hash), d.hash, e.hash]) {
      const receipt = await signer.confirm(hash, transfer);
      expect(receipt.status).to.equal("0x1");
    }
  });
});
