/**
 * Where a command writes: every verb module takes an `Io` rather than the process's
 * streams, so that tests and benchmarks can run commands in-process and read their lines.
 */
import { redact } from "./redact.ts";

export interface Io {
  out(line: string): void;
  err(line: string): void;
  debug: boolean;
}

/** The process's stdout and stderr, a line at a time, with every known secret redacted. */
export function processIo(debug: boolean): Io {
  return {
    out: (line) => process.stdout.write(`${redact(line)}\n`),
    err: (line) => process.stderr.write(`${redact(line)}\n`),
    debug,
  };
}
