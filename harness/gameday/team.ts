/**
 * team.yml: who takes part in a GameDay, in escalation order, and how each is paged.
 *
 *   version: 1
 *   responders:
 *     - name: Ada
 *       role: on_call
 *       page: { pagerduty: { routing_key: ${PD_ROUTING_KEY} } }
 *     - name: Grace
 *       role: incident_lead
 *       page: { slack: ${SLACK_ONCALL_WEBHOOK} }
 *     - name: Lin
 *       role: communications
 *       page: console
 *   communications:            # where the incident alert and updates go (optional)
 *     - slack: ${SLACK_INCIDENT_CHANNEL}
 *
 * Secrets stay out of the file: `${NAME}` is replaced by the environment variable, and a
 * variable that is not set is an error at its line. Plain http is allowed to loopback only
 * (a local stand-in); anything else must be https.
 */
import { z } from "zod";
import {
  type FieldPath,
  type Problem,
  parseYaml,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";
import { type PageChannel, ROLES, type Team } from "./types.ts";

/** PagerDuty's Events API v2 endpoint, when a page names none. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

const url = z.string().min(1);
const channelSchema = z.union(
  [
    z.literal("console"),
    z
      .strictObject({
        slack: url.optional(),
        pagerduty: z.strictObject({ routing_key: z.string().min(1), url: url.optional() }).optional(),
        webhook: z.strictObject({ url, secret: z.string().min(16) }).optional(),
        console: z.literal(true).optional(),
      })
      .refine((c) => Object.keys(c).length === 1, "name exactly one of slack, pagerduty, webhook, console"),
  ],
  {
    // Never the value: it may be a webhook URL, which is itself a secret.
    error: "expected console, or one of {slack: URL}, {pagerduty: {routing_key}}, {webhook: {url, secret}}",
  },
);

const teamSchema = z.strictObject({
  version: z.literal(1),
  responders: z
    .array(
      z.strictObject({
        name: z.string().trim().min(1).max(80),
        role: z.enum(ROLES),
        page: channelSchema,
      }),
    )
    .min(1, "name at least one responder"),
  communications: z.array(channelSchema).optional(),
});

type ChannelInput = z.infer<typeof channelSchema>;

/** Reads and validates team.yml. @throws FiredrillError (exit 2) at the line of the first problem. */
export function loadTeam(file: string, env: NodeJS.ProcessEnv = process.env): Team {
  return teamFrom(readYamlFile(file), env);
}

/** Validates team.yml given as text. */
export function parseTeam(file: string, text: string, env: NodeJS.ProcessEnv = process.env): Team {
  return teamFrom(parseYaml(file, text), env);
}

/** Validates an already parsed team.yml; `${NAME}` from `env`. */
export function teamFrom(src: YamlFile, env: NodeJS.ProcessEnv = process.env): Team {
  const problems: Problem[] = [];
  const value = substitute(src.value, [], env, problems);
  throwFirst(src, problems);
  const team = validateAgainst({ ...src, value }, teamSchema, "team file (version, responders)");
  const seen = new Map<string, number>();
  team.responders.forEach((r, i) => {
    const key = r.name.toLowerCase();
    if (seen.has(key))
      problems.push({
        path: ["responders", i, "name"],
        message: `"${r.name}" is already responder ${seen.get(key)}`,
        code: "FD238",
      });
    seen.set(key, i);
  });
  const responders = team.responders.map((r, i) => ({
    name: r.name,
    role: r.role,
    page: channel(r.page, ["responders", i, "page"], problems),
  }));
  const communications = team.communications
    ? team.communications.map((c, i) => channel(c, ["communications", i], problems))
    : responders.filter((r) => r.role === "communications").map((r) => r.page);
  throwFirst(src, problems);
  return { file: src.file, responders, communications };
}

/** A page as the pager takes it; a URL that is not https (or http to loopback) is a problem. */
function channel(input: ChannelInput, path: FieldPath, problems: Problem[]): PageChannel {
  if (input === "console" || input.console) return { kind: "console" };
  const check = (raw: string, at: FieldPath) => {
    const problem = urlProblem(raw);
    if (problem) problems.push({ path: at, message: problem, code: "FD238" });
    return raw;
  };
  if (input.slack !== undefined) return { kind: "slack", url: check(input.slack, [...path, "slack"]) };
  if (input.pagerduty !== undefined)
    return {
      kind: "pagerduty",
      url: check(input.pagerduty.url ?? PAGERDUTY_EVENTS_URL, [...path, "pagerduty", "url"]),
      routingKey: input.pagerduty.routing_key,
    };
  const webhook = input.webhook!;
  return { kind: "webhook", url: check(webhook.url, [...path, "webhook", "url"]), secret: webhook.secret };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Why a page URL cannot be used; undefined when it can. Never repeats the URL (it may hold a token). */
export function urlProblem(raw: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname)) return undefined;
  return parsed.protocol === "http:"
    ? `plain http to ${parsed.hostname}: use https (http is for a loopback stand-in only)`
    : `expected an https URL, got ${parsed.protocol}`;
}

/** Replaces `${NAME}` in every string by the environment's value; a variable not set is a problem at its line. */
function substitute(value: unknown, path: FieldPath, env: NodeJS.ProcessEnv, problems: Problem[]): unknown {
  if (typeof value === "string")
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const set = env[name];
      if (set === undefined || set === "")
        problems.push({ path, message: `\${${name}} is not set in the environment`, code: "FD238" });
      return set ?? "";
    });
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], env, problems));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, problems)]),
    );
  return value;
}

/** The team of a GameDay run without team.yml: one responder, on the console. */
export function consoleTeam(name = "on-call"): Team {
  return {
    file: "(none)",
    responders: [{ name, role: "on_call", page: { kind: "console" } }],
    communications: [],
  };
}
