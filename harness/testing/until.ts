/**
 * Waiting in tests and benchmarks: poll a condition with a deadline and fail naming what
 * was awaited, rather than sleep a fixed time and hope.
 */
import { poll } from "../process.ts";

/** Polls `check` until it gives a truthy value and returns that; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const value = await poll(async () => (await check()) || undefined, timeoutMs);
  if (value === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return value;
}
