import { parseArgs } from "node:util";
import { usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { startEmbeddedToxiproxy } from "./server.ts";

const USAGE = [
  "usage: firedrill proxy serve [--host 127.0.0.1] [--port 8474] [--allow-remote]",
  "",
  "  Runs the embedded Toxiproxy-compatible server until SIGINT or SIGTERM.",
  "  --host          address of the HTTP API (default 127.0.0.1; loopback only without --allow-remote)",
  "  --port          port of the HTTP API (default 8474; 0 picks a free one)",
  "  --allow-remote  allow a non-loopback --host",
];

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `firedrill proxy serve`: the embedded Toxiproxy-compatible server, standalone. */
export async function command(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    for (const line of USAGE) io.out(line);
    return 0;
  }
  if (sub !== "serve") {
    throw usageError(
      sub === undefined ? "firedrill proxy: missing sub-command (serve)" : `unknown sub-command "${sub}"`,
    );
  }
  let values: { host?: string; port?: string; "allow-remote"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "allow-remote": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError(`firedrill proxy serve: ${(error as Error).message}`);
  }
  if (values.help) {
    for (const line of USAGE) io.out(line);
    return 0;
  }
  const host = values.host ?? "127.0.0.1";
  const portText = values.port ?? "8474";
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw usageError(`--port must be a number from 0 to 65535, got "${portText}"`);
  }
  if (!isLoopback(host) && !values["allow-remote"]) {
    throw usageError(
      `--host ${host} is not a loopback address: the API has no authentication; add --allow-remote to serve it anyway`,
    );
  }
  const server = await startEmbeddedToxiproxy({ host, port: Number(portText) });
  io.out(`firedrill proxy: Toxiproxy-compatible API listening on ${server.url} (Ctrl-C to stop)`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(s);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  io.out(`firedrill proxy: stopped (${signal}); every proxy and connection closed`);
  return 0;
}
