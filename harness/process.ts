/**
 * Every process firedrill starts is owned: it has a status, a readiness check with a
 * deadline, the last lines of its output for any error, and a pid file so that the next
 * run can sweep it if this one was killed with SIGKILL. Also the small waits and checks
 * that go with processes: whether a pid is alive, a free port, a sleep and a poll.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { labError } from "./errors.ts";
import { redact } from "./redact.ts";

export type ProcessStatus = "idle" | "starting" | "started" | "stopping" | "stopped";

export interface StartOptions {
  /** Component name used in errors and pid files, e.g. `anvil-ethereum`. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A line of output that means ready; its match is returned. Without it, ready at spawn. */
  ready?: RegExp;
  /** @default 15000 */
  readyTimeoutMs?: number;
  /** Folder for the pid file; none is written when absent. */
  pidDir?: string;
}

export interface OwnedProcess {
  readonly name: string;
  readonly pid: number;
  status(): ProcessStatus;
  /** The match of the `ready` pattern, if one was given. */
  readonly readyMatch: RegExpMatchArray | null;
  /** The last 20 lines the process printed, redacted. */
  lastLines(): string[];
  /** Calls `listener` for every further line of output. Returns the unsubscribe. */
  onLine(listener: (line: string) => void): () => void;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; idempotent. @default graceMs 3000 */
  stop(graceMs?: number): Promise<void>;
}

const TAIL = 20;

/** Starts a process and waits until it is ready; on failure it is stopped and the error shows its last lines. */
export async function startProcess(options: StartOptions): Promise<OwnedProcess> {
  const { name, readyTimeoutMs = 15_000 } = options;
  let status: ProcessStatus = "starting";
  const tail: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own: a terminal's Ctrl-C reaches only firedrill, which then
      // heals and stops everything in order; and stop() reaches a shell command's children.
      detached: true,
    });
  } catch (error) {
    throw labError(name, `could not start ${options.command}: ${(error as Error).message}`);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      status = "stopped";
      resolve({ code, signal });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const take = (line: string) => {
    // Redacted when read: anvil writes a line per call, thousands a second under load.
    tail.push(line);
    if (tail.length > TAIL) tail.shift();
    for (const listener of listeners) listener(line);
  };
  // Keep draining both streams for the process's whole life: anvil logs every call and
  // would block on a full pipe.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", take);
  }

  const pidFile = options.pidDir ? join(options.pidDir, `${name}.pid`) : undefined;
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  const owned: OwnedProcess = {
    name,
    pid: child.pid ?? -1,
    status: () => status,
    readyMatch: null,
    lastLines: () => tail.map(redact),
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exited,
    async stop(graceMs = 3000) {
      if (status === "stopped") {
        if (pidFile) rmSync(pidFile, { force: true });
        return;
      }
      status = "stopping";
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // The group's other members may outlive its leader by a moment.
      signal("SIGKILL");
      if (pidFile) rmSync(pidFile, { force: true });
    },
  };

  let readyMatch: RegExpMatchArray | null = null;
  if (options.ready) {
    const pattern = options.ready;
    const ready = new Promise<RegExpMatchArray>((resolve) => {
      const off = owned.onLine((line) => {
        const m = line.match(pattern);
        if (m) {
          off();
          resolve(m);
        }
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then((m) => ({ kind: "ready" as const, m })),
      exited.then((e) => ({ kind: "exited" as const, e })),
      spawnError.then((e) => ({ kind: "error" as const, e })),
      new Promise<{ kind: "timeout" }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: "timeout" }), readyTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome.kind !== "ready") {
      await owned.stop(500).catch(() => {});
      const why =
        outcome.kind === "exited"
          ? `exited before it was ready (code ${outcome.e.code}, signal ${outcome.e.signal})`
          : outcome.kind === "error"
            ? `could not start ${options.command}: ${outcome.e.message}`
            : `not ready within ${readyTimeoutMs} ms`;
      throw labError(name, why, owned.lastLines());
    }
    readyMatch = outcome.m;
  } else {
    const outcome = await Promise.race([
      spawnError.then((e) => e),
      new Promise<null>((resolve) => child.once("spawn", () => resolve(null))),
    ]);
    if (outcome) throw labError(name, `could not start ${options.command}: ${outcome.message}`);
  }
  status = "started";
  if (pidFile && options.pidDir && child.pid) {
    mkdirSync(options.pidDir, { recursive: true });
    writeFileSync(
      pidFile,
      JSON.stringify({ pid: child.pid, command: options.command, startedAt: Date.now() }),
    );
  }
  return Object.assign(owned, { readyMatch });
}

function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
  } catch {
    return undefined;
  }
}

/**
 * Kills what a crashed run left: every process named by a pid file in `pidDir` that
 * still runs the same command. Returns the names swept.
 */
export function sweepPidFiles(pidDir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(pidDir).filter((f) => f.endsWith(".pid"));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const file of entries) {
    const path = join(pidDir, file);
    try {
      const { pid, command } = JSON.parse(readFileSync(path, "utf8")) as { pid: number; command: string };
      if (commandOf(pid) === command) {
        process.kill(-pid, "SIGKILL");
        swept.push(file.replace(/\.pid$/, ""));
      }
    } catch {
      // An unreadable pid file is stale by definition.
    }
    rmSync(path, { force: true });
  }
  return swept;
}

/**
 * True when a process with this pid runs. A zombie does not count: an orphan killed by a
 * sweep waits for its new parent to reap it, and where that parent is not an init that
 * reaps, `kill(pid, 0)` would still succeed.
 */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  const state = processState(pid);
  // No /proc (not Linux), or no such process: ask the kernel.
  if (state !== undefined) return state !== "Z" && state !== "X";
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A process's state letter from `/proc/<pid>/stat` (`R`, `S`, `D`, `T`, `Z`...); undefined
 * without /proc or without such a process.
 */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).charAt(0);
  } catch {
    return undefined;
  }
}

/** The wait before retry number `retry` (1 for the first): `firstMs`, doubling, at most `maxMs`. */
export function backoffMs(retry: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** (retry - 1));
}

/**
 * Waits `ms`; resolves early (never rejects) when any of `signals` aborts. Zero or less
 * returns at once, as Go's `time.Sleep` does (the embedded Toxiproxy's toxics rely on it).
 */
export async function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (ms <= 0 || live.some((s) => s.aborted)) return;
  // One signal is passed as is: the load engine sleeps thousands of times on one signal.
  const signal = live.length > 1 ? AbortSignal.any(live) : live[0];
  try {
    await delay(ms, undefined, signal === undefined ? {} : { signal });
  } catch (error) {
    if ((error as Error).name !== "AbortError") throw error;
  }
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined, or
 * `timeoutMs` passes (then undefined). Measurements wait this way, never by a fixed sleep.
 */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 25,
  signal?: AbortSignal,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline || signal?.aborted) return undefined;
    await sleep(intervalMs, signal);
  }
}
