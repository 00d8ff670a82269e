import { existsSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { sleep } from "../../harness/process.ts";
import type { Alerter } from "../../harness/stack/alerts.ts";
import { EmergencyProtocols } from "../../harness/stack/emergency.ts";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import type { CollateralMonitor } from "../../harness/stack/monitor.ts";
import { alertsSince, pushFeed, startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("stack emergency protocols and compliance reporter", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack`, reportDeadlineMs: 1500 });
    await until("first read", () => stack.status().chains["ethereum"]?.collateralRatio !== undefined, 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  it("pauses minting, rebalances from the treasury, files the report, and recovers when collateral drops below 1.02", async () => {
    const since = Date.now();
    // USDC depegs to 0.92: the 1.1M USDC behind 1M fdUSD is worth 1.012M, ratio 1.012.
    for (const s of lab.sources) s.prices = { "ETH/USD": 3000, "USDC/USD": 0.92 };
    await pushFeed(lab, "ethereum", "usdcUsdFeed", 0.92);
    const low = await lab.receiver.waitFor((a) => a.event === "CRITICAL_COLLATERAL_LOW", 5000);
    expect(low.details["collateralRatio"] as number).to.be.lessThan(1.02);
    const pause = await lab.receiver.waitFor((a) => a.event === "EMERGENCY_PAUSE", 5000);
    expect(pause.chain).to.equal("ethereum");
    const rebalance = await lab.receiver.waitFor((a) => a.event === "EMERGENCY_REBALANCE", 10_000);
    expect(rebalance.details["asset"]).to.equal("USDC");
    const filed = await lab.receiver.waitFor(
      (a) => a.event === "REPORT_FILED" && a.details["trigger"] === "CRITICAL_COLLATERAL_LOW",
      10_000,
    );
    const report = lab.regulator.filed.find(
      (r) => (r as { incident_id: string }).incident_id === filed.details["incidentId"],
    ) as Record<string, unknown>;
    expect(report).to.not.equal(undefined);
    for (const section of [
      "system_status",
      "collateral_position",
      "outstanding_obligations",
      "remediation_actions",
      "timeline",
    ]) {
      expect(report).to.have.property(section);
    }
    expect(JSON.stringify(report)).not.to.include(lab.accounts.operator.privateKey.slice(2));
    await until(
      "collateral recovered",
      () =>
        alertsSince(lab, since).some(
          (a) => a.event === "RECOVERED" && a.details["condition"] === "CRITICAL_COLLATERAL_LOW",
        ),
      10_000,
    );
    await lab.receiver.waitFor((a) => a.event === "EMERGENCY_RESUME", 10_000);
    expect(stack.status().chains["ethereum"]!.collateralRatio!).to.be.greaterThan(1.05);
    expect(stack.status().chains["ethereum"]!.mintingPaused).to.equal(false);
  });

  it("falls back to a manual submission and keeps its backup when the regulator is down", async () => {
    lab.regulator.up = false;
    const since = Date.now();
    const res = await fetch(`http://127.0.0.1:${stack.port}/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${lab.env["FIREDRILL_GATEWAY_TOKEN"]}` },
    });
    expect(res.status).to.equal(202);
    const fallback = await lab.receiver.waitFor(
      (a) => a.event === "REPORT_FALLBACK" && a.receivedAtMs >= since,
      10_000,
    );
    expect(fallback.details["attempts"] as number).to.be.greaterThan(1);
    const manual = String(fallback.details["manualSubmission"]);
    const backup = String(fallback.details["backup"]);
    expect(existsSync(manual)).to.equal(true);
    expect(existsSync(backup)).to.equal(true);
    expect(readFileSync(manual, "utf8")).to.include("manual submission");
    expect(JSON.parse(readFileSync(backup, "utf8"))).to.have.property("incident_id");
    expect(alertsSince(lab, since).some((a) => a.event === "REPORT_FILED")).to.equal(false);
    lab.regulator.up = true;
  });
});

describe("stack emergency pause: a pause that fails is sent again", () => {
  /** A chain whose pause sends fail `failures` times; `minedAnyway` pauses the vault on a failed send. */
  function fakeChain(failures: number, minedAnyway = false) {
    const vault = { paused: false, sends: 0 };
    const chain = {
      contracts: {},
      own: () => ({ vault: "0x00000000000000000000000000000000000000aa" }),
      signer: () => ({
        send: async () => {
          vault.sends++;
          if (vault.sends <= failures) {
            if (minedAnyway) vault.paused = true;
            throw new Error("secondary: timeout after 250 ms");
          }
          if (vault.paused) throw new Error("execution reverted: NonCriticalOperationsPaused()");
          vault.paused = true;
          return { transactionHash: `0xtx${vault.sends}` };
        },
      }),
      read: async () => [vault.paused],
    };
    const monitor = { chain, state: { nonCriticalPaused: false } } as unknown as CollateralMonitor;
    const alerts: { event: string; details: Record<string, unknown> }[] = [];
    const alerter = {
      emit: (event: string, _s: string, _sys: string, _c: string, details: Record<string, unknown>) =>
        alerts.push({ event, details }),
    } as unknown as Alerter;
    const protocols = new EmergencyProtocols({
      monitors: new Map([["ethereum", monitor]]),
      alerter,
      pauser: { address: "0x01", privateKey: "0x02" } as never,
      treasury: undefined,
      targetRatio: () => 1.5,
    });
    return { vault, alerts, protocols, monitor };
  }

  it("posts the first failure at once, sends again, and posts the pause once mined", async () => {
    const { vault, alerts, protocols, monitor } = fakeChain(2);
    await protocols.pause("ethereum", "CRITICAL_COLLATERAL_LOW");
    expect(alerts.map((a) => a.event)).to.deep.equal(["EMERGENCY_PAUSE_FAILED", "EMERGENCY_PAUSE"]);
    expect(alerts[0]!.details).to.include({ retrying: true, error: "secondary: timeout after 250 ms" });
    expect(alerts[1]!.details).to.include({ attempts: 3, txHash: "0xtx3" });
    expect(vault.sends).to.equal(3);
    expect(monitor.state.nonCriticalPaused).to.equal(true);
  });

  it("takes a pause mined though its answer was lost from the vault, without sending it again", async () => {
    const { vault, alerts, protocols } = fakeChain(1, true);
    await protocols.pause("ethereum", "CRITICAL_COLLATERAL_LOW");
    expect(alerts.map((a) => a.event)).to.deep.equal(["EMERGENCY_PAUSE"]);
    expect(alerts[0]!.details).to.include({ attempts: 1, confirmedBy: "the vault", txHash: null });
    expect(vault.sends).to.equal(1);
  });

  it("stops sending once every reason has cleared, and when the stack closes", async () => {
    const cleared = fakeChain(1_000);
    const pausing = cleared.protocols.pause("ethereum", "CRITICAL_COLLATERAL_LOW");
    await until("a first failure", () => cleared.alerts.length > 0, 5000);
    await cleared.protocols.release("ethereum", "CRITICAL_COLLATERAL_LOW");
    await pausing;
    expect(cleared.vault.sends).to.be.at.most(2);
    expect(cleared.alerts.map((a) => a.event)).to.deep.equal(["EMERGENCY_PAUSE_FAILED"]);

    const closing = fakeChain(1_000);
    const pausing2 = closing.protocols.pause("ethereum", "CRITICAL_COLLATERAL_LOW");
    await until("a first failure", () => closing.alerts.length > 0, 5000);
    await closing.protocols.settle();
    await pausing2;
    // Nothing is sent after the close, over more than two backoffs.
    const sent = closing.vault.sends;
    await sleep(600);
    expect(closing.vault.sends).to.equal(sent);
    expect(sent).to.be.at.most(2);
  });
});
