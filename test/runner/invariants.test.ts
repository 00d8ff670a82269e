// "No accepted redemption lost", against a stand-in gateway that settles redemptions on a
// schedule: every one is asked until it settles, about once each however long the queue, and
// the ones that never settle are named.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import type { LabInfo } from "../../harness/lab/index.ts";
import type { ChainReader } from "../../harness/runner/chain-reader.ts";
import { checkInvariants } from "../../harness/runner/invariants.ts";

describe("invariants: no accepted redemption lost", () => {
  let server: Server;
  let url: string;
  /** When each redemption settles, ms since the epoch; absent: never. */
  const settlesAt = new Map<string, number>();
  const asked = new Map<string, number>();
  let tokens: (string | undefined)[];

  before(async () => {
    server = createServer((req, res) => {
      tokens.push(req.headers.authorization);
      const id = decodeURIComponent((req.url ?? "").split("/").pop() ?? "");
      asked.set(id, (asked.get(id) ?? 0) + 1);
      const at = settlesAt.get(id);
      const status = at !== undefined && Date.now() >= at ? "settled" : "queued";
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, status }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    settlesAt.clear();
    asked.clear();
    tokens = [];
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // No chains: only the redemptions are checked.
  const lab = { chains: {} } as unknown as LabInfo;
  const reader = {} as ChainReader;
  const check = (ids: string[], settleMs: number) =>
    checkInvariants(
      lab,
      reader,
      { url, token: "t0k3n" },
      ids.map((id) => ({ id })),
      settleMs,
    );

  it("asks each redemption until it settles, about once each while a queue drains", async () => {
    const start = Date.now();
    const ids = Array.from({ length: 400 }, (_, i) => `r${i}`);
    // Paid in order, the last one 1.5 s from now.
    for (const [i, id] of ids.entries()) settlesAt.set(id, start + Math.floor((i / ids.length) * 1_500));
    const [lost] = await check(ids, 20_000);
    expect(lost).to.include({ name: "no accepted redemption lost", passed: true });
    expect(lost!.detail).to.equal("all 400 accepted redemptions settled");
    const requests = [...asked.values()].reduce((a, b) => a + b, 0);
    // One per redemption, and one more for each wait of a pass (at most every 250 ms).
    expect(requests).to.be.below(400 + 20);
    expect(new Set(tokens)).to.deep.equal(new Set(["Bearer t0k3n"]));
  });

  it("names the redemptions that never settled, each asked at the end", async () => {
    const ids = ["a", "b", "c", "d"];
    settlesAt.set("a", 0);
    settlesAt.set("c", 0);
    // b never settles: c and d behind it are asked once more at the deadline.
    const [lost] = await check(ids, 600);
    expect(lost).to.include({ passed: false });
    expect(lost!.detail).to.equal(
      "2 of 4 accepted redemptions did not settle within 0.6 s: b (queued), d (queued)",
    );
    expect(asked.get("c")).to.equal(1);
    expect(asked.get("d")).to.equal(1);
    expect(asked.get("b")).to.be.at.least(2);
  });
});
