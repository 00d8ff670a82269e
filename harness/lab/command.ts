/**
 * `firedrill lab up | status | env | down`.
 *
 * `up` holds the lab in the foreground until Ctrl-C or SIGTERM (or `lab down` from another
 * shell), then stops everything. `up --detach` starts the same in the background and
 * returns once the lab is ready.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { FiredrillError, labError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { PROVIDERS } from "../names.ts";
import { BIN, LAB_DIR } from "../paths.ts";
import { isAlive, sleep } from "../process.ts";
import { loadLabConfig } from "./config.ts";
import { type LabInfo, readLabInfo, startLab, sutEnvironment, sweepLab } from "./index.ts";
import { findResidue } from "./residue.ts";

const USAGE = `usage: firedrill lab up [--config lab.yml] [--dir DIR] [--detach] [--json]
       firedrill lab status [--dir DIR] [--json]
       firedrill lab env [--dir DIR]
       firedrill lab down [--dir DIR]`;

export async function command(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  let parsed: ReturnType<typeof parse>;
  const parse = (argv: string[]) =>
    parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        dir: { type: "string" },
        detach: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  try {
    parsed = parse(rest);
  } catch (error) {
    throw usageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help || sub === undefined) {
    io.out(USAGE);
    return sub === undefined ? 2 : 0;
  }
  const dir = resolve(values.dir ?? LAB_DIR);
  switch (sub) {
    case "up":
      return values.detach ? upDetached(dir, values.config, io) : up(dir, values.config, values.json, io);
    case "status":
      return status(dir, values.json, io);
    case "env":
      return env(dir, io);
    case "down":
      return down(dir, io);
    default:
      throw usageError(`unknown lab command "${sub}"\n${USAGE}`);
  }
}

/** The table `up` prints. */
export function describeLab(info: LabInfo): string[] {
  const rows: [string, string, string][] = [];
  for (const [name, chain] of Object.entries(info.chains)) {
    rows.push([`chain ${name}`, `id ${chain.chainId}, block ${chain.blockTimeMs} ms`, chain.nodeUrl]);
    for (const provider of PROVIDERS) rows.push([`  rpc ${provider}`, "via toxiproxy", chain.rpc[provider]]);
    if (chain.contracts) rows.push(["  vault", "CollateralVault", chain.contracts.vault]);
    if (chain.team) rows.push(["  stablecoin", "the team's (deployment.yml)", chain.team.stablecoin]);
  }
  for (const [name, url] of Object.entries(info.oracles.sources))
    rows.push([`oracle ${name}`, "via toxiproxy", url]);
  rows.push(["regulator", "via toxiproxy", info.regulator.url]);
  rows.push(["toxiproxy", `${info.toxiproxy.kind} ${info.toxiproxy.version}`, info.toxiproxy.url]);
  rows.push(["control", "harness only", info.control]);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}

async function up(dir: string, configFile: string | undefined, json: boolean, io: Io): Promise<number> {
  const config = loadLabConfig(configFile);
  let signalled: NodeJS.Signals | undefined;
  let wake: () => void = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    wake();
  };
  // An error nobody caught still takes the lab down before the process ends.
  let fatal: unknown;
  const onFatal = (error: unknown) => {
    fatal ??= error;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  process.on("uncaughtException", onFatal);
  process.on("unhandledRejection", onFatal);
  const started = Date.now();
  try {
    const lab = await startLab(config, { dir, onStep: (line) => io.err(`lab: ${line}`) });
    try {
      if (signalled) return 130;
      if (json) io.out(JSON.stringify(lab.info, null, 2));
      else {
        for (const line of describeLab(lab.info)) io.out(line);
        io.out(`lab up in ${Date.now() - started} ms; ${lab.file}`);
        io.out("holding the lab: Ctrl-C (or `firedrill lab down`) stops everything");
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (signalled || fatal) resolve();
      });
      if (fatal) throw fatal;
      return 0;
    } finally {
      io.err(`lab: ${signalled ?? (fatal ? "error" : "done")}: stopping every process and proxy`);
      await lab.down();
      io.err("lab: down");
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    process.off("uncaughtException", onFatal);
    process.off("unhandledRejection", onFatal);
  }
}

async function upDetached(dir: string, configFile: string | undefined, io: Io): Promise<number> {
  loadLabConfig(configFile); // bad input fails here, before anything starts
  mkdirSync(dir, { recursive: true });
  const log = join(dir, "lab.log");
  const out = openSync(log, "w");
  const args = [BIN, "lab", "up", "--dir", dir];
  if (configFile) args.push("--config", resolve(configFile));
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  const file = join(dir, "lab.json");
  const deadline = Date.now() + 120_000;
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const tail = readFileSync(log, "utf8").trim().split("\n").slice(-20);
      throw labError("lab", `the lab exited while starting (code ${exited})`, tail);
    }
    if (existsSync(file) && readLabInfo(file).pid === child.pid) {
      child.unref();
      const info = readLabInfo(file);
      for (const line of describeLab(info)) io.out(line);
      io.out(`lab up in the background (pid ${child.pid}); log ${log}; stop it with \`firedrill lab down\``);
      return 0;
    }
    await sleep(50);
  }
  child.kill("SIGTERM");
  throw labError("lab", "not up within 120 s", readFileSync(log, "utf8").trim().split("\n").slice(-20));
}

interface Check {
  component: string;
  ok: boolean;
  detail: string;
}

async function timed(component: string, probe: () => Promise<string>): Promise<Check> {
  const t0 = performance.now();
  try {
    const detail = await probe();
    return { component, ok: true, detail: `${detail} (${(performance.now() - t0).toFixed(1)} ms)` };
  } catch (error) {
    return { component, ok: false, detail: (error as Error).message };
  }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new FiredrillError("FD300", `HTTP ${response.status}`);
  return response.json();
}

async function blockNumber(url: string): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
    signal: AbortSignal.timeout(2000),
  });
  const reply = (await response.json()) as { result?: string };
  if (!reply.result) throw new FiredrillError("FD300", "no block number");
  return `block ${Number.parseInt(reply.result, 16)}`;
}

/** Checks every component of a running lab. */
export async function checkLab(info: LabInfo): Promise<Check[]> {
  const checks: Promise<Check>[] = [];
  for (const [name, chain] of Object.entries(info.chains)) {
    checks.push(timed(`chain ${name}`, () => blockNumber(chain.nodeUrl)));
    for (const provider of PROVIDERS) {
      checks.push(timed(`rpc ${name} ${provider}`, () => blockNumber(chain.rpc[provider])));
    }
  }
  for (const [name, url] of Object.entries(info.oracles.sources)) {
    checks.push(
      timed(`oracle ${name}`, async () => {
        const quote = (await getJson(`${url}/price/ETH-USD`)) as { price: number };
        return `ETH/USD ${quote.price}`;
      }),
    );
  }
  checks.push(
    timed("regulator", async () => {
      await getJson(`${info.regulator.url}/health`);
      return "ok";
    }),
  );
  checks.push(
    timed("toxiproxy", async () => {
      const proxies = (await getJson(`${info.toxiproxy.url}/proxies`)) as Record<
        string,
        { enabled: boolean }
      >;
      const missing = info.proxies.filter((p) => !proxies[p.name]).map((p) => p.name);
      if (missing.length > 0) throw new FiredrillError("FD300", `missing proxies: ${missing.join(", ")}`);
      const disabled = info.proxies.filter((p) => proxies[p.name]?.enabled === false).map((p) => p.name);
      return disabled.length > 0
        ? `${info.proxies.length} proxies, disabled: ${disabled.join(", ")}`
        : `${info.proxies.length} proxies`;
    }),
  );
  checks.push(
    timed("keeper", async () => {
      const state = (await getJson(`${info.control}/state`)) as {
        keeper: { rounds: number; paused: boolean }[];
      };
      const paused = state.keeper.filter((k) => k.paused).length;
      return `${state.keeper.reduce((n, k) => n + k.rounds, 0)} rounds pushed${paused ? `, ${paused} feeds paused` : ""}`;
    }),
  );
  return Promise.all(checks);
}

async function status(dir: string, json: boolean, io: Io): Promise<number> {
  const info = readLabInfo(join(dir, "lab.json"));
  if (!isAlive(info.pid))
    throw labError("lab", `the lab's process ${info.pid} is gone; run \`firedrill lab down\` to sweep`);
  const checks = await checkLab(info);
  // A fault left behind is a failing component too: the lab is not as it started.
  const residue = await findResidue(info).catch((error: Error) => [
    `could not look for leftover faults: ${error.message}`,
  ]);
  checks.push({
    component: "no leftover fault",
    ok: residue.length === 0,
    detail: residue.length === 0 ? "none" : residue.join("; "),
  });
  if (json) io.out(JSON.stringify({ pid: info.pid, startedAt: info.startedAt, checks }, null, 2));
  else {
    const width = Math.max(...checks.map((c) => c.component.length));
    for (const c of checks) io.out(`${c.ok ? "ok  " : "FAIL"}  ${c.component.padEnd(width)}  ${c.detail}`);
  }
  return checks.every((c) => c.ok) ? 0 : 3;
}

async function env(dir: string, io: Io): Promise<number> {
  const file = join(dir, "lab.json");
  const info = readLabInfo(file);
  for (const [key, value] of Object.entries(sutEnvironment(info, file))) io.out(`${key}=${value}`);
  return 0;
}

async function down(dir: string, io: Io): Promise<number> {
  const file = join(dir, "lab.json");
  let stopped = false;
  if (existsSync(file)) {
    const info = readLabInfo(file);
    if (isAlive(info.pid) && info.pid !== process.pid) {
      process.kill(info.pid, "SIGTERM");
      const deadline = Date.now() + 20_000;
      while (isAlive(info.pid) && Date.now() < deadline) await sleep(50);
      if (isAlive(info.pid)) throw labError("lab", `process ${info.pid} did not stop within 20 s`);
      io.out(`lab (pid ${info.pid}) stopped`);
      stopped = true;
    }
  }
  const swept = await sweepLab(dir);
  if (swept.length > 0) io.out(`swept: ${swept.join(", ")}`);
  else if (!stopped) io.out("no lab is up");
  return 0;
}
