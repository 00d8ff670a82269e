/**
 * The system under test: the reference stack (default), a user's own stack started from
 * a command (`--sut`), or one already running (`--sut-url`). Either way it gets the SUT
 * environment (README.md, "Drill your own stack") and must answer GET /health before the
 * drill starts.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ENV } from "../contract/env.ts";
import { labError } from "../errors.ts";
import { type LabInfo, sutEnvironment } from "../lab/index.ts";
import { BIN } from "../paths.ts";
import { freePort, type OwnedProcess, sleep, startProcess } from "../process.ts";
import { registerSecret } from "../redact.ts";

export type SutChoice =
  | {
      kind: "reference";
      detectionDelayMs?: number | undefined;
      gatewayDelayMs?: number | undefined;
      /** The stack's admission limit (`stack serve --max-mints-in-flight`). */
      maxMintsInFlight?: number | undefined;
    }
  | { kind: "command"; command: string }
  | { kind: "url"; url: string };

export interface Sut {
  kind: SutChoice["kind"];
  /** Base URL of its HTTP endpoints. */
  url: string;
  token: string;
  /** Name and version for the journal. */
  name: string;
  process: OwnedProcess | undefined;
  stop(): Promise<void>;
}

/** Secrets shared with the SUT for one run: never printed (they are registered for redaction). */
export function runSecrets(): { webhookSecret: string; gatewayToken: string } {
  const webhookSecret = process.env[ENV.webhookSecret] ?? randomBytes(24).toString("hex");
  const gatewayToken = process.env[ENV.gatewayToken] ?? randomBytes(24).toString("hex");
  registerSecret(webhookSecret);
  registerSecret(gatewayToken);
  return { webhookSecret, gatewayToken };
}

async function waitHealthy(url: string, proc: OwnedProcess | undefined, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = "no answer";
  while (Date.now() < until) {
    if (proc && proc.status() === "stopped") {
      const { code, signal } = await proc.exited;
      throw labError(
        "system under test",
        `exited before it was healthy (code ${code}, signal ${signal})`,
        proc.lastLines(),
      );
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw labError(
    "system under test",
    `${url}/health did not answer 2xx within ${deadlineMs} ms (${last})`,
    proc?.lastLines() ?? [],
  );
}

/** Starts (or attaches to) the SUT and waits until it is healthy. */
export async function startSut(
  choice: SutChoice,
  lab: LabInfo,
  labFile: string,
  wiring: { webhookUrl: string; webhookSecret: string; gatewayToken: string; dataDir: string },
): Promise<Sut> {
  if (choice.kind === "url") {
    await waitHealthy(choice.url, undefined, 10_000);
    return {
      kind: "url",
      url: choice.url.replace(/\/$/, ""),
      token: wiring.gatewayToken,
      name: "attached",
      process: undefined,
      stop: async () => {},
    };
  }
  const port = await freePort();
  const env = { ...process.env, ...sutEnvironment(lab, labFile, { ...wiring, port }) };
  const proc =
    choice.kind === "reference"
      ? await startProcess({
          name: "stack",
          command: process.execPath,
          args: [
            BIN,
            "stack",
            "serve",
            "--data-dir",
            wiring.dataDir,
            ...(choice.detectionDelayMs ? ["--detection-delay-ms", String(choice.detectionDelayMs)] : []),
            ...(choice.gatewayDelayMs ? ["--gateway-delay-ms", String(choice.gatewayDelayMs)] : []),
            ...(choice.maxMintsInFlight ? ["--max-mints-in-flight", String(choice.maxMintsInFlight)] : []),
          ],
          env,
          pidDir: join(lab.dir, "pids"),
        })
      : await startProcess({
          name: "sut",
          command: "/bin/sh",
          args: ["-c", choice.command],
          env,
          pidDir: join(lab.dir, "pids"),
        });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, proc, 30_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return {
    kind: choice.kind,
    url,
    token: wiring.gatewayToken,
    name:
      choice.kind === "reference" ? "firedrill reference stack" : (choice.command.split(/\s+/)[0] ?? "sut"),
    process: proc,
    stop: () => proc.stop(),
  };
}
