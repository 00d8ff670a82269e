/**
 * The HTTP API of the embedded server, answering as Toxiproxy 2.12's api.go does: the
 * same routes, statuses, JSON bodies and error bodies (`{"error":"...","status":N}` as
 * text/plain with a newline, as Go's http.Error writes it). Requests that change state
 * are handled one at a time, as Toxiproxy serialises them with its collection lock.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  decodeScalar,
  type FieldSpec,
  GoJsonError,
  type GoValue,
  lookupKey,
  parseGoJson,
  TypeErrors,
} from "./gojson.ts";
import type { Direction, ToxicEntry } from "./link.ts";
import { ApiError, EmbeddedProxy, toxicJson } from "./proxy.ts";
import { TOXIC_KINDS } from "./toxics.ts";

/** The version the embedded server reports on GET /version. */
export const EMBEDDED_VERSION = "2.12.0-firedrill";

const POPULATE_TYPE = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }';
const TOXIC_UPDATE_TYPE =
  'struct { Attributes interface {} "json:\\"attributes\\""; Toxicity float32 "json:\\"toxicity\\"" }';

function badBody(message: string): ApiError {
  return new ApiError(`bad request body: ${message}`, 400);
}

function missingField(what: string): ApiError {
  return new ApiError(`missing required field: ${what}`, 400);
}

function parseBody(text: string): GoValue {
  try {
    return parseGoJson(text);
  } catch (error) {
    if (error instanceof GoJsonError) throw badBody(error.message);
    throw error;
  }
}

function spec(type: FieldSpec["type"], struct: string, path: string): FieldSpec {
  return { type, struct, path };
}

/** Decodes `{name, listen, upstream, enabled}` as Go decodes into a Proxy. */
function decodeProxy(
  v: GoValue,
  struct: string,
  prefix: string,
  notObject: string,
  errors: TypeErrors,
): Record<string, unknown> {
  if (v.kind === "null") return {};
  if (v.kind !== "object") {
    errors.add(`json: cannot unmarshal ${v.kind} into Go value of type ${notObject}`);
    return {};
  }
  const fields: Record<string, FieldSpec> = {
    name: spec("string", struct, `${prefix}name`),
    listen: spec("string", struct, `${prefix}listen`),
    upstream: spec("string", struct, `${prefix}upstream`),
    enabled: spec("bool", struct, "enabled"),
  };
  const out: Record<string, unknown> = {};
  for (const [key, item] of v.entries) {
    const found = lookupKey(fields, key);
    if (!found) continue;
    const decoded = decodeScalar(item, found[1], errors);
    if (decoded !== undefined) out[found[0]] = decoded;
  }
  return out;
}

/** Decodes a toxic's attributes into `target` (fields that decode are kept, as in Go). */
function decodeAttributes(
  v: GoValue,
  entryType: string,
  target: Record<string, number>,
  errors: TypeErrors,
  notObject: string,
): void {
  const kind = TOXIC_KINDS[entryType]!;
  if (v.kind === "null") return;
  if (v.kind !== "object") {
    errors.add(`json: cannot unmarshal ${v.kind} into ${notObject}`);
    return;
  }
  const fields: Record<string, FieldSpec> = {};
  for (const [name, type] of Object.entries(kind.fields)) {
    fields[name] = spec(type, kind.goStruct, `attributes.${name}`);
  }
  for (const [key, item] of v.entries) {
    const found = lookupKey(fields, key);
    if (!found) continue;
    const decoded = decodeScalar(item, found[1], errors);
    if (decoded !== undefined) target[found[0]] = decoded as number;
  }
}

type Handler = (req: IncomingMessage, params: string[], body: string) => Promise<Reply>;

interface Reply {
  status: number;
  body?: string;
  contentType?: string;
}

function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value), contentType: "application/json" };
}

/** The state and the request handling of one embedded server. */
export class ToxiproxyApi {
  readonly proxies = new Map<string, EmbeddedProxy>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly routes: Array<{ pattern: RegExp; methods: Record<string, Handler> }>;

  constructor() {
    this.routes = [
      { pattern: /^\/reset$/, methods: { POST: () => this.reset() } },
      {
        pattern: /^\/proxies$/,
        methods: { GET: async () => this.index(), POST: (_r, _p, b) => this.createProxy(b) },
      },
      { pattern: /^\/populate$/, methods: { POST: (_r, _p, b) => this.populate(b) } },
      {
        pattern: /^\/proxies\/([^/]+)$/,
        methods: {
          GET: async (_r, p) => json(200, this.get(p[0]!)),
          POST: (_r, p, b) => this.updateProxy(p[0]!, b),
          PATCH: (_r, p, b) => this.updateProxy(p[0]!, b),
          DELETE: async (_r, p) => this.deleteProxy(p[0]!),
        },
      },
      {
        pattern: /^\/proxies\/([^/]+)\/toxics$/,
        methods: {
          GET: async (_r, p) => json(200, this.get(p[0]!).toxics.all().map(toxicJson)),
          POST: (_r, p, b) => this.createToxic(p[0]!, b),
        },
      },
      {
        pattern: /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/,
        methods: {
          GET: async (_r, p) => json(200, toxicJson(this.toxic(p[0]!, p[1]!))),
          POST: (_r, p, b) => this.updateToxic(p[0]!, p[1]!, b),
          PATCH: (_r, p, b) => this.updateToxic(p[0]!, p[1]!, b),
          DELETE: (_r, p) => this.deleteToxic(p[0]!, p[1]!),
        },
      },
      {
        pattern: /^\/version$/,
        methods: {
          GET: async () => ({
            status: 200,
            body: `{"version": "${EMBEDDED_VERSION}"}\n`,
            contentType: "application/json;charset=utf-8",
          }),
        },
      },
    ];
  }

  /** Handles one HTTP request. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void this.dispatch(req, Buffer.concat(chunks).toString("utf8")).then((reply) => send(res, reply));
    });
    req.on("error", () => res.destroy());
  }

  private async dispatch(req: IncomingMessage, body: string): Promise<Reply> {
    if ((req.headers["user-agent"] ?? "").startsWith("Mozilla/")) {
      return { status: 403, body: "User agent not allowed\n", contentType: "text/plain; charset=utf-8" };
    }
    const path = (req.url ?? "/").split("?")[0]!;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const handler = route.methods[req.method ?? "GET"];
      if (!handler) return { status: 405 };
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        break;
      }
      const run = () => handler(req, params, body);
      try {
        return await (req.method === "GET" ? run() : this.serial(run));
      } catch (error) {
        return errorReply(error);
      }
    }
    return { status: 404, body: "404 page not found\n", contentType: "text/plain; charset=utf-8" };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private get(name: string): EmbeddedProxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new ApiError("proxy not found", 404);
    return proxy;
  }

  private toxic(proxyName: string, toxicName: string): ToxicEntry {
    const toxic = this.get(proxyName).toxics.find(toxicName);
    if (!toxic) throw new ApiError("toxic not found", 404);
    return toxic;
  }

  private index(): Reply {
    const out: Record<string, unknown> = {};
    for (const name of [...this.proxies.keys()].sort()) out[name] = this.proxies.get(name);
    return json(200, out);
  }

  private async reset(): Promise<Reply> {
    for (const proxy of this.proxies.values()) {
      if (!proxy.enabled) await proxy.start();
      await proxy.toxics.reset();
    }
    return { status: 204 };
  }

  private async createProxy(body: string): Promise<Reply> {
    const v = parseBody(body);
    const errors = new TypeErrors();
    const input = decodeProxy(v, "Proxy", "", "toxiproxy.Proxy", errors);
    if (errors.first) throw badBody(errors.first);
    const name = (input["name"] as string | undefined) ?? "";
    const upstream = (input["upstream"] as string | undefined) ?? "";
    const listen = (input["listen"] as string | undefined) ?? "";
    const enabled = (input["enabled"] as boolean | undefined) ?? true;
    if (name.length < 1) throw missingField("name");
    if (upstream.length < 1) throw missingField("upstream");
    if (this.proxies.has(name)) throw new ApiError("proxy already exists", 409);
    const proxy = new EmbeddedProxy(name, listen, upstream);
    if (enabled) await proxy.start();
    this.proxies.set(name, proxy);
    return json(201, proxy);
  }

  private async populate(body: string): Promise<Reply> {
    const created: EmbeddedProxy[] = [];
    const fail = (error: unknown): Reply => {
      const e = error instanceof ApiError ? error : new ApiError((error as Error).message, 500);
      return json(e.status, { error: e.message, status: e.status, proxies: created.length ? created : null });
    };
    let v: GoValue;
    try {
      v = parseBody(body);
    } catch (error) {
      return fail(error);
    }
    const errors = new TypeErrors();
    const inputs: Array<Record<string, unknown>> = [];
    if (v.kind === "array") {
      for (const item of v.items) {
        inputs.push(decodeProxy(item, "", "Proxy.", POPULATE_TYPE, errors));
      }
    } else if (v.kind !== "null") {
      errors.add(`json: cannot unmarshal ${v.kind} into Go value of type []${POPULATE_TYPE}`);
    }
    if (errors.first) return fail(badBody(errors.first));
    for (const [i, input] of inputs.entries()) {
      if (((input["name"] as string | undefined) ?? "").length < 1)
        return fail(missingField(`name at proxy ${i + 1}`));
      if (((input["upstream"] as string | undefined) ?? "").length < 1) {
        return fail(missingField(`upstream at proxy ${i + 1}`));
      }
    }
    for (const input of inputs) {
      const name = input["name"] as string;
      const listen = (input["listen"] as string | undefined) ?? "";
      const upstream = input["upstream"] as string;
      const enabled = (input["enabled"] as boolean | undefined) ?? true;
      try {
        const existing = this.proxies.get(name);
        if (existing) {
          if (!(await existing.differs(listen, upstream))) {
            created.push(existing);
            continue;
          }
          existing.stop();
        }
        const proxy = new EmbeddedProxy(name, listen, upstream);
        if (enabled) await proxy.start();
        this.proxies.set(name, proxy);
        created.push(proxy);
      } catch (error) {
        return fail(error);
      }
    }
    return json(201, { proxies: created.length ? created : null });
  }

  private async updateProxy(name: string, body: string): Promise<Reply> {
    const proxy = this.get(name);
    const v = parseBody(body);
    const errors = new TypeErrors();
    const input = decodeProxy(v, "Proxy", "", "toxiproxy.Proxy", errors);
    if (errors.first) throw badBody(errors.first);
    await proxy.update({
      listen: (input["listen"] as string | undefined) ?? proxy.listen,
      upstream: (input["upstream"] as string | undefined) ?? proxy.upstream,
      enabled: (input["enabled"] as boolean | undefined) ?? proxy.enabled,
    });
    return json(200, proxy);
  }

  private async deleteProxy(name: string): Promise<Reply> {
    const proxy = this.get(name);
    proxy.stop();
    this.proxies.delete(name);
    return { status: 204 };
  }

  private async createToxic(proxyName: string, body: string): Promise<Reply> {
    const proxy = this.get(proxyName);
    const v = parseBody(body);
    const errors = new TypeErrors();
    let name = "";
    let type = "";
    let stream = "downstream";
    let toxicity = 1;
    let attributes: GoValue | undefined;
    if (v.kind === "object") {
      const fields: Record<string, FieldSpec> = {
        name: spec("string", "ToxicWrapper", "name"),
        type: spec("string", "ToxicWrapper", "type"),
        stream: spec("string", "ToxicWrapper", "stream"),
        toxicity: spec("float32", "ToxicWrapper", "toxicity"),
        attributes: spec("string", "ToxicWrapper", "attributes"),
      };
      for (const [key, item] of v.entries) {
        const found = lookupKey(fields, key);
        if (!found) continue;
        if (found[0] === "attributes") {
          if (item.kind !== "object" && item.kind !== "null") {
            errors.add(
              `json: cannot unmarshal ${item.kind} into Go struct field ToxicWrapper.attributes of type toxics.NoopToxic`,
            );
          } else if (item.kind === "object") {
            attributes = item;
          }
          continue;
        }
        const decoded = decodeScalar(item, found[1], errors);
        if (decoded === undefined) continue;
        if (found[0] === "name") name = decoded as string;
        if (found[0] === "type") type = decoded as string;
        if (found[0] === "stream") stream = decoded as string;
        if (found[0] === "toxicity") toxicity = decoded as number;
      }
    } else if (v.kind !== "null") {
      errors.add(`json: cannot unmarshal ${v.kind} into Go value of type toxics.ToxicWrapper`);
    }
    if (errors.first) throw badBody(errors.first);
    const lower = stream.toLowerCase();
    if (lower !== "upstream" && lower !== "downstream") {
      throw new ApiError("stream was invalid, can be either upstream or downstream", 400);
    }
    const direction = lower as Direction;
    if (name === "") name = `${type}_${stream}`;
    const kind = TOXIC_KINDS[type];
    if (!kind) throw new ApiError("invalid toxic type", 400);
    if (proxy.toxics.find(name)) throw new ApiError("toxic already exists", 409);
    const values: Record<string, number> = {};
    for (const field of Object.keys(kind.fields)) values[field] = 0;
    if (attributes) decodeAttributes(attributes, type, values, errors, "");
    if (errors.first) throw badBody(errors.first);
    const entry: ToxicEntry = {
      name,
      type,
      stream,
      toxicity,
      attributes: values,
      direction,
      index: -1,
      kind,
      pipe: (stub) => kind.pipe(stub, values),
    };
    await proxy.toxics.add(entry);
    return json(200, toxicJson(entry));
  }

  private async updateToxic(proxyName: string, toxicName: string, body: string): Promise<Reply> {
    const proxy = this.get(proxyName);
    const toxic = this.toxic(proxyName, toxicName);
    const v = parseBody(body);
    const errors = new TypeErrors();
    let toxicity = toxic.toxicity;
    if (v.kind === "object") {
      const fields: Record<string, FieldSpec> = {
        attributes: spec("string", "", "attributes"),
        toxicity: spec("float32", "", "toxicity"),
      };
      for (const [key, item] of v.entries) {
        const found = lookupKey(fields, key);
        if (!found) continue;
        if (found[0] === "attributes") {
          decodeAttributes(
            item,
            toxic.type,
            toxic.attributes,
            errors,
            `Go struct field .attributes of type toxics.${toxic.kind.goStruct}`,
          );
          continue;
        }
        const decoded = decodeScalar(item, found[1], errors);
        if (decoded !== undefined) toxicity = decoded as number;
      }
    } else if (v.kind !== "null") {
      errors.add(`json: cannot unmarshal ${v.kind} into Go value of type ${TOXIC_UPDATE_TYPE}`);
    }
    if (errors.first) throw badBody(errors.first);
    toxic.toxicity = toxicity;
    await proxy.toxics.update(toxic);
    return json(200, toxicJson(toxic));
  }

  private async deleteToxic(proxyName: string, toxicName: string): Promise<Reply> {
    const proxy = this.get(proxyName);
    const toxic = this.toxic(proxyName, toxicName);
    await proxy.toxics.remove(toxic);
    return { status: 204 };
  }

  /** Stops every proxy (closing its listener and connections). */
  stopAll(): void {
    for (const proxy of this.proxies.values()) proxy.stop();
  }
}

function errorReply(error: unknown): Reply {
  const e = error instanceof ApiError ? error : new ApiError((error as Error)?.message ?? String(error), 500);
  return {
    status: e.status,
    body: `${JSON.stringify({ error: e.message, status: e.status })}\n`,
    contentType: "text/plain; charset=utf-8",
  };
}

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body ?? "";
  const headers: Record<string, string | number> = {
    "X-Toxiproxy-Request-Id": randomBytes(10).toString("hex"),
    "Content-Length": Buffer.byteLength(body),
  };
  if (reply.contentType) headers["Content-Type"] = reply.contentType;
  if (reply.contentType?.startsWith("text/plain")) headers["X-Content-Type-Options"] = "nosniff";
  res.writeHead(reply.status, headers);
  res.end(body);
}
