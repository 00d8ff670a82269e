// A monitoring stack made of Prometheus, the blackbox exporter and Alertmanager, as a team
// would run it, configured from the environment firedrill gives a system under test: the
// blackbox exporter probes every RPC provider of the lab (a JSON-RPC eth_blockNumber POST),
// every price source and the regulator; a small exporter in this script publishes each
// chain's head block; Prometheus alerts when a probe has failed, or a head has not moved,
// for FOR; Alertmanager posts the alerts, unchanged, to firedrill's receiver. No firedrill
// code is imported.
//
//   firedrill run scenarios/rpc-primary-outage.yml \
//     --sut examples/prometheus/sut.sh --alerts examples/prometheus/alerts.yml
//
// The binaries are Debian's (`apt-get install prometheus prometheus-alertmanager
// prometheus-blackbox-exporter`); PROMETHEUS_BIN, ALERTMANAGER_BIN and BLACKBOX_BIN name
// others. GET /health on FIREDRILL_SUT_PORT answers 200 once all three are ready.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The timings that add up to the detection a drill measures (README.md). */
export const TIMING = {
  scrape: "1s",
  evaluation: "1s",
  for: "2s",
  groupWait: "1s",
  probeTimeout: "900ms",
  /** How long a head must stand still before the chain counts as halted (every lab chain mines at least every second). */
  headWindow: "5s",
};

const env = process.env;
function need(name) {
  const value = env[name];
  if (!value) {
    console.error(`prometheus example: ${name} is not set; start me with firedrill run --sut`);
    process.exit(2);
  }
  return value;
}

const webhook = need("FIREDRILL_ALERT_WEBHOOK");
const secret = need("FIREDRILL_WEBHOOK_SECRET");
const port = Number(need("FIREDRILL_SUT_PORT"));
const bins = {
  prometheus: env.PROMETHEUS_BIN ?? "prometheus",
  alertmanager: env.ALERTMANAGER_BIN ?? "prometheus-alertmanager",
  blackbox: env.BLACKBOX_BIN ?? "prometheus-blackbox-exporter",
};

/** The lab's RPC providers, from FIREDRILL_RPC_<CHAIN>_<PROVIDER>. */
const rpcTargets = Object.entries(env)
  .map(([name, url]) => [/^FIREDRILL_RPC_([A-Z]+)_([A-Z]+)$/.exec(name), url])
  .filter(([match, url]) => match !== null && url)
  .map(([match, url]) => ({
    url,
    labels: { chain: match[1].toLowerCase(), provider: match[2].toLowerCase() },
  }));
/** The price sources, from FIREDRILL_ORACLE_URLS (`name=url,...`). */
const priceTargets = (env.FIREDRILL_ORACLE_URLS ?? "")
  .split(",")
  .filter((pair) => pair.includes("="))
  .map((pair) => {
    const [source, url] = pair.split("=");
    return { url: `${url}/price/ETH-USD`, labels: { source } };
  });
/** The regulator's health endpoint, from FIREDRILL_REGULATOR_URL. */
const regulatorTargets = env.FIREDRILL_REGULATOR_URL
  ? [{ url: new URL("/health", env.FIREDRILL_REGULATOR_URL).href, labels: { endpoint: "regulator" } }]
  : [];
/** The providers of each chain, in failover order: the head exporter reads the first that answers. */
const ORDER = ["primary", "secondary", "emergency"];
const chains = new Map();
for (const target of rpcTargets) {
  const list = chains.get(target.labels.chain) ?? [];
  list.push(target);
  list.sort((a, b) => ORDER.indexOf(a.labels.provider) - ORDER.indexOf(b.labels.provider));
  chains.set(target.labels.chain, list);
}
if (rpcTargets.length === 0) {
  console.error("prometheus example: no FIREDRILL_RPC_* variable: nothing to probe");
  process.exit(2);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return free;
}

const ports = { prometheus: await freePort(), alertmanager: await freePort(), blackbox: await freePort() };
const dir = mkdtempSync(join(tmpdir(), "firedrill-prometheus-"));

// JSON is YAML: every file below is written as JSON.
const write = (name, value) => writeFileSync(join(dir, name), JSON.stringify(value, null, 2));
writeFileSync(join(dir, "webhook-secret"), secret, { mode: 0o600 });
write("blackbox.yml", {
  modules: {
    eth_block_number: {
      prober: "http",
      timeout: TIMING.probeTimeout,
      http: {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
        valid_status_codes: [200],
        fail_if_body_not_matches_regexp: ['"result":"0x[0-9a-fA-F]+"'],
        preferred_ip_protocol: "ip4",
      },
    },
    http_get: {
      prober: "http",
      timeout: TIMING.probeTimeout,
      http: { method: "GET", valid_status_codes: [200], preferred_ip_protocol: "ip4" },
    },
  },
});
const probeJob = (job, module, targets) => ({
  job_name: job,
  metrics_path: "/probe",
  params: { module: [module] },
  static_configs: targets.map((t) => ({ targets: [t.url], labels: t.labels })),
  relabel_configs: [
    { source_labels: ["__address__"], target_label: "__param_target" },
    { source_labels: ["__param_target"], target_label: "instance" },
    { target_label: "__address__", replacement: `127.0.0.1:${ports.blackbox}` },
  ],
});
write("prometheus.yml", {
  global: {
    scrape_interval: TIMING.scrape,
    scrape_timeout: TIMING.scrape,
    evaluation_interval: TIMING.evaluation,
  },
  rule_files: [join(dir, "rules.yml")],
  alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${ports.alertmanager}`] }] }] },
  scrape_configs: [
    probeJob("rpc", "eth_block_number", rpcTargets),
    ...(priceTargets.length > 0 ? [probeJob("price_sources", "http_get", priceTargets)] : []),
    ...(regulatorTargets.length > 0 ? [probeJob("regulator", "http_get", regulatorTargets)] : []),
    { job_name: "chain_heads", static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
  ],
});
write("rules.yml", {
  groups: [
    {
      name: "stablecoin-operations",
      rules: [
        {
          alert: "RpcProviderDown",
          expr: 'probe_success{job="rpc"} == 0',
          for: TIMING.for,
          labels: { severity: "critical" },
          annotations: {
            summary: "the {{ $labels.provider }} RPC provider of {{ $labels.chain }} does not answer",
          },
        },
        {
          alert: "PriceSourceDown",
          expr: 'probe_success{job="price_sources"} == 0',
          for: TIMING.for,
          labels: { severity: "high" },
          annotations: { summary: "price source {{ $labels.source }} does not answer" },
        },
        {
          alert: "RegulatorDown",
          expr: 'probe_success{job="regulator"} == 0',
          for: TIMING.for,
          labels: { severity: "high" },
          annotations: { summary: "the regulator's endpoint does not answer" },
        },
        {
          // No change of the head over the window, with the window full of samples (so that
          // a series that has just appeared is not taken for a halted chain).
          alert: "ChainHeadStalled",
          expr: `changes(chain_head_block[${TIMING.headWindow}]) == 0 and count_over_time(chain_head_block[${TIMING.headWindow}]) >= 4`,
          for: TIMING.for,
          labels: { severity: "critical" },
          annotations: { summary: `{{ $labels.chain }} has produced no block for ${TIMING.headWindow}` },
        },
      ],
    },
  ],
});
write("alertmanager.yml", {
  route: {
    receiver: "firedrill",
    group_by: ["alertname", "chain", "provider", "source"],
    group_wait: TIMING.groupWait,
    group_interval: "5s",
    repeat_interval: "1h",
  },
  receivers: [
    {
      name: "firedrill",
      webhook_configs: [
        {
          url: `${webhook}/alertmanager`,
          send_resolved: true,
          http_config: { authorization: { credentials_file: join(dir, "webhook-secret") } },
        },
      ],
    },
  ],
});

const children = new Map();
let stopping = false;

function start(name, args) {
  const log = join(dir, `${name}.log`);
  const child = spawn(bins[name], args, { stdio: ["ignore", "pipe", "pipe"] });
  const chunks = [];
  const keep = (chunk) => {
    chunks.push(chunk);
    writeFileSync(log, Buffer.concat(chunks));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("error", (error) => {
    console.error(`prometheus example: cannot start ${bins[name]}: ${error.message}`);
    void stop(1);
  });
  child.on("exit", (code, signal) => {
    children.delete(name);
    if (stopping) return;
    const tail = Buffer.concat(chunks).toString("utf8").trim().split("\n").slice(-5).join("\n  ");
    console.error(`prometheus example: ${name} exited (code ${code}, signal ${signal})\n  ${tail}`);
    void stop(1);
  });
  children.set(name, child);
}

async function stop(status) {
  if (stopping) return;
  stopping = true;
  health.close();
  const exits = [...children.values()].map(
    (child) =>
      new Promise((resolve) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  );
  await Promise.all(exits);
  rmSync(dir, { recursive: true, force: true });
  process.exit(status);
}

start("blackbox", [
  `--config.file=${join(dir, "blackbox.yml")}`,
  `--web.listen-address=127.0.0.1:${ports.blackbox}`,
]);
start("alertmanager", [
  `--config.file=${join(dir, "alertmanager.yml")}`,
  `--storage.path=${join(dir, "alertmanager")}`,
  `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
  "--cluster.listen-address=",
]);
start("prometheus", [
  `--config.file=${join(dir, "prometheus.yml")}`,
  `--storage.tsdb.path=${join(dir, "prometheus")}`,
  `--web.listen-address=127.0.0.1:${ports.prometheus}`,
]);

async function ready(url) {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(500) });
    await answer.arrayBuffer();
    return answer.ok;
  } catch {
    return false;
  }
}

/** A chain's head block from the first of its providers that answers; undefined when none does. */
async function headOf(providers) {
  for (const provider of providers) {
    try {
      const answer = await fetch(provider.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
        signal: AbortSignal.timeout(300),
      });
      const { result } = await answer.json();
      if (typeof result === "string") return Number.parseInt(result, 16);
    } catch {
      // The next provider.
    }
  }
  return undefined;
}

/** The head exporter: `chain_head_block{chain}` in Prometheus' text format. */
async function metrics() {
  const heads = await Promise.all(
    [...chains].map(async ([chain, providers]) => [chain, await headOf(providers)]),
  );
  const lines = ["# HELP chain_head_block The chain's latest block number.", "# TYPE chain_head_block gauge"];
  for (const [chain, head] of heads)
    if (head !== undefined) lines.push(`chain_head_block{chain="${chain}"} ${head}`);
  return `${lines.join("\n")}\n`;
}

const health = createServer(async (req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(await metrics());
    return;
  }
  if (req.url !== "/health") {
    res.writeHead(404).end();
    return;
  }
  const checks = await Promise.all([
    ready(`http://127.0.0.1:${ports.prometheus}/-/ready`),
    ready(`http://127.0.0.1:${ports.alertmanager}/-/ready`),
    ready(`http://127.0.0.1:${ports.blackbox}/-/healthy`),
  ]);
  const ok = checks.every(Boolean);
  res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
  res.end(JSON.stringify({ ok, prometheus: checks[0], alertmanager: checks[1], blackbox: checks[2] }));
});
health.listen(port, "127.0.0.1");

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => void stop(0));
// The configuration, for the reader of a drill's output.
console.error(
  `prometheus example: probing ${rpcTargets.length} RPC providers, ${priceTargets.length} price sources, ${regulatorTargets.length} regulator and ${chains.size} chain heads every ${TIMING.scrape}; ` +
    `alerts after ${TIMING.for}, group_wait ${TIMING.groupWait}; configuration in ${dir}`,
);
