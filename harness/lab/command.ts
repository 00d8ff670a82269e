import type { Io } from "../cli.ts";
import { usageError } from "../errors.ts";

/** `firedrill lab`: being built. */
export async function command(_args: string[], _io: Io): Promise<number> {
  throw usageError("firedrill lab is not available yet");
}
