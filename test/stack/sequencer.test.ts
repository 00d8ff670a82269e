import { expect } from "chai";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { sendAs, startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack cross-chain manager: arbitrum sequencer uptime feed", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;
  let base: string;
  let headers: Record<string, string>;

  before(async () => {
    // Clock speed-up 720: the sequencer's 1 h grace period is 5 s here.
    lab = await startTestLab({ chains: ["ethereum", "arbitrum"], blockTimeMs: 500, clockSpeedup: 720 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
    base = `http://127.0.0.1:${stack.port}`;
    headers = {
      authorization: `Bearer ${lab.env["FIREDRILL_GATEWAY_TOKEN"]}`,
      "content-type": "application/json",
    };
    await until("minting on ethereum", () => stack.status().mintChain === "ethereum", 10_000);
    // Minting paused on ethereum by its guardian: arbitrum is the only chain left.
    const eth = lab.chains[0]!;
    await sendAs(
      lab,
      "ethereum",
      lab.accounts.guardian.privateKey,
      eth.contracts.vault,
      ["function pauseNonCritical()"],
      "pauseNonCritical",
      [],
    );
    await until("minting on arbitrum", () => stack.status().mintChain === "arbitrum", 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  const setSequencer = (down: boolean) => {
    const arb = lab.chains[1]!;
    return sendAs(
      lab,
      "arbitrum",
      lab.accounts.keeper.privateKey,
      arb.contracts.sequencerUptimeFeed!,
      ["function updateStatus(bool down)"],
      "updateStatus",
      [down],
    );
  };
  const mint = async () => {
    const res = await fetch(`${base}/mint`, {
      method: "POST",
      headers,
      body: JSON.stringify({ amount: "10.00", recipient: lab.accounts.users[0]!.address }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("mints nowhere while the sequencer is down or inside its grace period, then on arbitrum", async () => {
    await setSequencer(true);
    const down = await lab.receiver.waitFor(
      (a) => a.event === "SEQUENCER_DOWN" && a.chain === "arbitrum",
      5000,
    );
    expect(down.system).to.equal("chains");
    expect((await mint()).status).to.equal(503);
    const upAt = Date.now();
    await setSequencer(false);
    // Back up, but inside the grace period: still no mint.
    await new Promise((r) => setTimeout(r, 500));
    if (Date.now() - upAt < 4000) expect(stack.status().mintChain).to.equal(null);
    await lab.receiver.waitFor(
      (a) => a.event === "RECOVERED" && a.details["condition"] === "SEQUENCER_DOWN",
      15_000,
    );
    expect(Date.now() - upAt).to.be.greaterThan(3000);
    const after = await mint();
    expect(after.status, JSON.stringify(after.body)).to.equal(200);
    expect(after.body["chain"]).to.equal("arbitrum");
  });
});
