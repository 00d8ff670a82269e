/**
 * A proxy of the embedded server: a listener, the connections it accepted, and the toxics
 * applied to them. Behaviour follows Toxiproxy 2.12's proxy.go and toxic_collection.go:
 * disabling closes the listener and every live connection; the listen address shown is
 * the bound one once started; errors quote Go's messages.
 */
import { lookup } from "node:dns/promises";
import { connect, createServer, isIP, type Server, type Socket } from "node:net";
import { formatFloat32 } from "./gojson.ts";
import { type Connection, type Direction, Link, type ToxicEntry } from "./link.ts";
import { TOXIC_KINDS } from "./toxics.ts";

/** An error that the API answers with `{"error": message, "status": status}`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** Splits `host:port` like Go's net.SplitHostPort; throws Go's message. */
export function splitHostPort(address: string): { host: string; port: string } {
  const missingPort = () => new ApiError(`address ${address}: missing port in address`, 500);
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    if (end < 0) throw new ApiError(`address ${address}: missing ']' in address`, 500);
    if (end + 1 >= address.length || address[end + 1] !== ":") throw missingPort();
    return { host: address.slice(1, end), port: address.slice(end + 2) };
  }
  const last = address.lastIndexOf(":");
  if (last < 0) throw missingPort();
  const host = address.slice(0, last);
  if (host.includes(":")) throw new ApiError(`address ${address}: too many colons in address`, 500);
  return { host, port: address.slice(last + 1) };
}

function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves a listen address to an IP and port (Go prefers IPv4 for a host name). */
async function resolveListen(address: string): Promise<{ host: string; port: number; shown: string }> {
  // Go listens on every interface for an empty address, as for ":0".
  const { host, port } = address === "" ? { host: "", port: "0" } : splitHostPort(address);
  if (!/^[0-9]*$/.test(port)) throw new ApiError(`lookup tcp/${port}: unknown port`, 500);
  const portNumber = port === "" ? 0 : Number(port);
  if (portNumber > 65535) throw new ApiError(`address ${address}: invalid port`, 500);
  if (host === "") return { host: "", port: portNumber, shown: `:${portNumber}` };
  if (isIP(host)) return { host, port: portNumber, shown: formatAddress(host, portNumber) };
  if (host === "localhost") return { host: "127.0.0.1", port: portNumber, shown: `127.0.0.1:${portNumber}` };
  const all = await lookup(host, { all: true }).catch(() => []);
  const pick = all.find((a) => a.family === 4) ?? all[0];
  if (!pick) throw new ApiError(`lookup ${host}: no such host`, 500);
  return { host: pick.address, port: portNumber, shown: formatAddress(pick.address, portNumber) };
}

/** Where to connect for an upstream `host:port`; undefined when it is not one. */
function upstreamTarget(upstream: string): { host: string; port: number } | undefined {
  let parts: { host: string; port: string };
  try {
    parts = splitHostPort(upstream);
  } catch {
    return undefined;
  }
  const port = Number(parts.port);
  if (!/^[0-9]+$/.test(parts.port) || port > 65535) return undefined;
  return { host: parts.host === "" ? "127.0.0.1" : parts.host, port };
}

function listenErrorMessage(address: string, error: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    EADDRINUSE: "bind: address already in use",
    EADDRNOTAVAIL: "bind: cannot assign requested address",
    EACCES: "bind: permission denied",
  };
  return `listen tcp ${address}: ${why[error.code ?? ""] ?? error.message}`;
}

/** How long a toxic change may wait on one live connection before that connection is cut. */
const LINK_CHANGE_TIMEOUT_MS = 5000;

const NOOP_HEAD = (direction: Direction): ToxicEntry => ({
  name: "",
  type: "noop",
  stream: direction,
  toxicity: 1,
  attributes: {},
  direction,
  index: 0,
  kind: TOXIC_KINDS["noop"]!,
  pipe: (stub) => TOXIC_KINDS["noop"]!.pipe(stub, {}),
});

/** The toxics of one proxy, one chain per direction, each headed by a hidden noop. */
export class ToxicCollection {
  readonly chains: Record<Direction, ToxicEntry[]> = {
    upstream: [NOOP_HEAD("upstream")],
    downstream: [NOOP_HEAD("downstream")],
  };
  readonly links = new Set<Link>();

  chain(direction: Direction): ToxicEntry[] {
    return this.chains[direction];
  }

  removeLink(link: Link): void {
    this.links.delete(link);
  }

  /** Every toxic, upstream first, in the order added (as Toxiproxy lists them). */
  all(): ToxicEntry[] {
    return [...this.chains.upstream.slice(1), ...this.chains.downstream.slice(1)];
  }

  find(name: string): ToxicEntry | undefined {
    return this.all().find((t) => t.name === name);
  }

  private linksOf(direction: Direction): Link[] {
    return [...this.links].filter((l) => l.direction === direction);
  }

  /**
   * Runs a change on every live link of a direction. A link whose toxic cannot be
   * interrupted in time (its peer stopped reading, so the chain is blocked on a write) has
   * its connection cut instead, so that the API never hangs; Toxiproxy would block here.
   */
  private async onLinks(direction: Direction, change: (link: Link) => Promise<void>): Promise<void> {
    await Promise.all(
      this.linksOf(direction).map(async (link) => {
        let timer: NodeJS.Timeout | undefined;
        const done = change(link);
        const late = await Promise.race([
          done.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), LINK_CHANGE_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        if (!late) return;
        link.conn.client.destroy();
        link.conn.upstream.destroy();
        await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1000))]);
        link.dead = true;
        this.links.delete(link);
      }),
    );
  }

  async add(toxic: ToxicEntry): Promise<void> {
    const chain = this.chains[toxic.direction];
    toxic.index = chain.length;
    chain.push(toxic);
    await this.onLinks(toxic.direction, (l) => l.addToxic(toxic));
  }

  async update(toxic: ToxicEntry): Promise<void> {
    await this.onLinks(toxic.direction, (l) => l.updateToxic(toxic));
  }

  async remove(toxic: ToxicEntry): Promise<void> {
    const chain = this.chains[toxic.direction];
    const index = toxic.index;
    chain.splice(index, 1);
    for (let i = index; i < chain.length; i++) chain[i]!.index = i;
    await this.onLinks(toxic.direction, (l) => l.removeToxic(toxic, index));
    toxic.index = -1;
  }

  async reset(): Promise<void> {
    for (const direction of ["upstream", "downstream"] as const) {
      while (this.chains[direction].length > 1) await this.remove(this.chains[direction][1]!);
    }
  }
}

export class EmbeddedProxy {
  readonly name: string;
  listen: string;
  upstream: string;
  enabled = false;
  readonly toxics = new ToxicCollection();
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();

  constructor(name: string, listen: string, upstream: string) {
    this.name = name;
    this.listen = listen;
    this.upstream = upstream;
  }

  /** The JSON Toxiproxy shows for a proxy (with its `Logger` field, a quirk of 2.12). */
  toJSON(): object {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      Logger: {},
      toxics: this.toxics.all().map(toxicJson),
    };
  }

  /** Starts listening; throws Go's message when the address is bad or taken. */
  async start(): Promise<void> {
    if (this.enabled) throw new ApiError("Proxy already started", 500);
    let resolved: { host: string; port: number; shown: string };
    try {
      resolved = await resolveListen(this.listen);
    } catch (error) {
      throw new ApiError(`listen tcp: ${(error as Error).message}`, 500);
    }
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true });
    server.on("connection", (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => {
        reject(new ApiError(listenErrorMessage(resolved.shown, error), 500));
      });
      const options =
        resolved.host === "" ? { port: resolved.port } : { host: resolved.host, port: resolved.port };
      server.listen({ ...options, exclusive: true }, () => resolve());
    });
    server.removeAllListeners("error");
    server.on("error", () => {});
    const bound = server.address();
    if (bound && typeof bound === "object") {
      const host = resolved.host === "" ? "::" : bound.address;
      this.listen = formatAddress(host, bound.port);
    }
    this.server = server;
    this.enabled = true;
  }

  /** Closes the listener and every live connection. */
  stop(): void {
    if (!this.enabled) return;
    this.enabled = false;
    const server = this.server;
    this.server = undefined;
    server?.close();
    for (const conn of this.connections) {
      for (const socket of [conn.client, conn.upstream]) {
        if (conn.lingerZero && !socket.destroyed && !socket.connecting) socket.resetAndDestroy();
        else socket.destroy();
      }
    }
    this.connections.clear();
  }

  /** Whether `listen` and `upstream` differ from this proxy's (Toxiproxy's Differs). */
  async differs(listen: string, upstream: string): Promise<boolean> {
    const resolved = await resolveListen(listen);
    return this.listen !== resolved.shown || this.upstream !== upstream;
  }

  /** Applies an update of listen, upstream and enabled (Toxiproxy's Proxy.Update). */
  async update(input: { listen: string; upstream: string; enabled: boolean }): Promise<void> {
    if (await this.differs(input.listen, input.upstream)) {
      this.stop();
      this.listen = input.listen;
      this.upstream = input.upstream;
    }
    if (input.enabled !== this.enabled) {
      if (input.enabled) await this.start();
      else this.stop();
    }
  }

  private accept(client: Socket): void {
    const target = upstreamTarget(this.upstream);
    if (target === undefined) {
      client.destroy();
      return;
    }
    client.on("error", () => {});
    const upstream = connect({ ...target, noDelay: true, allowHalfOpen: true });
    upstream.on("error", () => {});
    const conn: Connection = { client, upstream, lingerZero: false };
    this.connections.add(conn);
    let started = false;
    const forget = () => {
      if (client.destroyed && upstream.destroyed) this.connections.delete(conn);
    };
    client.once("close", () => {
      if (!started) upstream.destroy();
      forget();
    });
    upstream.once("close", () => {
      if (!started) client.destroy();
      forget();
    });
    upstream.once("connect", () => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      started = true;
      client.setKeepAlive(true, 15_000);
      upstream.setKeepAlive(true, 15_000);
      for (const direction of ["upstream", "downstream"] as const) {
        const link = new Link(this.toxics, conn, direction);
        this.toxics.links.add(link);
        link.start();
      }
      client.resume();
    });
  }
}

/** The JSON Toxiproxy shows for a toxic. */
export function toxicJson(t: ToxicEntry): object {
  const attributes: Record<string, number> = {};
  for (const name of Object.keys(t.kind.fields)) attributes[name] = t.attributes[name] ?? 0;
  return { attributes, name: t.name, type: t.type, stream: t.stream, toxicity: formatFloat32(t.toxicity) };
}
