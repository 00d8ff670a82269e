/**
 * The GameDay's pager: every page, escalation, incident alert, update and resolution goes
 * out through it to a responder's channel (Slack, PagerDuty, a signed webhook or the
 * console). Delivery happens in the background with retries, like the stack's alert
 * webhook (harness/stack/webhook.ts), so that paging never holds up the drill, and a
 * channel that is down for a while delays a page instead of losing it. Each message ends
 * in exactly one PageOutcome, which the GameDay records.
 *
 * Channel addresses are secrets (a Slack webhook URL is itself the credential, PagerDuty
 * has its routing key, a webhook its signing secret): outcomes and log lines name the
 * channel's kind and at most its host.
 */
import { SIGNATURE_HEADER, signWebhook } from "../contract/webhook.ts";
import { backoffMs, sleep } from "../process.ts";
import { redact } from "../redact.ts";
import type { PageChannel, PageMessage, PageOutcome, Severity } from "./types.ts";

export interface PagerOptions {
  /** Called once per message, when it is delivered or given up. */
  onOutcome: (outcome: PageOutcome) => void;
  /** Where console pages and give-ups are written. @default console.log */
  log?: (line: string) => void;
  /** How long a delivery is retried, from its first attempt, ms. @default 60000 */
  retryForMs?: number;
  /** First retry delay; doubles each retry up to `maxBackoffMs`. @default 200 */
  backoffMs?: number;
  /** Longest wait between two attempts, a Retry-After included. @default 5000 */
  maxBackoffMs?: number;
  /** Per attempt. @default 5000 */
  timeoutMs?: number;
}

/** The error of every delivery that `close()` cut short. */
export const GIVEN_UP_AT_CLOSE = "given up: the drill ended";

/** Slack's limit on the text of one section block; the fallback text is kept within it too. */
export const SLACK_SECTION_LIMIT = 3000;
/** PagerDuty's limit on `payload.summary`. */
export const PAGERDUTY_SUMMARY_LIMIT = 1024;

/** A Slack incoming-webhook message: fallback text for notifications, blocks for display. */
export interface SlackBody {
  text: string;
  blocks: [
    { type: "section"; text: { type: "mrkdwn"; text: string } },
    { type: "context"; elements: [{ type: "mrkdwn"; text: string }] },
  ];
}

/** A PagerDuty Events API v2 event. */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: "trigger" | "resolve";
  dedup_key: string;
  payload: {
    summary: string;
    source: "firedrill";
    severity: "critical" | "error" | "warning" | "info";
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: { kind: PageMessage["kind"]; incident: string; text?: string };
  };
  links: Array<{ href: string; text: string }>;
  client: "firedrill";
  client_url: string;
}

/** The JSON a generic webhook receives (signed with SIGNATURE_HEADER). */
export interface WebhookPageBody {
  kind: PageMessage["kind"];
  summary: string;
  /** Absent when the message has no Markdown body. */
  text?: string;
  severity: Severity;
  room: string;
  incident: string;
  /** ISO 8601. */
  at: string;
}

const PAGERDUTY_SEVERITY = {
  critical: "critical",
  high: "error",
  medium: "warning",
  low: "info",
} as const satisfies Record<Severity, PagerDutyEvent["payload"]["severity"]>;

const KIND_LABEL = {
  page: "page",
  escalation: "escalation",
  incident_alert: "incident alert",
  update: "update",
  resolved: "resolution",
} as const satisfies Record<PageMessage["kind"], string>;

/** Cuts `text` to at most `max` characters, the last one an ellipsis, never inside a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Slack's mrkdwn treats `&`, `<` and `>` as control characters; these three are escaped, nothing else. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Like truncate, for escaped Slack text: an entity cut in half (`&am`) is dropped rather than shown. */
function truncateSlack(text: string, max: number): string {
  const cut = truncate(text, max);
  return cut === text ? text : cut.slice(0, -1).replace(/&[a-z]{0,3}$/, "") + "…";
}

/** The minimal Markdown to mrkdwn conversion a page needs: Slack's bold is a single asterisk. */
function slackMarkdown(markdown: string): string {
  return slackEscape(markdown).replace(/\*\*(.+?)\*\*/g, "*$1*");
}

/** The message's summary and a link to the incident room, the way Slack shows a link. */
function slackHeadline(message: PageMessage, bold: boolean): string {
  const link = `<${slackEscape(message.roomUrl)}|incident room>`;
  // Two asterisks and a space besides the link: the summary gets what is left of the limit.
  const room = SLACK_SECTION_LIMIT - link.length - 3;
  const summary = truncateSlack(slackEscape(message.summary), Math.max(0, room));
  return bold ? `*${summary}* ${link}` : `${summary} ${link}`;
}

/**
 * The Slack incoming-webhook body of a message: `text` is the one-line summary with the
 * room link (what notifications show), the blocks show it with the Markdown text and a
 * context line of severity and incident id. Slack displays the blocks instead of `text`,
 * so the room link is in the section too.
 */
export function slackBody(message: PageMessage): SlackBody {
  const headline = slackHeadline(message, true);
  const section =
    message.text === undefined || message.text === ""
      ? headline
      : truncateSlack(`${headline}\n\n${slackMarkdown(message.text)}`, SLACK_SECTION_LIMIT);
  const context = `Severity: *${message.severity}* | Incident: ${slackEscape(message.incident)}`;
  return {
    text: slackHeadline(message, false),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: section } },
      { type: "context", elements: [{ type: "mrkdwn", text: truncateSlack(context, SLACK_SECTION_LIMIT) }] },
    ],
  };
}

/**
 * The PagerDuty Events API v2 event of a message. Every message of one incident shares the
 * incident id as `dedup_key`: the first triggers the PagerDuty incident, later triggers
 * (escalations, updates) are merged into it, and the resolution resolves it.
 */
export function pagerDutyBody(routingKey: string, message: PageMessage): PagerDutyEvent {
  const details: PagerDutyEvent["payload"]["custom_details"] = {
    kind: message.kind,
    incident: message.incident,
  };
  if (message.text !== undefined) details.text = message.text;
  return {
    routing_key: routingKey,
    event_action: message.kind === "resolved" ? "resolve" : "trigger",
    dedup_key: message.incident,
    payload: {
      summary: truncate(message.summary, PAGERDUTY_SUMMARY_LIMIT),
      source: "firedrill",
      severity: PAGERDUTY_SEVERITY[message.severity],
      timestamp: new Date(message.at).toISOString(),
      class: message.kind,
      custom_details: details,
    },
    links: [{ href: message.roomUrl, text: "Incident room" }],
    client: "firedrill",
    client_url: message.roomUrl,
  };
}

/** The JSON body of a message to a generic webhook. */
export function webhookBody(message: PageMessage): WebhookPageBody {
  return {
    kind: message.kind,
    summary: message.summary,
    ...(message.text === undefined ? {} : { text: message.text }),
    severity: message.severity,
    room: message.roomUrl,
    incident: message.incident,
    at: new Date(message.at).toISOString(),
  };
}

type HttpChannel = Exclude<PageChannel, { kind: "console" }>;

/** What one delivery posts: the body is made, and a webhook's signature taken, once. */
interface Request {
  url: string;
  body: string;
  headers: Record<string, string>;
}

function requestFor(channel: HttpChannel, message: PageMessage): Request {
  const headers: Record<string, string> = { "content-type": "application/json" };
  switch (channel.kind) {
    case "slack":
      return { url: channel.url, body: JSON.stringify(slackBody(message)), headers };
    case "pagerduty":
      return { url: channel.url, body: JSON.stringify(pagerDutyBody(channel.routingKey, message)), headers };
    case "webhook": {
      const body = JSON.stringify(webhookBody(message));
      // Signed once: a retry carries the first attempt's signature, so a receiver that
      // already counted it refuses the retry as a replay instead of counting it twice.
      headers[SIGNATURE_HEADER] = signWebhook(channel.secret, body, Date.now());
      return { url: channel.url, body, headers };
    }
  }
}

/** How a channel is named in outcomes and logs: its kind and host, never its path, query or key. */
export function describeChannel(channel: PageChannel): string {
  const name = { slack: "slack webhook", pagerduty: "pagerduty", webhook: "webhook", console: "console" }[
    channel.kind
  ];
  if (channel.kind === "console") return name;
  try {
    return `${name} at ${new URL(channel.url).host}`;
  } catch {
    return `${name} (its URL is not valid)`;
  }
}

/**
 * The secret parts of a channel: the URL, its path and query and their longer pieces (a
 * Slack URL's path is its credential), the routing key, the signing secret.
 */
function secretsOf(channel: HttpChannel): string[] {
  const secrets = [channel.url];
  if (channel.kind === "pagerduty") secrets.push(channel.routingKey);
  if (channel.kind === "webhook") secrets.push(channel.secret);
  try {
    const url = new URL(channel.url);
    secrets.push(url.pathname + url.search, url.search, ...url.pathname.split("/"));
    for (const [key, value] of url.searchParams) secrets.push(key, value);
  } catch {
    // An unparsable URL is hidden whole, above.
  }
  return secrets.filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
}

/** `text` with every secret of `channel` taken out; text from a network library may quote the URL. */
function scrub(text: string, channel: HttpChannel): string {
  let out = text;
  for (const secret of secretsOf(channel)) out = out.split(secret).join("<redacted>");
  return redact(out);
}

/** Why an attempt failed without an answer, in words that hold no part of the URL. */
function networkFailure(error: unknown, channel: HttpChannel, timeoutMs: number): string {
  const err = error as Error & { cause?: { code?: unknown; message?: unknown } };
  if (err?.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code === "ERR_INVALID_URL") return "not sent: the URL does not parse";
  if (typeof code === "string") return `network error (${code})`;
  const cause = typeof err?.cause?.message === "string" ? `: ${err.cause.message}` : "";
  return scrub(`network error: ${err?.message ?? String(error)}${cause}`, channel);
}

/** A Retry-After given in seconds, in ms; undefined when absent or given as a date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Number(header) * 1000;
}

/** What one attempt came to. */
type Attempt =
  | { kind: "answer"; status: number; retryAfterMs: number | undefined }
  | { kind: "failed"; error: string; retry: boolean };

interface Delivery {
  to: string;
  channel: PageChannel;
  message: PageMessage;
}

/**
 * Delivers PageMessages in the background. `send()` queues a message and returns at once;
 * a delivery is retried on network errors, timeouts, 5xx and 429 (after its Retry-After,
 * when it gives one in seconds) with exponential backoff for `retryForMs`, and ends in
 * one call of `onOutcome`. `close()` ends the drill's paging.
 */
export class Pager {
  readonly #onOutcome: PagerOptions["onOutcome"];
  readonly #log: (line: string) => void;
  readonly #retryForMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #timeoutMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  /** Aborted once closing has waited its grace: attempts and retries still under way stop. */
  readonly #stop = new AbortController();

  constructor(options: PagerOptions) {
    this.#onOutcome = options.onOutcome;
    this.#log = options.log ?? ((line) => console.log(line));
    this.#retryForMs = options.retryForMs ?? 60_000;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Queues one message to `to` on `channel`; never throws, never waits for the delivery. */
  send(to: string, channel: PageChannel, message: PageMessage): void {
    const delivery = this.#run({ to, channel, message }, !this.#closed).finally(() =>
      this.#inFlight.delete(delivery),
    );
    this.#inFlight.add(delivery);
  }

  /**
   * Stops taking messages, waits up to `graceMs` for the deliveries under way, then gives
   * up the rest: each still gets its outcome, with the error GIVEN_UP_AT_CLOSE.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closed = true;
    const pending = Promise.allSettled([...this.#inFlight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.#stop.abort();
    await pending;
  }

  async #run(delivery: Delivery, accepted: boolean): Promise<void> {
    // Out of send()'s own turn: onOutcome and log are never called from inside send().
    await Promise.resolve();
    let outcome: PageOutcome;
    try {
      if (!accepted) outcome = this.#outcome(delivery, Date.now(), 0, "not sent: the drill had ended");
      else if (delivery.channel.kind === "console") outcome = this.#print(delivery);
      else outcome = await this.#post(delivery, delivery.channel);
    } catch (error) {
      // A console page fails in its one attempt (the log threw); an HTTP one before its
      // first, while its body was made.
      const printing = delivery.channel.kind === "console";
      const why = printing ? String(error) : scrub(String(error), delivery.channel as HttpChannel);
      const where = describeChannel(delivery.channel);
      outcome = this.#outcome(delivery, Date.now(), printing ? 1 : 0, `${where}: ${why}`);
    }
    this.#report(outcome);
  }

  #print(delivery: Delivery): PageOutcome {
    const { message } = delivery;
    const at = Date.now();
    this.#log(
      `${KIND_LABEL[message.kind]} to ${delivery.to}: ${message.summary} - incident room ${message.roomUrl}`,
    );
    return this.#outcome(delivery, at, 1);
  }

  /** Posts until a 2xx, an answer not worth retrying, the end of the retry time or close(). */
  async #post(delivery: Delivery, channel: HttpChannel): Promise<PageOutcome> {
    const request = requestFor(channel, delivery.message);
    const firstAttemptAt = Date.now();
    const deadline = firstAttemptAt + this.#retryForMs;
    let attempts = 0;
    let status: number | undefined;
    let error = "";
    let wait = 0;
    for (;;) {
      if (attempts > 0) {
        if (Date.now() + wait >= deadline) break;
        await sleep(wait, this.#stop.signal);
      }
      if (this.#stop.signal.aborted) {
        error = GIVEN_UP_AT_CLOSE;
        break;
      }
      attempts++;
      // Its timeout shortened to what is left of the retry time.
      const cutShort = deadline - Date.now() < this.#timeoutMs;
      const attempt = await this.#attempt(request, channel, deadline);
      if (this.#stop.signal.aborted && attempt.kind === "failed") {
        error = GIVEN_UP_AT_CLOSE;
        break;
      }
      if (attempt.kind === "failed") {
        // An attempt cut short by the end of the retry time says less than the answer before it.
        if (error === "" || !cutShort) error = attempt.error;
        if (!attempt.retry) break;
      } else {
        status = attempt.status;
        if (status >= 200 && status < 300)
          return this.#outcome(delivery, firstAttemptAt, attempts, undefined, status);
        error = `HTTP ${status}`;
        if (status < 500 && status !== 429) break;
      }
      wait = this.#nextWait(attempts, attempt.kind === "answer" ? attempt.retryAfterMs : undefined);
    }
    const why = error === GIVEN_UP_AT_CLOSE ? error : `${describeChannel(channel)}: ${error}`;
    return this.#outcome(delivery, firstAttemptAt, attempts, why, status);
  }

  /** The wait before the next attempt: the answer's Retry-After, or the doubling backoff; at most maxBackoffMs. */
  #nextWait(attempts: number, retryAfter: number | undefined): number {
    if (retryAfter !== undefined) return Math.min(this.#maxBackoffMs, retryAfter);
    return backoffMs(attempts, this.#backoffMs, this.#maxBackoffMs);
  }

  async #attempt(request: Request, channel: HttpChannel, deadline: number): Promise<Attempt> {
    const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, deadline - Date.now()));
    try {
      const response = await fetch(request.url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(timeoutMs)]),
      });
      // Read to the end, so the connection can be used again; what it says is not needed.
      await response.arrayBuffer().catch(() => undefined);
      return {
        kind: "answer",
        status: response.status,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
      };
    } catch (error) {
      // A URL that does not parse will not parse on the next attempt either.
      const retry = (error as { cause?: { code?: unknown } })?.cause?.code !== "ERR_INVALID_URL";
      return { kind: "failed", error: networkFailure(error, channel, timeoutMs), retry };
    }
  }

  #outcome(
    delivery: Delivery,
    firstAttemptAt: number,
    attempts: number,
    error?: string,
    status?: number,
  ): PageOutcome {
    const outcome: PageOutcome = {
      to: delivery.to,
      channel: delivery.channel.kind,
      kind: delivery.message.kind,
      ok: error === undefined,
      attempts,
      firstAttemptAt,
      at: Date.now(),
    };
    if (status !== undefined) outcome.status = status;
    if (error !== undefined) outcome.error = error;
    return outcome;
  }

  /** Hands the outcome on; a give-up is also logged. A throwing handler never stops the pager. */
  #report(outcome: PageOutcome): void {
    if (!outcome.ok) {
      const tries = outcome.attempts === 1 ? "1 attempt" : `${outcome.attempts} attempts`;
      this.#safeLog(
        `pager: ${KIND_LABEL[outcome.kind]} to ${outcome.to} failed after ${tries}: ${outcome.error}`,
      );
    }
    try {
      this.#onOutcome(outcome);
    } catch (error) {
      this.#safeLog(`pager: the outcome handler failed: ${redact(String(error))}`);
    }
  }

  #safeLog(line: string): void {
    try {
      this.#log(line);
    } catch {
      // A log that cannot be written is no reason to lose the outcome.
    }
  }
}
