import { networkInterfaces } from "node:os";
import { expect } from "chai";
import { Contract, JsonRpcProvider, Network, Wallet } from "ethers";
import {
  healthSchema,
  mintResponseSchema,
  redemptionPath,
  redemptionSchema,
} from "../../harness/contract/gateway.ts";
import { type RunningStack, startStack } from "../../harness/stack/index.ts";
import { startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

const ERC20 = ["function balanceOf(address) view returns (uint256)"];
const VAULT = [
  "function collateralRatio() view returns (uint256)",
  "function minCollateralRatio() view returns (uint256)",
  "function setMinCollateralRatio(uint256 ratio)",
];

describe("stack gateway", function () {
  this.timeout(60_000);
  let lab: TestLab;
  let stack: RunningStack;
  let base: string;
  let auth: Record<string, string>;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum", "polygon"], blockTimeMs: 500 });
    stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack`, redeemWaitMs: 8000 });
    base = `http://127.0.0.1:${stack.port}`;
    auth = {
      authorization: `Bearer ${lab.env["FIREDRILL_GATEWAY_TOKEN"]}`,
      "content-type": "application/json",
    };
    await until("healthy stack", async () => (await fetch(`${base}/health`)).status === 200, 10_000);
  });

  after(async () => {
    await stack?.close();
    await lab?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: "POST", headers: { ...auth, ...headers }, body: JSON.stringify(body) });

  it("mints on the primary chain", async () => {
    const recipient = lab.accounts.users[0]!.address;
    const res = await post("/mint", { amount: "1000.00", recipient });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(mintResponseSchema.parse(body).chain).to.equal("ethereum");
    expect(body["tx_hash"]).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("keeps a burst of mints within the vault's headroom while the custodian's deposits catch up", async () => {
    const c = lab.chains[0]!;
    const provider = new JsonRpcProvider(c.chain.url, new Network("lab", c.chain.chainId), {
      staticNetwork: true,
    });
    const admin = new Wallet(lab.accounts.deployer.privateKey, provider);
    const vault = new Contract(c.contracts.vault, VAULT, admin);
    const ratio = async () => Number((await vault.getFunction("collateralRatio")()) as bigint) / 1e18;
    const minimum = (await vault.getFunction("minCollateralRatio")()) as bigint;
    // A minimum just under the ratio leaves a few thousand fdUSD of headroom: 100 concurrent
    // mints of 1,000 cross it many times over if they run ahead of the custodian's deposits.
    const tight = BigInt(Math.floor((await ratio()) * 1e18)) - 5n * 10n ** 15n;
    const set = await (await vault.getFunction("setMinCollateralRatio")(tight)).wait();
    try {
      // The monitor reads the vault on every new head, one head at a time: once it sees the
      // second head past the change, it has read the new minimum.
      await until(
        "the monitor reading the new minimum",
        () => (stack.status().chains["ethereum"]?.head ?? 0) > set!.blockNumber + 1,
        5000,
      );
      const recipient = lab.accounts.users[2]!.address;
      const replies = await Promise.all(
        Array.from({ length: 100 }, () => post("/mint", { amount: "1000.00", recipient })),
      );
      const bodies = await Promise.all(replies.map(async (r) => [r.status, await r.text()] as const));
      const failed = bodies.filter(([status]) => status !== 200);
      expect(failed, failed.slice(0, 3).join("\n")).to.deep.equal([]);
      expect(bodies.every(([, text]) => text.includes('"chain":"ethereum"'))).to.equal(true);
      expect(await ratio()).to.be.greaterThan(Number(tight) / 1e18);
    } finally {
      await (await vault.getFunction("setMinCollateralRatio")(minimum)).wait();
      provider.destroy();
    }
  });

  it("pays a redemption once when the same request is posted twice with one key", async () => {
    const holder = lab.accounts.users[1]!;
    const c = lab.chains[0]!;
    const provider = new JsonRpcProvider(c.chain.url, new Network("lab", c.chain.chainId), {
      staticNetwork: true,
    });
    const usdc = new Contract(c.contracts.usdc, ERC20, provider);
    const fdusd = new Contract(c.contracts.stablecoin, ERC20, provider);
    const usdcBefore = (await usdc.getFunction("balanceOf")(holder.address)) as bigint;
    const fdBefore = (await fdusd.getFunction("balanceOf")(holder.address)) as bigint;
    const body = { amount: "500.00", holder: holder.address, collateral_type: "USDC" };
    const key = { "idempotency-key": `redeem-twice-${Date.now()}` };
    const [a, b] = await Promise.all([post("/redeem", body, key), post("/redeem", body, key)]);
    const ja = (await a.json()) as Record<string, unknown>;
    const jb = (await b.json()) as Record<string, unknown>;
    expect([a.status, b.status], JSON.stringify([ja, jb])).to.deep.equal([200, 200]);
    expect(ja["id"]).to.equal(jb["id"]);
    const again = await post("/redeem", body, key);
    expect(again.status).to.equal(200);
    expect(again.headers.get("idempotent-replayed")).to.equal("true");
    const usdcAfter = (await usdc.getFunction("balanceOf")(holder.address)) as bigint;
    const fdAfter = (await fdusd.getFunction("balanceOf")(holder.address)) as bigint;
    expect(usdcAfter - usdcBefore).to.equal(500n * 10n ** 6n);
    expect(fdBefore - fdAfter).to.equal(500n * 10n ** 18n);
    const status = await fetch(`${base}${redemptionPath(String(ja["id"]))}`, { headers: auth });
    expect(redemptionSchema.parse(await status.json()).status).to.equal("settled");
    provider.destroy();
  });

  it("replays a mint posted again with its key instead of minting twice", async () => {
    const recipient = lab.accounts.users[3]!.address;
    const key = { "idempotency-key": `mint-${Date.now()}` };
    const first = await post("/mint", { amount: "5.00", recipient }, key);
    const body = (await first.json()) as Record<string, unknown>;
    expect(first.status).to.equal(200);
    const again = await post("/mint", { amount: "5.00", recipient }, key);
    expect(again.status).to.equal(200);
    expect(again.headers.get("idempotent-replayed")).to.equal("true");
    expect(((await again.json()) as Record<string, unknown>)["tx_hash"]).to.equal(body["tx_hash"]);
    const other = await post("/mint", { amount: "6.00", recipient }, key);
    expect(other.status).to.equal(409);
  });

  it("answers 409 to a replayed key with a different body", async () => {
    const holder = lab.accounts.users[2]!.address;
    const key = { "idempotency-key": `conflict-${Date.now()}` };
    const first = await post("/redeem", { amount: "1.00", holder, collateral_type: "USDC" }, key);
    expect(first.status).to.be.oneOf([200, 202]);
    const second = await post("/redeem", { amount: "2.00", holder, collateral_type: "USDC" }, key);
    expect(second.status).to.equal(409);
  });

  it("rejects a missing or wrong token with 401", async () => {
    const body = JSON.stringify({ amount: "1.00", recipient: lab.accounts.users[0]!.address });
    const none = await fetch(`${base}/mint`, { method: "POST", body });
    expect(none.status).to.equal(401);
    const wrong = await fetch(`${base}/mint`, {
      method: "POST",
      body,
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).to.equal(401);
  });

  it("names the invalid field in a 400", async () => {
    const bad = async (body: unknown, headers: Record<string, string> = {}) => {
      const res = await post("/redeem", body, { "idempotency-key": `bad-${Math.random()}`, ...headers });
      expect(res.status).to.equal(400);
      return ((await res.json()) as { field: string }).field;
    };
    const holder = lab.accounts.users[0]!.address;
    expect(await bad({ amount: "-1", holder })).to.equal("amount");
    expect(await bad({ amount: "1.00", holder: "0x1234" })).to.equal("holder");
    expect(await bad({ amount: "1.00", holder, collateral_type: "DOGE" })).to.equal("collateral_type");
    const noKey = await fetch(`${base}/redeem`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ amount: "1", holder }),
    });
    expect(((await noKey.json()) as { field: string }).field).to.equal("Idempotency-Key");
    const notJson = await fetch(`${base}/mint`, { method: "POST", headers: auth, body: "{" });
    expect(notJson.status).to.equal(400);
    const mint = await post("/mint", { amount: "1.00", recipient: "nope" });
    expect(((await mint.json()) as { field: string }).field).to.equal("recipient");
  });

  it("answers 413 to a body over the limit and 404 to an unknown route", async () => {
    const big = await fetch(`${base}/mint`, { method: "POST", headers: auth, body: "x".repeat(20_000) });
    expect(big.status).to.equal(413);
    const unknown = await fetch(`${base}/nope`, { headers: auth });
    expect(unknown.status).to.equal(404);
    const missing = await fetch(`${base}/redemptions/0x${"00".repeat(32)}`, { headers: auth });
    expect(missing.status).to.equal(404);
  });

  it("reports health per component with its tier, and the KPIs in /metrics without secrets", async () => {
    const health = healthSchema.parse(await (await fetch(`${base}/health`)).json()) as {
      components: Record<string, { status: string; tier: number }>;
    };
    expect(health.components["price_oracles"]!.tier).to.equal(1);
    expect(health.components["api_endpoints"]!.tier).to.equal(2);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      "firedrill_collateral_ratio",
      "firedrill_collateral_efficiency",
      "firedrill_oracle_consensus_deviation",
      "firedrill_redemption_queue_depth",
      "firedrill_cross_chain_sync_lag_seconds",
      "firedrill_mint_success_rate",
      "firedrill_redemption_duration_seconds_bucket",
      "firedrill_gas_efficiency_ratio",
      "firedrill_http_request_duration_seconds_bucket",
    ]) {
      expect(metrics).to.include(name);
    }
    expect(metrics).not.to.include(lab.env["FIREDRILL_GATEWAY_TOKEN"]!);
    expect(metrics).not.to.include(lab.accounts.operator.privateKey.slice(2));
  });

  it("binds loopback only", async function () {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal);
    if (!external) {
      console.log("    (no non-loopback IPv4 interface on this machine: nothing to check)");
      this.skip();
    }
    const refused = await fetch(`http://${external!.address}:${stack.port}/health`, {
      signal: AbortSignal.timeout(2000),
    }).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
