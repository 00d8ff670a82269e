import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parseDuration } from "../../harness/duration.ts";
import { profileThresholds } from "../../harness/loadgen/engine.ts";
import { findK6, k6Duration, profileForK6 } from "../../harness/loadgen/k6.ts";
import {
  loadProfile,
  maxRunMs,
  maxVus,
  parseProfile,
  profileNames,
  SCRIPT_FILE,
  withDuration,
} from "../../harness/loadgen/profile.ts";

const run = promisify(execFile);

describe("load profiles", function () {
  this.timeout(20_000);
  const bin = findK6();

  it("ships smoke, normal, spike, ci and fixed, each with the three budgets", () => {
    expect(profileNames()).to.include.members(["smoke", "normal", "spike", "ci", "fixed"]);
    for (const name of profileNames()) {
      const sets = profileThresholds(loadProfile(name).data);
      const budgets = sets.flatMap((s) => s.thresholds.map((t) => `${s.key} ${t.source}`)).sort();
      expect(budgets, name).to.deep.equal([
        "http_req_duration{scenario:mint} p(95)<30000",
        "http_req_duration{scenario:redeem} p(95)<15000",
        "success rate>0.999",
      ]);
    }
  });

  it("normal is 100 VUs for 5 minutes and spike ramps to 1000", () => {
    expect(maxVus(loadProfile("normal").data)).to.equal(100);
    expect(maxVus(loadProfile("spike").data)).to.equal(1000);
  });

  it("refuses a profile with an unknown executor or field, naming the field", () => {
    expect(() =>
      parseProfile({ scenarios: { a: { executor: "externally-controlled", exec: "mint" } } }, "x.json"),
    ).to.throw(/x\.json scenarios\.a\.executor/);
    expect(() =>
      parseProfile(
        { scenarios: { a: { executor: "constant-vus", exec: "mint", vus: 1, duration: "1 minute" } } },
        "x.json",
      ),
    ).to.throw(/scenarios\.a\.duration: "1 minute" is not a duration/);
  });

  it("--duration scales a ramp's stages and sets a constant executor's duration", () => {
    const spike = withDuration(loadProfile("spike").data, 18_000);
    const mint = spike.scenarios["mint"]!;
    expect(mint.executor).to.equal("ramping-vus");
    if (mint.executor !== "ramping-vus") return;
    expect(mint.stages.map((s) => parseDuration(s.duration))).to.deep.equal([3000, 3000, 6000, 3000, 3000]);
    const normal = withDuration(loadProfile("normal").data, 30_000);
    expect(maxRunMs(normal)).to.equal(60_000); // 30 s plus the 30 s graceful stop
  });

  it("hands k6 its own syntax: no days, no decimals", () => {
    expect([0, 250, 1_500, 90_000, 86_400_000 + 1].map(k6Duration)).to.deep.equal([
      "0s",
      "250ms",
      "1s500ms",
      "1m30s",
      "24h1ms",
    ]);
    const data = parseProfile(
      {
        scenarios: {
          a: {
            executor: "ramping-vus",
            exec: "mint",
            stages: [{ duration: "1.5s", target: 2 }],
            gracefulStop: "1d",
          },
        },
        thresholds: { http_reqs: [{ threshold: "count>0", delayAbortEval: "1m30s" }] },
      },
      "p.json",
    );
    const k6 = profileForK6(data);
    expect(k6.scenarios["a"]).to.deep.include({
      gracefulStop: "24h",
      stages: [{ duration: "1s500ms", target: 2 }],
    });
    expect(k6.thresholds).to.deep.equal({ http_reqs: [{ threshold: "count>0", delayAbortEval: "1m30s" }] });
    expect(data.scenarios["a"], "the profile itself is unchanged").to.deep.include({ gracefulStop: "1d" });
  });

  describe("read by real k6", () => {
    let dir: string;
    before(function () {
      if (bin === undefined) {
        console.log("    (skipped: k6 not found on PATH, K6_BIN or .tools/bin/k6)");
        this.skip();
      }
      dir = mkdtempSync(join(tmpdir(), "fd-profiles-"));
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const inspect = async (env: Record<string, string>) => {
      const args = ["inspect", "--execution-requirements"];
      for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
      const { stdout } = await run(bin!, [...args, SCRIPT_FILE]);
      return JSON.parse(stdout) as { maxVUs: number; totalDuration: string };
    };

    it("k6 accepts every profile and plans the same VUs and total duration", async () => {
      for (const name of profileNames()) {
        const plan = await inspect({ PROFILE: name });
        const data = loadProfile(name).data;
        expect(plan.maxVUs, name).to.equal(maxVus(data));
        expect(parseDuration(plan.totalDuration), name).to.equal(maxRunMs(data));
      }
    });

    it("k6 reads a profile written in firedrill's grammar once it is handed over", async () => {
      const file = join(dir, "days.json");
      const data = parseProfile(
        {
          scenarios: {
            a: { executor: "constant-vus", exec: "mint", vus: 3, duration: "1.5s", gracefulStop: "1d" },
          },
        },
        "days.json",
      );
      writeFileSync(file, JSON.stringify(profileForK6(data)));
      const plan = await inspect({ PROFILE_FILE: file });
      expect(parseDuration(plan.totalDuration)).to.equal(maxRunMs(data));
      expect(plan.maxVUs).to.equal(3);
    });

    it("k6 reads a --duration override from the written profile", async () => {
      const file = join(dir, "spike-1m.json");
      writeFileSync(file, JSON.stringify(profileForK6(withDuration(loadProfile("spike").data, 60_000))));
      const plan = await inspect({ PROFILE_FILE: file });
      expect(parseDuration(plan.totalDuration)).to.equal(90_000);
      expect(plan.maxVUs).to.equal(1000);
    });
  });
});
