/**
 * Alert intake from anything that posts to a Slack incoming webhook
 * (https://api.slack.com/messaging/webhooks): a message
 * `{text?, blocks?, attachments?, ...}`, as Alertmanager's `slack_config` sends it (one
 * attachment `{title, text, fallback, color, ...}`, its title `[FIRING:n] ...` or
 * `[RESOLVED] ...`) or Grafana's Slack contact point does. Slack's webhook URL carries its
 * credential, the last segment of `https://hooks.slack.com/services/T.../B.../<token>`; here
 * the token is the run's secret, after the receiver's `/alerts/slack`: `/<secret>`, or
 * `/services/<anything>/<anything>/<secret>` so a Slack-shaped URL works as it is. Slack
 * answers a good message with 200 and a body of `ok` as text/html; senders (Alertmanager,
 * Grafana) read a non-JSON answer as an incoming webhook's and want exactly `ok`.
 */
import { z } from "zod";
import { checked, isSecret, missing } from "./credentials.ts";
import {
  type AuthResult,
  type IntakeFormat,
  type IntakeRequest,
  MalformedDelivery,
  type SenderAlert,
} from "./format.ts";
import { shaped } from "./shape.ts";

const text = z.string().optional();

const attachmentSchema = z.object({ title: text, fallback: text, text, color: text });

const messageSchema = z.object({
  text,
  attachments: z.array(attachmentSchema).optional(),
  blocks: z.array(z.looseObject({ type: z.string() })).optional(),
});
type SlackMessage = z.output<typeof messageSchema>;

/** The text object of a `section` or `header` block. */
const textBlock = z.object({ type: z.enum(["section", "header"]), text: z.object({ text: z.string() }) });

/** Slack's word for a message without text, attachments or blocks to show. */
export const NO_TEXT = "no_text";

function filled(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

/** The token the path after `/alerts/slack` presents, percent-decoded; undefined when there is none. */
function tokenOf(rest: string): string | undefined {
  const match = /^\/services\/[^/]+\/[^/]+\/([^/]+)$/.exec(rest) ?? /^\/(.+)$/.exec(rest);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1];
  }
}

function authenticate(request: IntakeRequest, secret: string): AuthResult {
  const token = tokenOf(request.rest);
  if (token === undefined) return missing;
  return checked(isSecret(token, secret));
}

function blockText(message: SlackMessage): string | undefined {
  for (const block of message.blocks ?? []) {
    const read = textBlock.safeParse(block);
    if (read.success && filled(read.data.text.text)) return read.data.text.text;
  }
  return undefined;
}

/** The message's text: `text`, else the first attachment's title, fallback or text, else a block's. */
function messageText(message: SlackMessage): string | undefined {
  const first = message.attachments?.[0];
  const candidates = [message.text, first?.title, first?.fallback, first?.text, blockText(message)];
  return candidates.find(filled);
}

function labelsOf(content: string, message: SlackMessage): Record<string, string> {
  const first = message.attachments?.[0];
  return {
    text: content,
    ...(filled(first?.title) ? { title: first.title } : {}),
    ...(filled(first?.color) ? { color: first.color } : {}),
  };
}

/** The status Alertmanager's default Slack title starts with: `[FIRING:2] ` or `[RESOLVED] `. */
const STATUS_PREFIX = /^\[(FIRING|RESOLVED)(?::\d+)?\]\s*/;

function parse(body: unknown): SenderAlert[] {
  const message = shaped(messageSchema, body);
  const content = messageText(message);
  if (content === undefined) throw new MalformedDelivery(NO_TEXT);
  const trimmed = content.trim();
  const first = trimmed.split("\n")[0]!.trim();
  // `[FIRING:2] X` and `[RESOLVED] X` are one alert, X: its resolution must end its firing.
  const status = STATUS_PREFIX.exec(first);
  const name = status === null ? first : first.slice(status[0].length).trim() || first;
  return [
    {
      name,
      status: status?.[1] === "RESOLVED" ? "resolved" : "firing",
      labels: labelsOf(content, message),
    },
  ];
}

export const slackFormat: IntakeFormat = {
  name: "slack",
  path: "/alerts/slack",
  authenticate,
  parse,
  accepted: { status: 200, contentType: "text/html", body: "ok" },
};
