// Mint and redeem against the ops gateway, with the latency budgets as thresholds.
// Profiles (executors, stages, durations, budgets) live in profiles/*.json so that k6 and
// firedrill's embedded engine run the same numbers:
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e PROFILE=smoke load/mint-redeem.js
// The bearer token comes from the environment (GATEWAY_TOKEN or FIREDRILL_GATEWAY_TOKEN),
// never from a file.
import { check, sleep } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Rate, Trend } from "k6/metrics";

const BASE_URL = (__ENV.BASE_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const TOKEN = __ENV.GATEWAY_TOKEN || __ENV.FIREDRILL_GATEWAY_TOKEN || "";
const PROFILE_FILE = __ENV.PROFILE_FILE || `./profiles/${__ENV.PROFILE || "smoke"}.json`;
const profile = JSON.parse(open(PROFILE_FILE));
const request = profile.request || {};
const settlement = profile.settlement || null;

// Every request also counts in a latency bucket: the counter `http_req_latency_lt_<bound>`
// of the first bound above its duration (`_inf` past the last). Thresholds that always
// hold keep each scenario's requests, failures, successes, latencies and buckets in the
// summary: k6 keeps a submetric only when a threshold names it. They are observations, not
// budgets: handleSummary leaves them out, and so does firedrill's verdict.
// (harness/loadgen/tally.ts does the same for firedrill's own engine.)
const LATENCY_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 15000, 30000, 60000];
const BUCKETS = [...LATENCY_BOUNDS_MS.map(String), "inf"].map((lt) => `http_req_latency_lt_${lt}`);
const latencyBuckets = BUCKETS.map((name) => new Counter(name));
const observed = {};
for (const name of Object.keys(profile.scenarios)) {
  observed[`http_reqs{scenario:${name}}`] = ["count>=0"];
  observed[`http_req_failed{scenario:${name}}`] = ["rate>=0"];
  observed[`http_req_duration{scenario:${name}}`] = ["max>=0"];
  observed[`success{scenario:${name}}`] = ["rate>=0"];
  for (const bucket of BUCKETS) observed[`${bucket}{scenario:${name}}`] = ["count>=0"];
}
const budgets = profile.thresholds || {};
// A threshold is an expression or `{ threshold, abortOnFail }`.
const expressions = (list) => (list || []).map((t) => (typeof t === "string" ? t : t.threshold));
const thresholds = {};
for (const [metric, list] of Object.entries(budgets)) thresholds[metric] = [...list];
for (const [metric, list] of Object.entries(observed)) {
  const have = expressions(thresholds[metric]);
  thresholds[metric] = [...(thresholds[metric] || []), ...list.filter((e) => !have.includes(e))];
}
const isObservation = (metric, expr) =>
  (observed[metric] || []).includes(expr) && !expressions(budgets[metric]).includes(expr);

function tally(res) {
  const ms = res.timings.duration;
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms < b);
  latencyBuckets[i < 0 ? LATENCY_BOUNDS_MS.length : i].add(1);
  return res;
}

export const options = {
  scenarios: profile.scenarios,
  thresholds,
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
};

// Custom metrics: the share of mint/redeem calls the gateway accepted, and how long an
// accepted redemption takes to settle (GET /redemptions/:id until "settled").
const success = new Rate("success");
const settlementTime = new Trend("redemption_settlement_time", true);
const redemptionsFailed = new Counter("redemptions_failed");
const settlementTimeouts = new Counter("redemption_settlement_timeouts");

const LAB_USER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

// The BCP's load test mints 1000.00 and redeems 500.00 in one iteration, so that every
// redemption is funded by the mint before it. Here mint and redeem are scenarios of their own
// (each with its budget) and run at whatever pace the gateway allows: redemptions of 50.00
// against mints of 1000.00 keep the holder funded at any mix of the two rates, so that a
// redemption fails only when the gateway fails it. Profiles may set other amounts under "request".
const MINT_AMOUNT = request.mintAmount || "1000.00";
const REDEEM_AMOUNT = request.redeemAmount || "50.00";

export function setup() {
  const res = tally(http.get(`${BASE_URL}/health`, { tags: { name: "GET /health" } }));
  if (res.status === 0) exec.test.abort(`target ${BASE_URL} does not answer: ${res.error}`);
  // The lab's first user: it holds fdUSD and has approved the vault, so its redemptions can
  // be paid; mints go to it too, so a long run never drains it.
  return {
    recipient: __ENV.RECIPIENT || request.recipient || LAB_USER,
    holder: __ENV.HOLDER || request.holder || LAB_USER,
  };
}

function params(name) {
  return {
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${TOKEN}`,
      "Idempotency-Key": crypto.randomUUID(),
    },
    tags: { name },
  };
}

function hasId(res) {
  try {
    return typeof res.json("id") === "string";
  } catch (_) {
    return false;
  }
}

export function mint(data) {
  const body = JSON.stringify({ amount: MINT_AMOUNT, recipient: data.recipient });
  const res = tally(http.post(`${BASE_URL}/mint`, body, params("POST /mint")));
  success.add(check(res, { "mint status is 200": (r) => r.status === 200, "mint has an id": hasId }));
}

export function redeem(data) {
  const started = Date.now();
  const body = JSON.stringify({
    amount: REDEEM_AMOUNT,
    holder: data.holder,
    collateral_type: request.collateralType || "USDC",
  });
  const res = tally(http.post(`${BASE_URL}/redeem`, body, params("POST /redeem")));
  // 200: paid before the gateway answered; 202: accepted into the queue, not paid yet (the
  // gateway waits a while for the payment first). A 202 counts as a success once it settles.
  const accepted = check(res, {
    "redeem status is 200 or 202": (r) => r.status === 200 || r.status === 202,
    "redeem has an id": hasId,
  });
  if (!accepted || res.status === 200 || settlement === null) {
    success.add(accepted);
    if (!accepted || settlement === null) return;
  }
  const id = res.json("id");
  const deadline = started + settlement.timeoutMs;
  const headers = { Authorization: `Bearer ${TOKEN}` };
  while (Date.now() < deadline) {
    const st = tally(
      http.get(`${BASE_URL}/redemptions/${id}`, { headers, tags: { name: "GET /redemptions/:id" } }),
    );
    const status = st.status === 200 ? st.json("status") : undefined;
    if (status === "settled") {
      settlementTime.add(Date.now() - started);
      if (res.status === 202) success.add(true);
      return;
    }
    if (status === "failed") {
      redemptionsFailed.add(1);
      if (res.status === 202) success.add(false);
      return;
    }
    sleep(settlement.pollMs / 1000);
  }
  settlementTimeouts.add(1);
  if (res.status === 202) success.add(false);
}

export function handleSummary(data) {
  const out = {};
  if (__ENV.SUMMARY_FILE) out[__ENV.SUMMARY_FILE] = JSON.stringify(data, null, 2);
  const lines = [];
  for (const [name, metric] of Object.entries(data.metrics)) {
    if (!metric.thresholds) continue;
    for (const [expr, t] of Object.entries(metric.thresholds)) {
      if (isObservation(name, expr)) continue;
      lines.push(`${t.ok ? "ok  " : "FAIL"} ${name} ${expr}`);
    }
  }
  const reqs = data.metrics.http_reqs ? data.metrics.http_reqs.values : { count: 0, rate: 0 };
  lines.push(`http_reqs ${reqs.count} (${reqs.rate.toFixed(1)}/s)`);
  out.stdout = `${lines.join("\n")}\n`;
  return out;
}
