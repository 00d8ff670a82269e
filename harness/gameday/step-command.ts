/**
 * `firedrill gameday ack|assess|communicate|update|mitigate|resolve --room URL --as NAME`:
 * a responder's step from a terminal (or a script), through the incident room's API, the
 * same step the room's page records.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FiredrillError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { ROOM_FILE } from "../paths.ts";
import { IMMEDIATE_ACTIONS, type IncidentForm } from "./incident-form.ts";
import type { Step } from "./steps.ts";

export type StepCommand = "ack" | "acknowledge" | Step;

const USAGE = `usage: firedrill gameday <step> --room URL --as NAME [--token T] [--note TEXT]
  steps: ack (acknowledge), assess, communicate, update, mitigate, resolve
  --room URL     the incident room's link from your page (it carries the token), or its address and --token;
                 without it, the link a GameDay on this machine wrote to --room-file (.firedrill/gameday/room.url)
  --token T      the room's token (or FIREDRILL_ROOM_TOKEN), when --room has none
  --as NAME      who you are, as named in team.yml
  --note TEXT    what you did (update, mitigate and resolve need one)
  communicate:   --severity critical|high|medium|low --impact TEXT --status TEXT --system TEXT --time ISO
                 --action ${Object.keys(IMMEDIATE_ACTIONS).join("|")} (repeat for each action taken)
                 --next-steps TEXT --owner NAME --timeline TEXT   (what is not given comes from the room's template)`;

const OPTIONS = {
  room: { type: "string" },
  "room-file": { type: "string" },
  token: { type: "string" },
  as: { type: "string" },
  note: { type: "string" },
  severity: { type: "string" },
  impact: { type: "string" },
  status: { type: "string" },
  system: { type: "string" },
  time: { type: "string" },
  action: { type: "string", multiple: true },
  "next-steps": { type: "string" },
  owner: { type: "string" },
  timeline: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

/** One step, posted to the room; prints what the room recorded. */
export async function stepCommand(name: StepCommand, args: string[], io: Io): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(args).values;
  } catch (error) {
    throw usageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const step: Step = name === "ack" ? "acknowledge" : name;
  const link = values.room ?? roomFromFile(values["room-file"] ?? ROOM_FILE);
  if (values.as === undefined || values.as.trim() === "")
    throw usageError("--as: say who you are, as named in team.yml");
  let room: URL;
  try {
    room = new URL(link);
  } catch {
    throw usageError(`--room: not a URL: "${link}"`);
  }
  if (room.protocol !== "http:" && room.protocol !== "https:")
    throw usageError(`--room: expected the room's http address, got ${room.protocol}`);
  const token = room.searchParams.get("token") ?? values.token ?? process.env["FIREDRILL_ROOM_TOKEN"];
  if (!token) throw usageError("--room has no token: give --token or FIREDRILL_ROOM_TOKEN");
  const form = step === "communicate" ? formOf(values) : undefined;
  const body = {
    who: values.as,
    ...(values.note === undefined ? {} : { note: values.note }),
    ...(form ? { form } : {}),
  };
  const at = new URL(`/api/${step}`, room.origin);
  let response: Response;
  try {
    response = await fetch(at, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new FiredrillError(
      "FD321",
      `no incident room answers at ${room.origin} (${(error as Error).cause ? String((error as { cause: { code?: string } }).cause.code ?? "") : (error as Error).message}): the drill may have ended`,
    );
  }
  const reply = (await response.json().catch(() => ({}))) as {
    error?: string;
    event?: { at: string; summary: string };
  };
  if (!response.ok)
    throw new FiredrillError(
      "FD239",
      `the room refused ${step} (HTTP ${response.status}): ${reply.error ?? "no reason given"}`,
    );
  io.out(`${reply.event?.at ?? ""}  ${reply.event?.summary ?? `${step} recorded`}`);
  return 0;
}

/** The link a GameDay on this machine wrote for its responders. */
function roomFromFile(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    throw usageError(
      `--room: no GameDay on this machine has a room open (no ${file}); give the link from your page`,
    );
  }
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
}

function formOf(values: ReturnType<typeof parse>["values"]): Partial<IncidentForm> {
  const form: Record<string, unknown> = {};
  const copy: [keyof typeof values, keyof IncidentForm][] = [
    ["severity", "severity"],
    ["impact", "impact"],
    ["status", "status"],
    ["system", "system"],
    ["time", "time"],
    ["next-steps", "nextSteps"],
    ["owner", "owner"],
    ["timeline", "timeline"],
  ];
  for (const [from, to] of copy) if (values[from] !== undefined) form[to] = values[from];
  if (values.action !== undefined) form["actions"] = values.action;
  return form as Partial<IncidentForm>;
}
