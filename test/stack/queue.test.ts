import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  bodyHashOf,
  RedemptionQueue,
  type RedemptionRequest,
  redemptionIdOf,
} from "../../harness/stack/queue.ts";

function request(key: string, amount = "1.00"): RedemptionRequest {
  const holder = "0x000000000000000000000000000000000000dEaD";
  return {
    idempotencyKey: key,
    chain: "ethereum",
    holder,
    payTo: holder,
    amount,
    amountWei: (BigInt(Math.round(Number(amount) * 100)) * 10n ** 16n).toString(),
    collateralType: "USDC",
    bodyHash: bodyHashOf({ amount, holder }),
  };
}

describe("stack redemption queue", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "firedrill-queue-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("stores in WAL mode, keeps order, and finds a redemption by id or key after a reopen", async () => {
    const path = join(dir, "q.sqlite");
    const q = new RedemptionQueue(path);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.accept(request(`k${i}`))));
    expect(results.every((r) => r.kind === "created")).to.equal(true);
    expect(existsSync(`${path}-wal`)).to.equal(true);
    q.close();
    const again = new RedemptionQueue(path);
    const open = again.open("ethereum", 100);
    expect(open.map((r) => r.idempotencyKey)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `k${i}`));
    expect(again.get(redemptionIdOf("k7"))?.idempotencyKey).to.equal("k7");
    expect(again.get("k7")?.id).to.equal(redemptionIdOf("k7"));
    expect(again.depth()).to.equal(50);
    again.close();
  });

  it("returns the stored redemption for a replayed key and a conflict for a different body", async () => {
    const q = new RedemptionQueue(join(dir, "q.sqlite"));
    const first = await q.accept(request("same"));
    const [replay, conflict] = await Promise.all([
      q.accept(request("same")),
      q.accept(request("same", "2.00")),
    ]);
    expect(first.kind).to.equal("created");
    expect(replay.kind).to.equal("existing");
    expect(conflict.kind).to.equal("conflict");
    expect(q.depth()).to.equal(1);
    q.close();
  });

  it("moves rows through sending to paid and failed, and counts them", async () => {
    const q = new RedemptionQueue(join(dir, "q.sqlite"));
    await Promise.all([q.accept(request("a")), q.accept(request("b")), q.accept(request("c"))]);
    const [a, b, c] = q.open("ethereum", 10);
    q.markSending([
      { id: a!.id, txHash: "0x01" },
      { id: b!.id, txHash: "0x02" },
    ]);
    expect(q.get(a!.id)?.status).to.equal("sending");
    q.settle([
      { id: a!.id, outcome: "paid", txHash: "0x01" },
      { id: b!.id, outcome: "failed", error: "ERC20InsufficientBalance" },
      { id: c!.id, outcome: "queued", error: "EnforcedPause()" },
    ]);
    expect(q.counts()).to.deep.equal({ queued: 1, sending: 0, paid: 1, failed: 1 });
    expect(q.open("ethereum", 10).map((r) => r.idempotencyKey)).to.deep.equal(["c"]);
    q.close();
  });
});
