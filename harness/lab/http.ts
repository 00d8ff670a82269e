/**
 * The lab's small HTTP servers (price sources, regulator, control) share this: JSON in
 * and out, 127.0.0.1 only, and a close that also ends keep-alive connections.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { labError } from "../errors.ts";

export interface JsonReply {
  status: number;
  body?: unknown;
}

export type Handler = (request: {
  method: string;
  path: string;
  params: Record<string, string>;
  body: unknown;
  headers: IncomingMessage["headers"];
}) => JsonReply | Promise<JsonReply>;

/** Routes like `GET /price/:pair`. */
export type Routes = Record<string, Handler>;

export interface JsonServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return undefined;
  }
  return params;
}

/** The request's JSON body, or the answer that refuses it (too large, not JSON). */
async function readBody(req: IncomingMessage): Promise<{ body: unknown } | { refused: JsonReply }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { refused: { status: 413, body: { error: "body too large" } } };
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { body: undefined };
  try {
    return { body: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { refused: { status: 400, body: { error: "body is not JSON" } } };
  }
}

function send(res: ServerResponse, reply: JsonReply): void {
  const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Starts a JSON server for `routes` on 127.0.0.1. @default port 0 (a free port) */
export async function serveJson(name: string, routes: Routes, port = 0): Promise<JsonServer> {
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(" ") as [string, string];
    return { method, pattern, handler };
  });
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    try {
      for (const route of table) {
        if (route.method !== req.method) continue;
        const params = match(route.pattern, path);
        if (!params) continue;
        const read = await readBody(req);
        if ("refused" in read) return send(res, read.refused);
        const { body } = read;
        send(res, await route.handler({ method: req.method, path, params, body, headers: req.headers }));
        return;
      }
      send(res, { status: 404, body: { error: `no route ${req.method} ${path}` } });
    } catch (error) {
      send(res, { status: 500, body: { error: (error as Error).message } });
    }
  });
  // Longer than any client keeps an idle connection (Node's fetch: 4 s), so that the client
  // always closes first: a server closing an idle connection just as a client sends on it
  // loses that request, and a POST (a fault's control call) is not sent again.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(labError(name, error.code === "EADDRINUSE" ? `port ${port} is already in use` : error.message)),
    );
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
