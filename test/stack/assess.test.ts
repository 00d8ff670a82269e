import { expect } from "chai";
import { command } from "../../harness/stack/assess-command.ts";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

describe("firedrill assess", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;
  const saved = { ...process.env };

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum", "polygon"], blockTimeMs: 500 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack` });
    await until("first read", () => stack.status().chains["polygon"]?.collateralRatio !== undefined, 10_000);
    Object.assign(process.env, lab.env, { FIREDRILL_SUT_PORT: String(stack.port) });
  });

  after(async () => {
    for (const key of Object.keys(lab?.env ?? {})) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await stack?.close();
    await lab?.close();
  });

  const run = async (args: string[]) => {
    const out: string[] = [];
    const status = await command(args, { out: (l) => out.push(l), err: (l) => out.push(l), debug: false });
    return { status, text: out.join("\n") };
  };

  it("prints one screen with ratios, oracles, backlog, health, actions and the filled-in alert", async () => {
    const { status, text } = await run([]);
    expect(status).to.equal(0);
    expect(text).to.include("=== EMERGENCY SYSTEM ASSESSMENT ===");
    expect(text).to.match(/ethereum\s+ratio 1\.1000/);
    expect(text).to.include("Redemption backlog: 0");
    expect(text).to.match(/price_oracles\s+ok\s+tier 1/);
    expect(text).to.include("## INCIDENT ALERT - NONE");
    expect(text).not.to.include(lab.accounts.operator.privateKey.slice(2));
  });

  it("rates a deviating oracle critical in --json", async () => {
    lab.sources[2]!.prices = { "ETH/USD": 3300, "USDC/USD": 1 };
    try {
      const { text } = await run(["--json"]);
      const result = JSON.parse(text) as {
        severity: string;
        conditions: { event: string }[];
        alertText: string;
      };
      expect(result.severity).to.equal("critical");
      expect(result.conditions.map((c) => c.event)).to.include("ORACLE_DEVIATION");
      expect(result.alertText).to.include("INCIDENT ALERT - CRITICAL");
    } finally {
      lab.sources[2]!.prices = { "ETH/USD": 3000, "USDC/USD": 1 };
    }
  });
});
