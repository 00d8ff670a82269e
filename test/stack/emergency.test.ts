import { existsSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
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
