/**
 * `firedrill assess [--json]`: the emergency assessment screen of a running lab (and of
 * the stack, when FIREDRILL_SUT_PORT points at one).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ENV } from "../contract/env.ts";
import { FiredrillError } from "../errors.ts";
import type { Io } from "../io.ts";
import { LAB_DIR } from "../paths.ts";
import { assess } from "./assess.ts";

const DEFAULT_LAB = join(LAB_DIR, "lab.json");

const fmt = (n: number | null, digits = 4) =>
  n === null ? "n/a" : Number.isFinite(n) ? n.toFixed(digits) : "inf";

/** `firedrill assess`. */
export async function command(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: "boolean" }, lab: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.out(
      "usage: firedrill assess [--json] [--lab lab.json]   (the lab's SUT environment, or .firedrill/lab/lab.json)",
    );
    return 0;
  }
  const labFile = values.lab ?? process.env[ENV.lab] ?? DEFAULT_LAB;
  if (!existsSync(labFile)) {
    throw new FiredrillError(
      "FD300",
      `no lab at ${labFile}: run \`firedrill lab up\` (or set FIREDRILL_LAB)`,
    );
  }
  const result = await assess({ ...process.env, [ENV.lab]: labFile });
  if (values.json) {
    io.out(JSON.stringify(result, null, 2));
    return 0;
  }
  io.out("=== EMERGENCY SYSTEM ASSESSMENT ===");
  io.out(`Timestamp: ${result.at}`);
  io.out(`Severity:  ${result.severity.toUpperCase()}`);
  io.out("");
  io.out("Collateral ratio / gas / pending transactions:");
  for (const c of result.chains) {
    if (c.error) {
      io.out(`  ${c.name.padEnd(9)} unreachable: ${c.error}`);
      continue;
    }
    io.out(
      `  ${c.name.padEnd(9)} ratio ${fmt(c.collateralRatio)}  gas ${fmt(c.baseFeeGwei, 2)} gwei  pending ${c.pendingTransactions ?? "n/a"}  head ${c.head}  via ${c.provider}${c.mintingPaused ? "  MINTING PAUSED" : ""}`,
    );
  }
  io.out("Oracle prices:");
  for (const o of result.oracles) {
    const sources = Object.entries(o.sources)
      .map(([name, p]) => `${name} ${typeof p === "number" ? p : p}`)
      .join(", ");
    io.out(
      `  ${o.pair.padEnd(9)} median ${fmt(o.median, 4)}  max deviation ${(o.maxDeviation * 100).toFixed(3)}%  (${sources})`,
    );
  }
  io.out(`Redemption backlog: ${result.redemptionBacklog ?? "n/a (stack not reachable)"}`);
  io.out("System health:");
  if (result.health) {
    io.out(`  overall ${result.health.status}`);
    for (const [name, c] of Object.entries(result.health.components)) {
      io.out(`  ${name.padEnd(22)} ${c.status.padEnd(9)} tier ${c.tier}`);
    }
  } else io.out("  stack not reachable (set FIREDRILL_SUT_PORT to the stack's port)");
  io.out("");
  io.out("Recommended actions:");
  for (const a of result.actions) io.out(`  - ${a}`);
  io.out("");
  for (const line of result.alertText.split("\n")) io.out(line);
  return 0;
}
