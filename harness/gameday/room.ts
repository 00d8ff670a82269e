/**
 * The incident room: a web page firedrill serves for the length of a GameDay, and the API
 * behind it that the terminal commands use.
 *
 *   GET  /?token=T        sets the room's cookie and redirects to /
 *   GET  /                the page (cookie or `Authorization: Bearer T`)
 *   GET  /api/state       what the page shows, as JSON
 *   POST /api/<step>      a step as JSON {who, note?, form?}; answers the recorded event
 *   POST /act/<step>      the page's forms (urlencoded); redirects back to the page
 *
 * Every request but the favicon needs the room's token (401 otherwise). The room listens on
 * loopback unless `--listen` asks for more, and then still refuses a request from another
 * machine unless the listen address was given explicitly.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TimelineEvent } from "../runner/journal.ts";
import { formProblems, type IncidentForm } from "./incident-form.ts";
import { errorPage, roomPage } from "./page.ts";
import { type RoomState, STEPS, type Step, type StepInput, StepRefused } from "./steps.ts";

export interface RoomListen {
  host: string;
  port: number;
  /** True when `--listen` named the address: only then may other machines reach the room. */
  explicit: boolean;
}

export interface RoomHandlers {
  state(): RoomState;
  step(step: Step, input: StepInput): TimelineEvent | StepRefused;
}

export interface Room {
  /** Epoch ms of the last time a page asked for the room; 0 when none has. */
  lastSeen(): number;
  /** The room's address, without the token (for the journal). */
  url: string;
  /** The address a page links to: with the token. */
  urlWithToken: string;
  token: string;
  close(): Promise<void>;
}

const COOKIE = "firedrill_room";
const MAX_BODY = 64 * 1024;

/** Opens the room on `listen`; it answers until `close`. */
export async function openRoom(listen: RoomListen, handlers: RoomHandlers): Promise<Room> {
  const token = randomBytes(24).toString("base64url");
  let seen = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/") seen = Date.now();
    handle(req, res, token, listen, handlers).catch(() => {
      if (!res.headersSent) send(res, 500, "text/plain", "the room could not answer");
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const shown = host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host;
  const url = `http://${shown}:${port}/`;
  return {
    lastSeen: () => seen,
    url,
    urlWithToken: `${url}?token=${token}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7).trim();
  const cookie = req.headers.cookie
    ?.split(";")
    .map((c) => c.trim().split("="))
    .find(([k]) => k === COOKIE);
  return cookie?.[1];
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  listen: RoomListen,
  handlers: RoomHandlers,
): Promise<void> {
  if (!listen.explicit && !isLoopback(req.socket.remoteAddress))
    return send(
      res,
      403,
      "text/plain",
      "the room answers this machine only (start the GameDay with --listen)",
    );
  const url = new URL(req.url ?? "/", "http://room");
  if (url.pathname === "/favicon.ico") return send(res, 204, "text/plain", "");
  if (req.method === "GET" && url.pathname === "/" && url.searchParams.has("token")) {
    if (!sameToken(url.searchParams.get("token") ?? undefined, token))
      return send(res, 401, "text/html", errorPage("This link's token is not the room's."));
    res.writeHead(303, {
      location: "/",
      "set-cookie": `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      "cache-control": "no-store",
    });
    res.end();
    return;
  }
  if (!sameToken(tokenOf(req), token)) {
    const json = url.pathname.startsWith("/api/");
    return json
      ? send(res, 401, "application/json", JSON.stringify({ error: "the room's token is missing or wrong" }))
      : send(
          res,
          401,
          "text/html",
          errorPage("Open the room from the link in your page: it carries the room's token."),
        );
  }
  if (req.method === "GET" && url.pathname === "/") {
    const nonce = randomBytes(12).toString("base64");
    return send(res, 200, "text/html", roomPage(handlers.state(), nonce), nonce);
  }
  if (req.method === "GET" && url.pathname === "/api/state")
    return send(res, 200, "application/json", JSON.stringify(handlers.state()));
  const match = /^\/(api|act)\/([a-z]+)$/.exec(url.pathname);
  if (req.method === "POST" && match && (STEPS as readonly string[]).includes(match[2]!))
    return act(req, res, match[1] === "act", match[2] as Step, handlers);
  return send(res, 404, "text/plain", "no such page in the room");
}

async function act(
  req: IncomingMessage,
  res: ServerResponse,
  fromForm: boolean,
  step: Step,
  handlers: RoomHandlers,
): Promise<void> {
  const refuse = (status: number, message: string) =>
    fromForm
      ? send(res, status, "text/html", errorPage(message))
      : send(res, status, "application/json", JSON.stringify({ error: message }));
  const raw = await readBody(req);
  if (raw === undefined) return refuse(413, `the body is over ${MAX_BODY} bytes`);
  const input = fromForm ? fromFormBody(raw) : fromJson(raw);
  if (typeof input === "string") return refuse(400, input);
  if (input.who.trim() === "") return refuse(400, "who: say who you are (your name as in the team)");
  const problems = input.form ? formProblems(input.form) : [];
  if (problems.length > 0) return refuse(400, problems.join("; "));
  const done = handlers.step(step, input);
  if (done instanceof StepRefused) return refuse(done.status, done.message);
  if (fromForm) {
    res.writeHead(303, { location: `/#${step}`, "cache-control": "no-store" });
    res.end();
    return;
  }
  send(res, 200, "application/json", JSON.stringify({ ok: true, event: done }));
}

/** A step posted as JSON, or what is wrong with it. */
function fromJson(raw: string): StepInput | string {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return "the body is not JSON";
  }
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b["who"] !== "string") return "who: a name, as a string";
  if (b["note"] !== undefined && typeof b["note"] !== "string") return "note: a string";
  if (b["form"] !== undefined && (typeof b["form"] !== "object" || b["form"] === null))
    return "form: an object of the incident alert's fields";
  return {
    who: b["who"],
    note: b["note"] as string | undefined,
    form: b["form"] as Partial<IncidentForm> | undefined,
  };
}

const FORM_KEYS = [
  "severity",
  "time",
  "system",
  "impact",
  "status",
  "nextSteps",
  "owner",
  "timeline",
] as const;

function fromFormBody(raw: string): StepInput {
  const params = new URLSearchParams(raw);
  const form: Record<string, unknown> = {};
  for (const key of FORM_KEYS) {
    const v = params.get(key);
    if (v !== null) form[key] = v;
  }
  if (params.has("form")) form["actions"] = params.getAll("actions");
  return {
    who: params.get("who") ?? "",
    note: params.get("note") ?? undefined,
    form: Object.keys(form).length > 0 ? (form as Partial<IncidentForm>) : undefined,
  };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit: stopping early closes the connection under a client
  // still sending, which then sees a reset instead of the 413.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY ? undefined : Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, type: string, body: string, nonce?: string): void {
  res.writeHead(status, {
    "content-type": `${type}; charset=utf-8`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    // Nothing leaves the room: no resource from elsewhere, no form posted elsewhere.
    "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  });
  res.end(body);
}
