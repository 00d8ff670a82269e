/**
 * `firedrill stack serve`: runs the reference stack against a running lab, configured by the
 * system-under-test environment (FIREDRILL_*), until SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { usageError } from "../errors.ts";
import type { Io } from "../io.ts";

const USAGE = [
  "usage: firedrill stack serve [--data-dir DIR] [--poll-ms N] [--detection-delay-ms N] [--gateway-delay-ms N]",
  "                             [--max-mints-in-flight N]",
  "  reads FIREDRILL_LAB, FIREDRILL_RPC_*, FIREDRILL_ORACLE_URLS, FIREDRILL_REGULATOR_URL,",
  "  FIREDRILL_ALERT_WEBHOOK, FIREDRILL_WEBHOOK_SECRET, FIREDRILL_GATEWAY_TOKEN, FIREDRILL_SUT_PORT",
];

function positiveInt(name: string, text: string | undefined, min = 0, unit = " of ms"): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw usageError(
      `--${name}: expected a whole number${unit}${min > 0 ? ` >= ${min}` : ""}, got "${text}"`,
    );
  return n;
}

/** `firedrill stack <subverb>`. */
export async function command(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      "poll-ms": { type: "string" },
      "detection-delay-ms": { type: "string" },
      "gateway-delay-ms": { type: "string" },
      "max-mints-in-flight": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    for (const line of USAGE) io.out(line);
    return 0;
  }
  if (positionals[0] !== "serve" || positionals.length > 1) {
    throw usageError(`firedrill stack: expected "serve", got "${positionals.join(" ")}"`);
  }
  const pollMs = positiveInt("poll-ms", values["poll-ms"]);
  const detectionDelayMs = positiveInt("detection-delay-ms", values["detection-delay-ms"]);
  const gatewayDelayMs = positiveInt("gateway-delay-ms", values["gateway-delay-ms"]);
  const maxMintsInFlight = positiveInt("max-mints-in-flight", values["max-mints-in-flight"], 1, "");
  // node:sqlite still prints an experimental warning on Node 22; it says nothing to a user.
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (text.includes("SQLite")) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  const { startStack } = await import("./index.ts");
  const stack = await startStack(process.env, {
    log: (line) => io.out(line),
    ...(values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {}),
    ...(pollMs !== undefined ? { pollMs } : {}),
    ...(detectionDelayMs !== undefined ? { detectionDelayMs } : {}),
    ...(gatewayDelayMs !== undefined ? { gatewayDelayMs } : {}),
    ...(maxMintsInFlight !== undefined ? { maxMintsInFlight } : {}),
  });
  io.out(`stack: ready on 127.0.0.1:${stack.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  io.out("stack: stopping");
  await stack.close();
  io.out("stack: stopped");
  return 0;
}
