/**
 * Running `firedrill` as a child process from tests and benchmarks. Every child started
 * here is remembered, so that a failed assertion never leaves one running (`stopChildren`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { BIN } from "../paths.ts";

export interface Cli {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output: () => string;
  exit: Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** Starts `firedrill <args>`. */
export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  children.add(child);
  let text = "";
  child.stdout?.on("data", (d) => {
    text += d;
  });
  child.stderr?.on("data", (d) => {
    text += d;
  });
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => text, exit };
}

/** Stops every child still running (SIGTERM), and waits for them. */
export async function stopChildren(): Promise<void> {
  await Promise.all(
    [...children].map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    }),
  );
}
