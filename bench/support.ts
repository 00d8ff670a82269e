/** What the runner benchmarks share: a CLI child, a detached lab, percentiles. */
import { cli } from "../test/cli.ts";

export { BIN, type Cli, cli, until } from "../test/cli.ts";

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
