import { type IncomingHttpHeaders, request } from "node:http";
import { networkInterfaces } from "node:os";
import { expect } from "chai";
import { roomListen } from "../../harness/gameday/command.ts";
import { template } from "../../harness/gameday/incident-form.ts";
import { roomPage } from "../../harness/gameday/page.ts";
import { openRoom, type Room, type RoomHandlers } from "../../harness/gameday/room.ts";
import {
  type RoomState,
  STEP_EVENT,
  type Step,
  type StepInput,
  StepRefused,
} from "../../harness/gameday/steps.ts";
import { HUMAN_STEPS, type HumanStep, type TimelineEvent } from "../../harness/runner/journal.ts";

/** A name (and an alert summary) that would run as script on a page that did not escape it. */
const HOSTILE = "<script>alert(1)</script>";
const HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;";
const STARTED = "2026-12-04T03:00:00.000Z";
const TEAM = [
  { name: "Ada", role: "on_call" },
  { name: "Grace", role: "incident_lead" },
  { name: HOSTILE, role: "communications" },
];
/** What the room shows, built by hand: one hostile alert, the team, and the steps taken so far. */
function roomState(timeline: readonly TimelineEvent[]): RoomState {
  const done = Object.fromEntries(
    HUMAN_STEPS.map((s) => [s, timeline.some((e) => e.kind === `human.${s}`)]),
  ) as Record<HumanStep, boolean>;
  return {
    title: "(tier 1)",
    blind: true,
    startedAt: STARTED,
    pagedAt: STARTED,
    ended: false,
    team: TEAM,
    alerts: [
      {
        at: STARTED,
        name: "ORACLE_STALE",
        severity: "critical",
        system: "price_oracles",
        chain: null,
        summary: HOSTILE,
      },
    ],
    timeline: timeline.map((e) => ({ at: e.at, kind: e.kind, who: e.who ?? null, summary: e.summary })),
    done,
    assessment: null,
    assessmentError: null,
    template: template(undefined, "high", true),
  };
}

/** Small real handlers: they check who is acting and record every step the room passes on. */
function recorder() {
  const steps: { step: Step; input: StepInput }[] = [];
  const timeline: TimelineEvent[] = [];
  const handlers: RoomHandlers = {
    state: () => roomState(timeline),
    step(step, input) {
      const who = TEAM.find((m) => m.name.toLowerCase() === input.who.trim().toLowerCase());
      if (!who) return new StepRefused(400, `"${input.who}" is not on the team`);
      steps.push({ step, input });
      const now = Date.now();
      const event: TimelineEvent = {
        at: new Date(now).toISOString(),
        t_ms: now - Date.parse(STARTED),
        kind: `human.${STEP_EVENT[step]}`,
        who: who.name,
        summary: `${who.name} took the step ${step}`,
      };
      timeline.push(event);
      return event;
    },
  };
  return { steps, timeline, handlers };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection; rejects with the socket's error (ECONNREFUSED...). */
function ask(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** This machine's first non-loopback IPv4 address, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

describe("gameday incident room", () => {
  let room: Room;
  let rec: ReturnType<typeof recorder>;
  const at = (path: string) => new URL(path, room.url).toString();
  const bearer = (token = room.token) => ({ authorization: `Bearer ${token}` });
  const post = (path: string, body: unknown, token = room.token) => {
    const o = json(body);
    return ask(at(path), { ...o, headers: { ...o.headers, ...bearer(token) } });
  };

  /** The room's cookie, as a browser gets it from the link in a page. */
  async function cookie(): Promise<string> {
    const answer = await ask(at(`/?token=${room.token}`));
    return String(answer.headers["set-cookie"]?.[0]).split(";")[0]!;
  }

  beforeEach(async () => {
    rec = recorder();
    room = await openRoom({ host: "127.0.0.1", port: 0, explicit: false }, rec.handlers);
  });
  afterEach(() => room.close());

  it("answers 401 with a page to a browser without the token, and 401 JSON to a wrong Bearer", async () => {
    expect(room.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(room.urlWithToken).to.equal(`${room.url}?token=${room.token}`);
    const page = await ask(at("/"));
    expect(page.status).to.equal(401);
    expect(page.headers["content-type"]).to.match(/^text\/html/);
    expect(page.body).to.include("carries the room&#39;s token");
    const wrongLink = await ask(at("/?token=not-the-token"));
    expect(wrongLink.status).to.equal(401);
    expect(wrongLink.headers["set-cookie"]).to.equal(undefined);
    const api = await ask(at("/api/state"), { headers: bearer("not-the-token") });
    expect(api.status).to.equal(401);
    expect(api.headers["content-type"]).to.match(/^application\/json/);
    expect(JSON.parse(api.body)).to.deep.equal({ error: "the room's token is missing or wrong" });
    const state = await ask(at("/api/state"), { headers: bearer() });
    expect(state.status).to.equal(200);
    expect((JSON.parse(state.body) as RoomState).team).to.deep.equal(TEAM);
    expect(rec.steps).to.deep.equal([]);
  });

  it("trades the link's token for an HttpOnly SameSite=Strict cookie that opens the page under a CSP with the script's nonce", async () => {
    const link = await ask(room.urlWithToken);
    expect(link.status).to.equal(303);
    expect(link.headers.location).to.equal("/");
    const setCookie = link.headers["set-cookie"] ?? [];
    expect(setCookie).to.have.length(1);
    expect(setCookie[0]).to.match(new RegExp(`^firedrill_room=${room.token};`));
    expect(setCookie[0]).to.include("HttpOnly");
    expect(setCookie[0]).to.include("SameSite=Strict");

    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const page = await ask(at("/"), { headers: { cookie: setCookie[0]!.split(";")[0]! } });
      expect(page.status).to.equal(200);
      expect(page.headers["content-type"]).to.match(/^text\/html/);
      const csp = String(page.headers["content-security-policy"]);
      expect(csp).to.match(/^default-src 'none';/);
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce, csp).to.be.a("string");
      const scripts = [...page.body.matchAll(/<script\b([^>]*)>/g)];
      expect(scripts).to.have.length(1);
      expect(scripts[0]![1]).to.equal(` nonce="${nonce}"`);
      nonces.push(nonce!);
    }
    expect(nonces[0], "a fresh nonce for every page").not.to.equal(nonces[1]);
  });

  it("records a step posted as JSON with the Bearer token, and answers the event", async () => {
    const answer = await post("/api/acknowledge", { who: "ada" });
    expect(answer.status, answer.body).to.equal(200);
    expect(answer.headers["content-type"]).to.match(/^application\/json/);
    const reply = JSON.parse(answer.body) as { ok: boolean; event: TimelineEvent };
    expect(reply.ok).to.equal(true);
    expect(reply.event).to.deep.include({ kind: "human.acknowledged", who: "Ada" });
    expect(reply.event).to.deep.equal(rec.timeline[0]);
    expect(rec.steps).to.deep.equal([
      { step: "acknowledge", input: { who: "ada", note: undefined, form: undefined } },
    ]);
    const refused = await post("/api/acknowledge", { who: "Nobody" });
    expect(refused.status).to.equal(400);
    expect(JSON.parse(refused.body).error).to.equal('"Nobody" is not on the team');
    const state = JSON.parse((await ask(at("/api/state"), { headers: bearer() })).body) as RoomState;
    expect(state.done.acknowledged).to.equal(true);
  });

  it("takes the page's urlencoded forms with the cookie and redirects back to the step", async () => {
    const headers = { cookie: await cookie(), "content-type": "application/x-www-form-urlencoded" };
    const ack = await ask(at("/act/acknowledge"), { method: "POST", headers, body: "who=Grace" });
    expect(ack.status, ack.body).to.equal(303);
    expect(ack.headers.location).to.equal("/#acknowledge");
    const form = new URLSearchParams([
      ["who", "Grace"],
      ["form", "1"],
      ["severity", "critical"],
      ["impact", "mints paused"],
      ["actions", "verified"],
      ["actions", "team"],
    ]);
    const sent = await ask(at("/act/communicate"), { method: "POST", headers, body: form.toString() });
    expect(sent.status, sent.body).to.equal(303);
    expect(sent.headers.location).to.equal("/#communicate");
    expect(rec.steps.map((s) => s.step)).to.deep.equal(["acknowledge", "communicate"]);
    expect(rec.steps[1]!.input.form).to.deep.equal({
      severity: "critical",
      impact: "mints paused",
      actions: ["verified", "team"],
    });
  });

  it("refuses a body over 64 KiB (413), a body that is not JSON (400) and an incident form with a bad severity (400)", async () => {
    for (const size of [64 * 1024 + 1, 1024 * 1024]) {
      const big = await ask(at("/api/update"), {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer() },
        body: JSON.stringify({ who: "Ada", note: "x".repeat(size) }),
      });
      expect(big.status, `${size} bytes`).to.equal(413);
      expect(JSON.parse(big.body).error).to.equal("the body is over 65536 bytes");
    }
    const notJson = await ask(at("/api/acknowledge"), {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer() },
      body: "{who: Ada",
    });
    expect(notJson.status).to.equal(400);
    expect(JSON.parse(notJson.body).error).to.equal("the body is not JSON");
    const badSeverity = await post("/api/communicate", { who: "Ada", form: { severity: "apocalyptic" } });
    expect(badSeverity.status).to.equal(400);
    expect(JSON.parse(badSeverity.body).error).to.match(/^severity: one of critical, high, medium, low/);
    const badForm = await ask(at("/act/communicate"), {
      method: "POST",
      headers: { cookie: await cookie(), "content-type": "application/x-www-form-urlencoded" },
      body: "who=Ada&form=1&severity=apocalyptic",
    });
    expect(badForm.status).to.equal(400);
    expect(badForm.headers["content-type"]).to.match(/^text\/html/);
    expect(badForm.body).to.include("severity: one of critical, high, medium, low");
    expect(rec.steps, "nothing reached the handlers").to.deep.equal([]);
  });

  it("answers 404 to an unknown page and 204 to the favicon, without the token", async () => {
    const unknown = await ask(at("/unknown"), { headers: bearer() });
    expect(unknown.status).to.equal(404);
    const unknownStep = await post("/api/deploy", { who: "Ada" });
    expect(unknownStep.status).to.equal(404);
    const favicon = await ask(at("/favicon.ico"));
    expect(favicon.status).to.equal(204);
    expect(favicon.body).to.equal("");
  });

  it("renders a hostile responder name and alert summary escaped", async () => {
    expect((await post("/api/assess", { who: HOSTILE })).status).to.equal(200);
    const page = await ask(at("/"), { headers: bearer() });
    expect(page.status).to.equal(200);
    expect(page.body).not.to.include(HOSTILE);
    expect(page.body).to.include(
      `<option value="${HOSTILE_ESCAPED}">${HOSTILE_ESCAPED} (communications)</option>`,
    );
    expect(page.body).to.include(`<td>${HOSTILE_ESCAPED}</td></tr>`);
    expect(page.body).to.include(
      `<td>${HOSTILE_ESCAPED}</td><td>${HOSTILE_ESCAPED} took the step assess</td>`,
    );
    expect([...page.body.matchAll(/<script/g)]).to.have.length(1);
  });

  it("gives every form field a <label for> that matches its id", () => {
    const html = roomPage(roomState([]), "nonce");
    const fields = [...html.matchAll(/<(input|select|textarea)\b[^>]*>/g)].map((m) => m[0]);
    const ids: string[] = [];
    for (const field of fields) {
      if (/\btype="hidden"/.test(field)) continue;
      const id = /\bid="([^"]+)"/.exec(field)?.[1];
      expect(id, `${field} has an id`).to.be.a("string");
      expect(new RegExp(`<label\\b[^>]*\\bfor="${id}"`).test(html), `a label for ${id}`).to.equal(true);
      ids.push(id!);
    }
    expect(new Set(ids).size, "ids are unique").to.equal(ids.length);
    // A "You are" per step, the incident alert's fields and its four actions, the notes.
    expect(ids).to.include.members([
      "acknowledge-who",
      "communicate-severity",
      "communicate-time",
      "communicate-verified",
      "communicate-regulator",
      "communicate-nextSteps",
      "resolve-note",
    ]);
    expect(fields.filter((f) => /\btype="hidden"/.test(f))).to.have.length(1);
  });
});

describe("gameday incident room beyond loopback", () => {
  const rooms: Room[] = [];
  afterEach(async () => {
    await Promise.all(rooms.splice(0).map((r) => r.close()));
  });
  const open = async (listen: Parameters<typeof openRoom>[0]) => {
    const room = await openRoom(listen, recorder().handlers);
    rooms.push(room);
    return room;
  };
  const through = (address: string, room: Room) => `http://${address}:${new URL(room.url).port}/`;

  it("refuses another machine with 403 unless --listen named the address", async function () {
    const address = outsideAddress();
    if (address === undefined) {
      console.log("      skipped: this machine has no non-loopback IPv4 address");
      this.skip();
    }
    const implicit = await open({ host: "0.0.0.0", port: 0, explicit: false });
    expect(implicit.url, "the link shown names loopback").to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const refused = await ask(through(address, implicit), {
      headers: { authorization: `Bearer ${implicit.token}` },
    });
    expect(refused.status).to.equal(403);
    expect(refused.body).to.include("--listen");
    expect((await ask(implicit.url)).status, "loopback still gets to the token check").to.equal(401);
    const explicit = await open({ host: "0.0.0.0", port: 0, explicit: true });
    const past = await ask(through(address, explicit));
    expect(past.status, "past the address check, to the token's").to.equal(401);
    expect(
      (await ask(through(address, explicit), { headers: { authorization: `Bearer ${explicit.token}` } }))
        .status,
    ).to.equal(200);
  });

  it("listens on loopback by default: the non-loopback address refuses the connection", async function () {
    const address = outsideAddress();
    if (address === undefined) {
      console.log("      skipped: this machine has no non-loopback IPv4 address");
      this.skip();
    }
    const listen = roomListen(undefined);
    expect(listen).to.deep.equal({ host: "127.0.0.1", port: 0, explicit: false });
    const room = await open(listen);
    expect((await ask(room.url)).status).to.equal(401);
    const error = await ask(through(address, room)).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).to.equal("ECONNREFUSED");
  });
});
