import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { expect } from "chai";
import { ReplayGuard, SIGNATURE_HEADER, verifyWebhook } from "../../harness/contract/webhook.ts";
import {
  GIVEN_UP_AT_CLOSE,
  Pager,
  type PagerOptions,
  pagerDutyBody,
  slackBody,
  webhookBody,
} from "../../harness/gameday/pager.ts";
import type { PageChannel, PageMessage, PageOutcome } from "../../harness/gameday/types.ts";
import { until } from "../../harness/testing/until.ts";

/** One request as a stand-in receiver saw it. */
interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

type Answer = (received: Received, res: ServerResponse, index: number) => void;

/** A real HTTP receiver on 127.0.0.1 that records every request and answers with `answer`. */
async function receiver(answer: Answer, port = 0) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      const received = { path: req.url ?? "", headers: req.headers, body };
      requests.push(received);
      answer(received, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    port: (server.address() as AddressInfo).port,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port that nothing listens on (for now). */
async function deadPort(): Promise<number> {
  const server = await receiver((_r, res) => res.end());
  await server.close();
  return server.port;
}

/** A pager whose outcomes and log lines the test can read. */
function testPager(options: Omit<PagerOptions, "onOutcome" | "log"> = {}) {
  const outcomes: PageOutcome[] = [];
  const lines: string[] = [];
  const pager = new Pager({
    retryForMs: 3000,
    backoffMs: 10,
    maxBackoffMs: 50,
    timeoutMs: 1000,
    ...options,
    onOutcome: (o) => outcomes.push(o),
    log: (line) => lines.push(line),
  });
  return { pager, outcomes, lines };
}

const MESSAGE: PageMessage = {
  kind: "incident_alert",
  summary: "GameDay: CRITICAL_COLLATERAL_LOW on ethereum (tier 1)",
  text: "**Impact:** withdrawals paused & <b>queued</b>.\nNext update in 15 min.",
  severity: "high",
  roomUrl: "http://127.0.0.1:4100/room?token=tok-0123",
  incident: "gd-2024-05-01-a1b2",
  at: Date.UTC(2024, 4, 1, 12, 30, 0),
};

describe("gameday pager", () => {
  it("posts the documented Slack and PagerDuty bodies to their stand-ins", async () => {
    const slack = await receiver((_r, res) => res.writeHead(200, { "content-type": "text/plain" }).end("ok"));
    const pagerduty = await receiver((r, res) =>
      res.writeHead(202, { "content-type": "application/json" }).end(
        JSON.stringify({
          status: "success",
          message: "Event processed",
          dedup_key: (JSON.parse(r.body) as { dedup_key: string }).dedup_key,
        }),
      ),
    );
    const { pager, outcomes } = testPager();
    pager.send("Grace", { kind: "slack", url: `${slack.origin}/services/T000/B000/XXXX` }, MESSAGE);
    pager.send(
      "Ada",
      {
        kind: "pagerduty",
        url: `${pagerduty.origin}/v2/enqueue`,
        routingKey: "R0123456789abcdef0123456789abcdef",
      },
      MESSAGE,
    );
    await until("both outcomes", () => outcomes.length === 2, 5000);
    await pager.close();
    await slack.close();
    await pagerduty.close();

    const room = "<http://127.0.0.1:4100/room?token=tok-0123|incident room>";
    const slackExpected = {
      text: `GameDay: CRITICAL_COLLATERAL_LOW on ethereum (tier 1) ${room}`,
      blocks: [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text:
              `*GameDay: CRITICAL_COLLATERAL_LOW on ethereum (tier 1)* ${room}\n\n` +
              "*Impact:* withdrawals paused &amp; &lt;b&gt;queued&lt;/b&gt;.\nNext update in 15 min.",
          },
        },
        {
          type: "context",
          elements: [{ type: "mrkdwn", text: "Severity: *high* | Incident: gd-2024-05-01-a1b2" }],
        },
      ],
    };
    expect(slack.requests).to.have.length(1);
    expect(slack.requests[0]!.path).to.equal("/services/T000/B000/XXXX");
    expect(slack.requests[0]!.headers["content-type"]).to.equal("application/json");
    expect(JSON.parse(slack.requests[0]!.body)).to.deep.equal(slackExpected);
    expect(slackBody(MESSAGE)).to.deep.equal(slackExpected);

    const pagerDutyExpected = {
      routing_key: "R0123456789abcdef0123456789abcdef",
      event_action: "trigger",
      dedup_key: "gd-2024-05-01-a1b2",
      payload: {
        summary: "GameDay: CRITICAL_COLLATERAL_LOW on ethereum (tier 1)",
        source: "firedrill",
        severity: "error",
        timestamp: "2024-05-01T12:30:00.000Z",
        class: "incident_alert",
        custom_details: { kind: "incident_alert", incident: "gd-2024-05-01-a1b2", text: MESSAGE.text },
      },
      links: [{ href: "http://127.0.0.1:4100/room?token=tok-0123", text: "Incident room" }],
      client: "firedrill",
      client_url: "http://127.0.0.1:4100/room?token=tok-0123",
    };
    expect(pagerduty.requests).to.have.length(1);
    expect(pagerduty.requests[0]!.path).to.equal("/v2/enqueue");
    expect(pagerduty.requests[0]!.headers["content-type"]).to.equal("application/json");
    expect(JSON.parse(pagerduty.requests[0]!.body)).to.deep.equal(pagerDutyExpected);
    expect(pagerDutyBody("R0123456789abcdef0123456789abcdef", MESSAGE)).to.deep.equal(pagerDutyExpected);

    const byChannel = Object.fromEntries(outcomes.map((o) => [o.channel, o]));
    expect(byChannel["slack"]).to.include({
      to: "Grace",
      kind: "incident_alert",
      ok: true,
      attempts: 1,
      status: 200,
    });
    expect(byChannel["pagerduty"]).to.include({ to: "Ada", ok: true, attempts: 1, status: 202 });
    expect(byChannel["pagerduty"]).not.to.have.property("error");
    for (const o of outcomes) expect(o.at).to.be.at.least(o.firstAttemptAt);
  });

  it("maps kinds and severities for PagerDuty and keeps Slack and PagerDuty text within their limits", () => {
    const resolved = pagerDutyBody("key", { ...MESSAGE, kind: "resolved", severity: "critical" });
    expect(resolved.event_action).to.equal("resolve");
    expect(resolved.dedup_key).to.equal(MESSAGE.incident);
    expect(resolved.payload.severity).to.equal("critical");
    for (const kind of ["page", "escalation", "incident_alert", "update"] as const) {
      expect(pagerDutyBody("key", { ...MESSAGE, kind }).event_action, kind).to.equal("trigger");
    }
    expect(pagerDutyBody("key", { ...MESSAGE, severity: "medium" }).payload.severity).to.equal("warning");
    expect(pagerDutyBody("key", { ...MESSAGE, severity: "low" }).payload.severity).to.equal("info");

    const long: PageMessage = { ...MESSAGE, summary: "s&".repeat(2000), text: "**t** ".repeat(1000) };
    const pd = pagerDutyBody("key", long).payload.summary;
    expect(pd).to.have.length(1024);
    expect(pd.endsWith("…")).to.equal(true);
    const slack = slackBody(long);
    expect(slack.text.length).to.be.at.most(3000);
    expect(slack.text.endsWith(`<${MESSAGE.roomUrl}|incident room>`), "the room link survives").to.equal(
      true,
    );
    expect(slack.text, "no entity cut in half").not.to.match(/&(a|am|amp)?…/);
    expect(slack.blocks[0].text.text.length).to.be.at.most(3000);
    expect(slack.blocks[0].text.text.endsWith("…")).to.equal(true);

    const { summary, severity, roomUrl, incident, at } = MESSAGE;
    const plain = webhookBody({ kind: "update", summary, severity, roomUrl, incident, at });
    expect(plain).to.deep.equal({
      kind: "update",
      summary: MESSAGE.summary,
      severity: "high",
      room: MESSAGE.roomUrl,
      incident: MESSAGE.incident,
      at: "2024-05-01T12:30:00.000Z",
    });
  });

  it("signs a webhook page so that verifyWebhook accepts it", async () => {
    const secret = "whsec-gameday-0123456789abcdef";
    const guard = new ReplayGuard();
    const verdicts: string[] = [];
    const hook = await receiver((r, res) => {
      const verdict = verifyWebhook(
        secret,
        r.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
        r.body,
        Date.now(),
        guard,
      );
      verdicts.push(verdict.ok ? "ok" : verdict.reason);
      res.writeHead(204).end();
    });
    const { pager, outcomes } = testPager();
    pager.send("communications", { kind: "webhook", url: `${hook.origin}/hooks/page`, secret }, MESSAGE);
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await hook.close();
    expect(verdicts).to.deep.equal(["ok"]);
    expect(hook.requests[0]!.headers["content-type"]).to.equal("application/json");
    expect(JSON.parse(hook.requests[0]!.body)).to.deep.equal({
      kind: "incident_alert",
      summary: MESSAGE.summary,
      text: MESSAGE.text,
      severity: "high",
      room: MESSAGE.roomUrl,
      incident: MESSAGE.incident,
      at: "2024-05-01T12:30:00.000Z",
    });
    expect(outcomes[0]).to.include({
      to: "communications",
      channel: "webhook",
      ok: true,
      attempts: 1,
      status: 204,
    });
  });

  it("returns from send() while the receiver holds the first attempt, and retries 503s until it answers", async () => {
    let release: (() => void) | undefined;
    const hook = await receiver((_r, res, index) => {
      if (index === 0) release = () => res.writeHead(503).end();
      else if (index === 1) res.writeHead(503).end();
      else res.writeHead(200).end();
    });
    const secret = "whsec-retry-0123456789abcdef";
    const guard = new ReplayGuard();
    const { pager, outcomes } = testPager();
    pager.send("Ada", { kind: "webhook", url: hook.origin, secret }, MESSAGE);
    // send() has returned; the first attempt is now held open by the receiver, unanswered.
    await until("the first attempt at the receiver", () => release !== undefined, 5000);
    expect(outcomes, "outcomes while the first attempt is held").to.have.length(0);
    release!();
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await hook.close();
    expect(outcomes[0]).to.include({ ok: true, attempts: 3, status: 200 });
    // A retry carries the first attempt's signature: the receiver would refuse it as a replay.
    const signatures = new Set(hook.requests.map((r) => r.headers[SIGNATURE_HEADER.toLowerCase()]));
    expect(signatures.size).to.equal(1);
    const last = hook.requests[2]!;
    const header = last.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyWebhook(secret, header, last.body, Date.now(), guard).ok).to.equal(true);
  });

  it("retries a receiver that is down until one comes up on its port", async () => {
    // First a listener that cuts every connection, counting them; then a real receiver.
    const port = await deadPort();
    let cut = 0;
    const cutter = createTcpServer((socket) => {
      cut++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => cutter.listen(port, "127.0.0.1", () => resolve()));
    const { pager, outcomes } = testPager({ retryForMs: 10_000 });
    pager.send("Ada", { kind: "slack", url: `http://127.0.0.1:${port}/services/T1/B1/Z1` }, MESSAGE);
    await until("two attempts cut off", () => cut >= 2, 5000);
    await new Promise<void>((resolve) => cutter.close(() => resolve()));
    const slack = await receiver((_r, res) => res.writeHead(200).end("ok"), port);
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await slack.close();
    expect(outcomes[0]).to.include({ ok: true, status: 200 });
    expect(outcomes[0]!.attempts).to.be.at.least(3);
    expect(slack.requests).to.have.length(1);
  });

  it("does not retry a 400", async () => {
    const pagerduty = await receiver((_r, res) =>
      res.writeHead(400, { "content-type": "application/json" }).end('{"status":"invalid event"}'),
    );
    const { pager, outcomes } = testPager();
    pager.send(
      "Ada",
      { kind: "pagerduty", url: pagerduty.origin, routingKey: "rk-not-valid-000000" },
      MESSAGE,
    );
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await pagerduty.close();
    expect(outcomes[0]).to.include({ ok: false, attempts: 1, status: 400 });
    expect(outcomes[0]!.error).to.equal(`pagerduty at 127.0.0.1:${pagerduty.port}: HTTP 400`);
    expect(pagerduty.requests).to.have.length(1);
  });

  it("waits a 429's Retry-After, capped by maxBackoffMs", async () => {
    const times: number[] = [];
    const slack = await receiver((_r, res, index) => {
      times.push(performance.now());
      if (index === 0) res.writeHead(429, { "retry-after": "30" }).end();
      else res.writeHead(200).end("ok");
    });
    const { pager, outcomes } = testPager({ backoffMs: 1, maxBackoffMs: 300 });
    pager.send("Grace", { kind: "slack", url: `${slack.origin}/services/T/B/X` }, MESSAGE);
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await slack.close();
    expect(outcomes[0]).to.include({ ok: true, attempts: 2, status: 200 });
    const gap = times[1]! - times[0]!;
    expect(gap, "waited the Retry-After, not the 1 ms backoff").to.be.at.least(250);
    expect(gap, "the 30 s Retry-After was capped").to.be.below(3000);
  });

  it("gives up on close() what is still retrying, within the grace, and delivers what is in time", async () => {
    const down = await receiver((_r, res) => res.writeHead(503).end());
    const up = await receiver((_r, res) => res.writeHead(200).end("ok"));
    const { pager, outcomes } = testPager({ retryForMs: 60_000 });
    pager.send("Ada", { kind: "slack", url: `${down.origin}/services/T/B/X` }, MESSAGE);
    pager.send("Grace", { kind: "slack", url: `${up.origin}/services/T/B/Y` }, MESSAGE);
    await until("an attempt at the receiver that is down", () => down.requests.length > 0, 5000);
    const closing = performance.now();
    await pager.close(300);
    const took = performance.now() - closing;
    pager.send("Lin", { kind: "slack", url: `${up.origin}/services/T/B/Z` }, MESSAGE);
    await until("the refused message's outcome", () => outcomes.length === 3, 5000);
    await down.close();
    await up.close();
    expect(took, "close() kept to its grace").to.be.below(2000);
    const byName = Object.fromEntries(outcomes.map((o) => [o.to, o]));
    expect(byName["Grace"]).to.include({ ok: true, attempts: 1 });
    expect(byName["Ada"]).to.include({ ok: false, status: 503, error: GIVEN_UP_AT_CLOSE });
    expect(byName["Ada"]!.attempts).to.be.at.least(1);
    expect(byName["Lin"]).to.include({ ok: false, attempts: 0 });
    expect(up.requests, "nothing is sent after close()").to.have.length(1);
  });

  it("gives up when the retry time is over, naming the last answer", async () => {
    const slack = await receiver((_r, res) => res.writeHead(500).end());
    const { pager, outcomes } = testPager({ retryForMs: 300 });
    pager.send("Ada", { kind: "slack", url: `${slack.origin}/services/T/B/X` }, MESSAGE);
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    await slack.close();
    const o = outcomes[0]!;
    expect(o).to.include({
      ok: false,
      status: 500,
      error: `slack webhook at 127.0.0.1:${slack.port}: HTTP 500`,
    });
    expect(o.attempts).to.be.at.least(2);
    // Every attempt reached the receiver, but the last one may be cut by the end of the retry
    // time before the receiver has read it (a busy machine).
    expect(slack.requests.length).to.be.within(o.attempts - 1, o.attempts);
    expect(o.at - o.firstAttemptAt).to.be.below(2000);
  });

  it("prints a console page through log", async () => {
    const { pager, outcomes, lines } = testPager();
    pager.send("Lin", { kind: "console" }, { ...MESSAGE, kind: "page" });
    expect(lines, "nothing printed from inside send()").to.have.length(0);
    await until("the outcome", () => outcomes.length === 1, 5000);
    await pager.close();
    expect(lines).to.deep.equal([`page to Lin: ${MESSAGE.summary} - incident room ${MESSAGE.roomUrl}`]);
    expect(outcomes[0]).to.include({ to: "Lin", channel: "console", kind: "page", ok: true, attempts: 1 });
  });

  it("never puts the Slack URL's path, the routing key or the webhook secret in an outcome or a log line", async () => {
    const slackPath = "/services/TSLACKSECRET1/BSLACKSECRET2/slackpathsecret0123456789";
    const routingKey = "routingkeysecret0123456789abcdef";
    const secret = "webhooksecret-0123456789abcdef";
    // Receivers that fail in each way, some echoing what they got back in their answer.
    const failing = await receiver((r, res) => res.writeHead(r.path.includes("400") ? 400 : 503).end(r.body));
    const silent = await receiver(() => {
      // Never answers: every attempt times out.
    });
    const dead = await deadPort();
    const channels: Array<[string, PageChannel]> = [
      ["slack-503", { kind: "slack", url: `${failing.origin}${slackPath}?token=querysecret0123` }],
      ["slack-400", { kind: "slack", url: `${failing.origin}${slackPath}/400` }],
      ["slack-dead", { kind: "slack", url: `http://127.0.0.1:${dead}${slackPath}` }],
      ["slack-invalid", { kind: "slack", url: `not a url${slackPath}` }],
      ["slack-timeout", { kind: "slack", url: `${silent.origin}${slackPath}` }],
      ["pd-400", { kind: "pagerduty", url: `${failing.origin}/400`, routingKey }],
      ["pd-timeout", { kind: "pagerduty", url: silent.origin, routingKey }],
      ["webhook-503", { kind: "webhook", url: `${failing.origin}/hook`, secret }],
      ["webhook-dead", { kind: "webhook", url: `http://127.0.0.1:${dead}/hook?secret=${secret}`, secret }],
    ];
    const { pager, outcomes, lines } = testPager({ retryForMs: 400, timeoutMs: 100 });
    for (const [name, channel] of channels) pager.send(name, channel, MESSAGE);
    await until("every outcome", () => outcomes.length === channels.length, 10_000);
    // One more, given up by close() while it retries.
    const closing = await receiver((_r, res) => res.writeHead(503).end());
    const late = testPager({ retryForMs: 60_000 });
    late.pager.send("slack-closed", { kind: "slack", url: `${closing.origin}${slackPath}` }, MESSAGE);
    await until("an attempt of the late page", () => closing.requests.length > 0, 5000);
    await late.pager.close(50);
    await pager.close();
    await Promise.all([failing.close(), silent.close(), closing.close()]);

    const texts = [...outcomes, ...late.outcomes].map((o) => JSON.stringify(o)).concat(lines, late.lines);
    expect(lines.length, "every give-up is logged").to.equal(channels.length);
    for (const forbidden of [
      slackPath,
      "TSLACKSECRET1",
      "BSLACKSECRET2",
      "slackpathsecret0123456789",
      "querysecret0123",
      routingKey,
      secret,
    ]) {
      for (const text of texts) expect(text, `"${forbidden}" leaked`).not.to.include(forbidden);
    }
    const byName = Object.fromEntries(outcomes.map((o) => [o.to, o]));
    for (const [name] of channels) expect(byName[name], name).to.include({ ok: false });
    expect(byName["slack-503"]!.error).to.equal(`slack webhook at 127.0.0.1:${failing.port}: HTTP 503`);
    expect(byName["slack-dead"]!.error).to.match(/^slack webhook at 127\.0\.0\.1:\d+: network error/);
    expect(byName["slack-invalid"]).to.include({ attempts: 1 });
    expect(byName["slack-invalid"]!.error).to.match(/^slack webhook \(its URL is not valid\)/);
    expect(byName["pd-timeout"]!.error).to.match(/no answer within \d+ ms$/);
    expect(late.outcomes).to.have.length(1);
    expect(late.outcomes[0]).to.include({ ok: false, error: GIVEN_UP_AT_CLOSE });
  });
});
