/**
 * The one way the harness talks to Toxiproxy (real or embedded): `toxiproxy-node-client`,
 * with its gaps covered. The library throws on any non-2xx answer and drops the body;
 * here its HTTP layer is swapped for one that keeps the status and Toxiproxy's error
 * message. It has no way to re-read a proxy with its toxics; `proxy()` does that. Every
 * failure becomes a FiredrillError (FD300, exit 3) that names the proxy and the action.
 */
import { type ToxicType, Toxiproxy, ToxiproxyError } from "toxiproxy-node-client";
import { FiredrillError } from "../errors.ts";
import { sleep } from "../process.ts";
import { redact } from "../redact.ts";

export type ToxicStream = "upstream" | "downstream";

/** A toxic as Toxiproxy shows it. */
export interface ToxicInfo {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, number>;
}

/** A proxy as Toxiproxy shows it, with its toxics. */
export interface ProxyInfo {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicInfo[];
}

export interface ProxySpec {
  name: string;
  /** `host:port`; port 0 picks a free port (read the bound one from the answer). */
  listen: string;
  upstream: string;
  /** @default true */
  enabled?: boolean;
}

export interface ToxicSpec {
  /** @default `<type>_<stream>` */
  name?: string;
  type: ToxicType | "noop";
  /** @default "downstream" */
  stream?: ToxicStream;
  /** Probability that a connection gets the toxic. @default 1 */
  toxicity?: number;
  attributes?: Record<string, number>;
}

/** A non-2xx answer from Toxiproxy, with its status and error message. */
export class ToxiproxyHttpError extends ToxiproxyError {
  readonly status: number;
  /** Toxiproxy's `error` field, or the raw body when it is not JSON. */
  readonly serverMessage: string;

  constructor(method: string, url: string, status: number, body: string) {
    let serverMessage = body.trim();
    try {
      const parsed = JSON.parse(body) as { error?: unknown };
      if (typeof parsed.error === "string") serverMessage = parsed.error;
    } catch {
      // Not JSON (405, 404 page): keep the text.
    }
    super(
      "ToxiproxyHttpError",
      `${method} ${url}: HTTP ${status}${serverMessage ? `: ${serverMessage}` : ""}`,
    );
    this.status = status;
    this.serverMessage = serverMessage;
  }
}

/** Same contract as the library's HttpClient, but errors keep the status and body. */
class BodyKeepingHttpClient {
  async get<T>(url: string): Promise<{ data: T }> {
    return this.request<T>("GET", url);
  }
  async post<T>(url: string, body?: unknown): Promise<{ data: T }> {
    return this.request<T>("POST", url, body);
  }
  async delete(url: string): Promise<void> {
    await this.request("DELETE", url);
  }
  async getText(url: string): Promise<string> {
    return (await this.fetch("GET", url)).text();
  }

  private async fetch(method: string, url: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ToxiproxyError(
        "Error",
        `${method} ${url}: ${cause?.code ?? cause?.message ?? String(error)}`,
      );
    }
    if (!res.ok) throw new ToxiproxyHttpError(method, url, res.status, await res.text());
    return res;
  }

  private async request<T>(method: string, url: string, body?: unknown): Promise<{ data: T }> {
    const text = await (await this.fetch(method, url, body)).text();
    if (text.length === 0) return { data: undefined as T };
    try {
      return { data: JSON.parse(text) as T };
    } catch (error) {
      throw new ToxiproxyError(
        "Error",
        `${method} ${url}: the answer is not JSON: ${(error as Error).message}`,
      );
    }
  }
}

function toxicInfo(raw: ToxicInfo): ToxicInfo {
  return {
    name: raw.name,
    type: raw.type,
    stream: raw.stream,
    toxicity: raw.toxicity,
    attributes: { ...raw.attributes },
  };
}

function proxyInfo(raw: ProxyInfo): ProxyInfo {
  return {
    name: raw.name,
    listen: raw.listen,
    upstream: raw.upstream,
    enabled: raw.enabled,
    toxics: (raw.toxics ?? []).map(toxicInfo),
  };
}

/** The HTTP status of a Toxiproxy failure wrapped by this client, if there was an answer. */
export function toxiproxyStatus(error: unknown): number | undefined {
  const cause = error instanceof FiredrillError ? error.cause : error;
  return cause instanceof ToxiproxyHttpError ? cause.status : undefined;
}

/** Talks to one Toxiproxy server (real or embedded) through toxiproxy-node-client. */
export class ToxiproxyClient {
  readonly url: string;
  /** The library's client, with its HTTP layer replaced (see the module comment). */
  readonly toxiproxy: Toxiproxy;
  private readonly http = new BodyKeepingHttpClient();

  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
    this.toxiproxy = new Toxiproxy(this.url);
    // Proxy and Toxic objects take the HTTP client from here when they are made.
    (this.toxiproxy as unknown as { api: BodyKeepingHttpClient }).api = this.http;
  }

  private fail(what: string, error: unknown): FiredrillError {
    const why =
      error instanceof ToxiproxyHttpError
        ? `HTTP ${error.status}${error.serverMessage ? ` (${error.serverMessage})` : ""}`
        : error instanceof Error
          ? error.message
          : String(error);
    return new FiredrillError("FD300", redact(`toxiproxy at ${this.url}: ${what}: ${why}`), { cause: error });
  }

  private async attempt<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.fail(what, error);
    }
  }

  /** The server's version string. */
  async version(): Promise<string> {
    return this.attempt("could not read the version", async () => {
      const text = await this.toxiproxy.getVersion();
      try {
        return String((JSON.parse(text) as { version: unknown }).version);
      } catch {
        return text.trim();
      }
    });
  }

  /** Polls GET /version until it answers. @default timeoutMs 10000 */
  async waitReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.toxiproxy.getVersion();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw this.fail(`not ready within ${timeoutMs} ms`, error);
        await sleep(50);
      }
    }
  }

  /** Creates a proxy; the answer shows the bound listen address. */
  async createProxy(spec: ProxySpec): Promise<ProxyInfo> {
    return this.attempt(
      `could not create proxy "${spec.name}" (${spec.listen} -> ${spec.upstream})`,
      async () => {
        const created = await this.toxiproxy.createProxy({ ...spec, enabled: spec.enabled ?? true });
        return proxyInfo({ ...created.toJson(), toxics: [] });
      },
    );
  }

  /** Creates or replaces several proxies at once (POST /populate). */
  async populate(specs: ProxySpec[]): Promise<ProxyInfo[]> {
    return this.attempt(
      `could not populate proxies ${specs.map((s) => `"${s.name}"`).join(", ")}`,
      async () => {
        const { data } = await this.http.post<{ proxies: ProxyInfo[] | null }>(`${this.url}/populate`, specs);
        return (data.proxies ?? []).map(proxyInfo);
      },
    );
  }

  /** Reads a proxy again, with its toxics (the refresh the library lacks). */
  async proxy(name: string): Promise<ProxyInfo> {
    return this.attempt(`could not read proxy "${name}"`, async () => {
      const { data } = await this.http.get<ProxyInfo>(`${this.url}/proxies/${encodeURIComponent(name)}`);
      return proxyInfo(data);
    });
  }

  /** Every proxy, by name. */
  async proxies(): Promise<Record<string, ProxyInfo>> {
    return this.attempt("could not list proxies", async () => {
      const { data } = await this.http.get<Record<string, ProxyInfo>>(`${this.url}/proxies`);
      return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, proxyInfo(v)]));
    });
  }

  /** Enables or disables a proxy; disabling closes its listener and live connections. */
  async setEnabled(name: string, enabled: boolean): Promise<ProxyInfo> {
    return this.attempt(`could not ${enabled ? "enable" : "disable"} proxy "${name}"`, async () => {
      const proxy = await this.toxiproxy.get(name);
      await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
      const { data } = await this.http.get<ProxyInfo>(`${this.url}/proxies/${encodeURIComponent(name)}`);
      return proxyInfo(data);
    });
  }

  /** Deletes a proxy. */
  async removeProxy(name: string): Promise<void> {
    await this.attempt(`could not remove proxy "${name}"`, async () => {
      const proxy = await this.toxiproxy.get(name);
      await proxy.remove();
    });
  }

  /** Adds a toxic to a proxy; returns it as the server shows it. */
  async addToxic(proxyName: string, spec: ToxicSpec): Promise<ToxicInfo> {
    const stream = spec.stream ?? "downstream";
    const name = spec.name ?? `${spec.type}_${stream}`;
    return this.attempt(`proxy "${proxyName}": could not add toxic "${name}"`, async () => {
      const proxy = await this.toxiproxy.get(proxyName);
      const toxic = await proxy.addToxic({
        name,
        type: spec.type as ToxicType,
        stream,
        toxicity: spec.toxicity ?? 1,
        attributes: spec.attributes ?? {},
      });
      return toxicInfo(toxic.toJson() as ToxicInfo);
    });
  }

  /** Changes a toxic's attributes (merged into the current ones) or toxicity. */
  async updateToxic(
    proxyName: string,
    toxicName: string,
    change: { attributes?: Record<string, number>; toxicity?: number },
  ): Promise<ToxicInfo> {
    return this.attempt(`proxy "${proxyName}": could not update toxic "${toxicName}"`, async () => {
      const proxy = await this.toxiproxy.get(proxyName);
      const toxic = await proxy.getToxic<Record<string, number>>(toxicName);
      const updated = await toxic.update({
        ...toxic.toJson(),
        attributes: { ...toxic.attributes, ...change.attributes },
        toxicity: change.toxicity ?? toxic.toxicity,
      });
      return toxicInfo(updated.toJson() as ToxicInfo);
    });
  }

  /** Removes a toxic. With `ifPresent`, a toxic or proxy already gone is not an error. */
  async removeToxic(
    proxyName: string,
    toxicName: string,
    options: { ifPresent?: boolean } = {},
  ): Promise<void> {
    try {
      await this.attempt(`proxy "${proxyName}": could not remove toxic "${toxicName}"`, async () => {
        const proxy = await this.toxiproxy.get(proxyName);
        const toxic = await proxy.getToxic(toxicName);
        await toxic.remove();
      });
    } catch (error) {
      if (options.ifPresent && toxiproxyStatus(error) === 404) return;
      throw error;
    }
  }

  /**
   * Adds a toxic and returns its removal, which is idempotent (a toxic already gone,
   * e.g. after a reset, is fine).
   */
  async injectToxic(proxyName: string, spec: ToxicSpec): Promise<() => Promise<void>> {
    const toxic = await this.addToxic(proxyName, spec);
    let removed = false;
    return async () => {
      if (removed) return;
      await this.removeToxic(proxyName, toxic.name, { ifPresent: true });
      removed = true;
    };
  }

  /** Re-enables every proxy and removes every toxic (POST /reset). */
  async reset(): Promise<void> {
    await this.attempt("could not reset", () => this.toxiproxy.reset());
  }
}
