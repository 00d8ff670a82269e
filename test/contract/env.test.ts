import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  ENV,
  readSutLab,
  readSutWiring,
  rpcVariable,
  SUT_VARIABLES,
  type SutEnvVars,
  sutEnv,
} from "../../harness/contract/env.ts";
import { FiredrillError } from "../../harness/errors.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const A = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const KEY = `0x${"11".repeat(32)}`;

function labJson(chains: string[]) {
  return {
    version: 1,
    clockSpeedup: 60,
    chains: Object.fromEntries(
      chains.map((name, i) => [
        name,
        {
          chainId: i + 1,
          rpc: { primary: `http://127.0.0.1:${9000 + i}`, secondary: `http://127.0.0.1:${9100 + i}` },
          blockTimeMs: 500,
          contracts: { stablecoin: A(1), vault: A(2), usdc: A(3), ethUsdFeed: A(4), usdcUsdFeed: A(5) },
        },
      ]),
    ),
    oracles: { sources: { chainlink: "http://127.0.0.1:9200" } },
    regulator: { url: "http://127.0.0.1:9300" },
    accounts: { operator: { address: A(9), privateKey: KEY }, users: [] },
  };
}

/** The FD code and message of what `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof FiredrillError) return `${error.code} ${error.message}`;
    throw error;
  }
  throw new Error("expected a FiredrillError");
}

describe("contract environment", () => {
  let dir: string;
  let labFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "firedrill-contract-"));
    labFile = join(dir, "lab.json");
    writeFileSync(labFile, JSON.stringify(labJson(["ethereum", "polygon"])));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const endpoints = () => ({
    labFile,
    rpc: {
      ethereum: { primary: "http://127.0.0.1:1001", secondary: "http://127.0.0.1:1002" },
      polygon: { emergency: "http://127.0.0.1:1003" },
    },
    oracleSources: { chainlink: "http://127.0.0.1:2001", pyth: "http://127.0.0.1:2002" },
    regulatorUrl: "http://127.0.0.1:3001/",
  });
  const wiring = {
    webhookUrl: "http://127.0.0.1:4001/alerts",
    webhookSecret: "secret-0123456789",
    gatewayToken: "token-0123456789",
    port: 5001,
  };

  it("builds the variables a SUT is started with", () => {
    expect(sutEnv(endpoints(), wiring)).to.deep.equal({
      FIREDRILL_LAB: labFile,
      FIREDRILL_RPC_ETHEREUM_PRIMARY: "http://127.0.0.1:1001",
      FIREDRILL_RPC_ETHEREUM_SECONDARY: "http://127.0.0.1:1002",
      FIREDRILL_RPC_POLYGON_EMERGENCY: "http://127.0.0.1:1003",
      FIREDRILL_ORACLE_URLS: "chainlink=http://127.0.0.1:2001,pyth=http://127.0.0.1:2002",
      FIREDRILL_REGULATOR_URL: "http://127.0.0.1:3001/reports",
      FIREDRILL_ALERT_WEBHOOK: "http://127.0.0.1:4001/alerts",
      FIREDRILL_WEBHOOK_SECRET: "secret-0123456789",
      FIREDRILL_GATEWAY_TOKEN: "token-0123456789",
      FIREDRILL_SUT_PORT: "5001",
    });
    expect(Object.keys(sutEnv(endpoints()))).not.to.include(ENV.sutPort);
  });

  it("reads back what it built, the variables before lab.json", () => {
    const env = sutEnv(endpoints(), wiring);
    const lab = readSutLab(env);
    expect(lab.rpc).to.deep.equal({
      ethereum: [
        { name: "primary", url: "http://127.0.0.1:1001" },
        { name: "secondary", url: "http://127.0.0.1:1002" },
      ],
      // polygon's primary and secondary come from lab.json, its emergency from the variable.
      polygon: [
        { name: "primary", url: "http://127.0.0.1:9001" },
        { name: "secondary", url: "http://127.0.0.1:9101" },
        { name: "emergency", url: "http://127.0.0.1:1003" },
      ],
    });
    expect(lab.oracleSources.map((s) => s.name)).to.deep.equal(["chainlink", "pyth"]);
    expect(lab.regulatorUrl).to.equal("http://127.0.0.1:3001/reports");
    expect(lab.lab.chains["ethereum"]!.contracts!.vault).to.equal(A(2));
    expect(readSutWiring(env)).to.deep.equal(wiring);
  });

  it("falls back to lab.json for unset and empty variables", () => {
    const lab = readSutLab({ FIREDRILL_LAB: labFile, FIREDRILL_ORACLE_URLS: "" });
    expect(lab.oracleSources).to.deep.equal([{ name: "chainlink", url: "http://127.0.0.1:9200" }]);
    expect(lab.regulatorUrl).to.equal("http://127.0.0.1:9300/reports");
    expect(lab.rpc["ethereum"]!.map((p) => p.name)).to.deep.equal(["primary", "secondary"]);
  });

  it("names the variable that is missing or wrong", () => {
    const env: SutEnvVars = sutEnv(endpoints(), wiring);
    expect(failure(() => readSutLab({}))).to.match(/^FD210 FIREDRILL_LAB: not set/);
    expect(failure(() => readSutWiring({ ...env, FIREDRILL_GATEWAY_TOKEN: "" }))).to.match(
      /^FD210 FIREDRILL_GATEWAY_TOKEN: not set/,
    );
    expect(failure(() => readSutWiring({ ...env, FIREDRILL_SUT_PORT: "80a" }))).to.equal(
      "FD210 FIREDRILL_SUT_PORT: expected a port number",
    );
    expect(failure(() => readSutWiring({ ...env, FIREDRILL_SUT_PORT: "70000" }))).to.equal(
      "FD210 FIREDRILL_SUT_PORT: expected a port number",
    );
    expect(failure(() => readSutWiring({ ...env, FIREDRILL_ALERT_WEBHOOK: "127.0.0.1:4001" }))).to.equal(
      "FD210 FIREDRILL_ALERT_WEBHOOK: expected an http(s) URL",
    );
    expect(failure(() => readSutLab({ ...env, FIREDRILL_ORACLE_URLS: "chainlink" }))).to.equal(
      'FD210 FIREDRILL_ORACLE_URLS: "chainlink" is not name=url',
    );
    expect(failure(() => readSutLab({ ...env, [rpcVariable("polygon", "primary")]: "ws://x" }))).to.equal(
      "FD210 FIREDRILL_RPC_POLYGON_PRIMARY: expected an http(s) URL",
    );
  });

  it("refuses a chain with no provider, and a lab.json without an operator, naming the field", () => {
    const bare = labJson(["arbitrum"]);
    delete (bare.chains["arbitrum"] as { rpc?: unknown }).rpc;
    const bareFile = join(dir, "bare.json");
    writeFileSync(bareFile, JSON.stringify(bare));
    expect(failure(() => readSutLab({ FIREDRILL_LAB: bareFile }))).to.equal(
      "FD210 FIREDRILL_RPC_ARBITRUM_PRIMARY: not set, and lab.json has no RPC provider for chain arbitrum",
    );
    const noOperator = { ...labJson(["ethereum"]), accounts: {} };
    writeFileSync(bareFile, JSON.stringify(noOperator));
    expect(failure(() => readSutLab({ FIREDRILL_LAB: bareFile }))).to.match(
      new RegExp(`^FD211 ${bareFile.replace(/[.\\/]/g, "\\$&")} accounts\\.operator: `),
    );
    expect(failure(() => readSutLab({ FIREDRILL_LAB: join(dir, "none.json") }))).to.match(
      /^FD211 .*none\.json: cannot read lab\.json/,
    );
  });

  it("describes every variable as the README's table does", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const table = new Map(
      [...readme.matchAll(/^\| `(FIREDRILL_[A-Z_<>]+)`\s*\| (.+?)\s*\|$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect([...table.keys()]).to.deep.equal(SUT_VARIABLES.map((v) => v.name));
    for (const v of SUT_VARIABLES) expect(table.get(v.name), v.name).to.equal(v.meaning);
  });
});
