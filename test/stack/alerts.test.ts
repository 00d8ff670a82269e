import { expect } from "chai";
import { type Alert, Alerter, scrub } from "../../harness/stack/alerts.ts";

describe("stack alerts", () => {
  it("keeps transaction hashes but never a private key, a bearer token or URL credentials", () => {
    const key = `0x${"ab".repeat(32)}`;
    const hash = `0x${"cd".repeat(32)}`;
    const out = scrub(
      {
        txHash: hash,
        leaked: key,
        nested: [{ error: `POST https://user:pw@rpc.example failed, Bearer abc.def ${key}` }],
      },
      new Set([key]),
    );
    expect(out.txHash).to.equal(hash);
    expect(JSON.stringify(out)).not.to.include("ab".repeat(32));
    expect(JSON.stringify(out)).not.to.include("user:pw");
    expect(JSON.stringify(out)).not.to.include("abc.def");
  });

  it("raises a condition once and posts RECOVERED when it clears", () => {
    const seen: Alert[] = [];
    const alerter = new Alerter({ onAlert: (a) => seen.push(a) });
    const c = {
      key: "detect/backlog",
      event: "REDEMPTION_BACKLOG",
      severity: "critical" as const,
      system: "redemption_engine",
      chain: null,
      details: { pending: 1001 },
    };
    alerter.reconcile("detect/", [c]);
    alerter.reconcile("detect/", [c]);
    alerter.reconcile("detect/", []);
    expect(seen.map((a) => a.event)).to.deep.equal(["REDEMPTION_BACKLOG", "RECOVERED"]);
    expect(seen[1]!.details["condition"]).to.equal("REDEMPTION_BACKLOG");
    expect(seen[0]!.at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("posts an alert a burst of requests causes once per window, counting the ones held back", async () => {
    const seen: Alert[] = [];
    const alerter = new Alerter({ onAlert: (a) => seen.push(a) });
    const failover = (to: string, mintId: number) =>
      alerter.emitEvery(`mint:ethereum>${to}`, 100, "CROSS_CHAIN_FAILOVER", "high", "minting_contracts", to, {
        to,
        mintId,
      });
    expect(failover("polygon", 1)).to.equal(true);
    for (let i = 2; i <= 50; i++) expect(failover("polygon", i)).to.equal(false);
    expect(failover("arbitrum", 51), "another pair has its own window").to.equal(true);
    expect(seen.map((a) => a.details["mintId"])).to.deep.equal([1, 51]);
    await new Promise((r) => setTimeout(r, 120));
    expect(failover("polygon", 52)).to.equal(true);
    expect(seen).to.have.length(3);
    expect(seen[2]!.details).to.deep.equal({ to: "polygon", mintId: 52, heldBack: 49 });
  });

  it("holds alerts back by the detection delay it is given", async () => {
    const seen: { event: string; atMs: number }[] = [];
    const alerter = new Alerter({
      delayMs: 150,
      onAlert: (a) => seen.push({ event: a.event, atMs: Date.now() }),
    });
    const t0 = Date.now();
    alerter.emit("ORACLE_STALE", "high", "price_oracles", null);
    expect(seen).to.have.length(0);
    await new Promise((r) => setTimeout(r, 250));
    expect(seen).to.have.length(1);
    expect(seen[0]!.atMs - t0).to.be.at.least(140);
    alerter.close();
  });
});
