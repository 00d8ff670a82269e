/**
 * One error type for everything firedrill reports to a user. The code is stable (it can
 * be searched for in the docs and in CI logs); the first digit picks the exit status:
 *   FD1xx usage, FD2xx input files and schemas  -> exit 2 (bad input)
 *   FD3xx the lab or a system under test         -> exit 3 (could not be brought up)
 *   FD4xx a verdict                              -> exit 1
 */
export type ExitCode = 0 | 1 | 2 | 3;

/** Exit status for an error code (see the table above). */
export function exitCodeFor(code: string): ExitCode {
  const family = code[2];
  if (family === "1" || family === "2") return 2;
  if (family === "3") return 3;
  return 1;
}

export class FiredrillError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  /** Lines of a child process's output, or other context shown under the message. */
  readonly details: readonly string[];

  constructor(code: string, message: string, options: { cause?: unknown; details?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FiredrillError";
    this.code = code;
    this.exitCode = exitCodeFor(code);
    this.details = options.details ?? [];
  }
}

/** Bad usage of the CLI (exit 2). */
export function usageError(message: string): FiredrillError {
  return new FiredrillError("FD100", message);
}

/** An input file that is wrong at a place: `file:line field: what is wrong` (exit 2). */
export function inputError(
  code: string,
  where: { file: string; line?: number | undefined; field?: string | undefined },
  what: string,
): FiredrillError {
  const at = where.line === undefined ? where.file : `${where.file}:${where.line}`;
  return new FiredrillError(code, `${at}${where.field ? ` ${where.field}` : ""}: ${what}`);
}

/** A component of the lab that could not be started or reached (exit 3). */
export function labError(component: string, what: string, details: readonly string[] = []): FiredrillError {
  return new FiredrillError("FD300", `${component}: ${what}`, { details });
}

/** Collects teardown failures so that one failure never stops the rest of the teardown. */
export async function releaseAll(releases: Array<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  while (releases.length > 0) {
    const release = releases.pop()!;
    try {
      await release();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} teardown steps failed`);
}
