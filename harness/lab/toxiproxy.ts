/**
 * The lab's Toxiproxy: the real `toxiproxy-server` when one is found (TOXIPROXY_URL of a
 * running one, TOXIPROXY_BIN, PATH, or the project's tools folder), otherwise the
 * embedded server. Either way the harness speaks to it only through the client.
 */
import { Toxiproxy } from "toxiproxy-node-client";
import { labError } from "../errors.ts";
import { sleep } from "../process.ts";

export type ToxiproxyKind = "embedded" | "real";

export interface LabToxiproxy {
  url: string;
  kind: ToxiproxyKind;
  /** True when the lab started it (and so stops it); false when attached by URL. */
  owned: boolean;
  version: string;
  client: Toxiproxy;
  close(): Promise<void>;
}

async function waitForApi(url: string, deadlineMs: number): Promise<string> {
  const until = Date.now() + deadlineMs;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) {
        // Toxiproxy 2.12 answers {"version": "..."}; older ones answer plain text.
        const text = (await response.text()).trim();
        try {
          return String((JSON.parse(text) as { version?: unknown }).version ?? text);
        } catch {
          return text;
        }
      }
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(25);
  }
  throw labError("toxiproxy", `API at ${url} did not answer within ${deadlineMs} ms (${last})`);
}

export interface ToxiproxyChoice {
  /** auto: real when found, else embedded. @default "auto" */
  server?: "auto" | "embedded" | "real";
  /** Attach to a server already running here instead of starting one. */
  url?: string | undefined;
  /** @default 0 (a free port) */
  port?: number;
  pidDir?: string;
}

/** Starts (or attaches to) the Toxiproxy the lab will use. */
export async function startLabToxiproxy(choice: ToxiproxyChoice = {}): Promise<LabToxiproxy> {
  const url = choice.url ?? process.env["TOXIPROXY_URL"];
  if (url) {
    const version = await waitForApi(url, 3000);
    return { url, kind: "real", owned: false, version, client: new Toxiproxy(url), close: async () => {} };
  }
  const server = choice.server ?? "auto";
  const { findToxiproxyServer, startEmbeddedToxiproxy, startRealToxiproxy } = await import(
    "../proxy/server.ts"
  );
  const binary = server === "embedded" ? undefined : findToxiproxyServer();
  if (server === "real" && !binary) {
    throw labError(
      "toxiproxy",
      "toxiproxy-server not found: put it on PATH, set TOXIPROXY_BIN, or use the embedded server",
    );
  }
  const started = binary
    ? await startRealToxiproxy({
        bin: binary,
        host: "127.0.0.1",
        ...(choice.port ? { port: choice.port } : {}),
        ...(choice.pidDir ? { pidDir: choice.pidDir } : {}),
      })
    : await startEmbeddedToxiproxy({ host: "127.0.0.1", port: choice.port ?? 0 });
  try {
    const version = await waitForApi(started.url, 3000);
    return {
      url: started.url,
      kind: binary ? "real" : "embedded",
      owned: true,
      version,
      client: new Toxiproxy(started.url),
      close: () => started.close(),
    };
  } catch (error) {
    await started.close();
    throw error;
  }
}

/** Creates a proxy on a free loopback port in front of `upstream`; returns its listen address. */
export async function createLabProxy(
  toxiproxy: LabToxiproxy,
  name: string,
  upstream: string,
): Promise<string> {
  try {
    const proxy = await toxiproxy.client.createProxy({ name, listen: "127.0.0.1:0", upstream });
    return proxy.listen;
  } catch (error) {
    throw labError(`proxy ${name}`, `could not be created on ${toxiproxy.url}: ${(error as Error).message}`);
  }
}
