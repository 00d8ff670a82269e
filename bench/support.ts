/** What the runner benchmarks share: a CLI child, a detached lab, percentiles. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../harness/lab/index.ts";

export const BIN = join(ROOT, "harness", "bin", "firedrill.mjs");

export interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** Runs `firedrill <args>` as a child process. */
export function cli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout?.on("data", (d) => {
    text += d;
  });
  child.stderr?.on("data", (d) => {
    text += d;
  });
  return { child, output: () => text, exit: new Promise((resolve) => child.once("exit", resolve)) };
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Starts a lab in the background in `dir`; returns its stop. */
export async function detachedLab(dir: string): Promise<() => Promise<void>> {
  const up = cli(["lab", "up", "--detach", "--dir", dir]);
  if ((await up.exit) !== 0) throw new Error(`lab up failed:\n${up.output()}`);
  return async () => {
    await cli(["lab", "down", "--dir", dir]).exit;
  };
}
