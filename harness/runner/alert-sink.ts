/**
 * Where the system under test posts its alerts. Every delivery is authenticated before
 * it counts: a drill's timings come only from alerts the SUT provably sent.
 *
 * - `POST /alerts`: firedrill's own format (HMAC signature over the raw body, timestamp
 *   within 5 minutes, no replay).
 * - `POST /alerts/<format>`: what a team's own monitoring sends (Alertmanager, Grafana,
 *   PagerDuty, Slack, OpenZeppelin Monitor), each authenticated as its sender can be
 *   configured to, then mapped onto firedrill's events by the run's alert mapping. An
 *   alert no rule maps, and a resolved alert that never fired, are recorded and never
 *   counted towards a phase.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ALERT_SHAPE, alertSchema, type Alert as PostedAlert } from "../contract/alerts.ts";
import {
  type IntakeFormat,
  type IntakeRequest,
  MalformedDelivery,
  type SenderAlert,
} from "../contract/intake/format.ts";
import { ReplayGuard, SIGNATURE_HEADER, verifyWebhook } from "../contract/webhook.ts";
import { labError } from "../errors.ts";
import { type AlertMap, mapAlert } from "./alert-map.ts";

/** Where an alert came from, when a team's own monitoring sent it. */
export interface SenderOrigin {
  format: IntakeFormat["name"];
  /** The sender's own name for the alert. */
  name: string;
  status: SenderAlert["status"];
  /** When the sender says the alert started, if it says. */
  firedAt: string | null;
  key: string | null;
}

export type Alert = PostedAlert & { receivedAt: number; sender?: SenderOrigin };

/** A delivery refused: bad credentials, malformed, too large. */
export interface Refusal {
  reason: string;
  at: string;
  /** `native` for firedrill's own format. */
  format: string;
}

/** A sender alert that was authentic but counts for nothing, and why. */
export interface Unmapped extends SenderOrigin {
  reason: string;
  at: string;
}

export interface AlertSink {
  /** The native format's URL; a sender format posts to `<url>/<format>`. */
  url: string;
  rejected(): Refusal[];
  unmapped(): Unmapped[];
  close(): Promise<void>;
}

/** Where the receiver listens, and the URL a system under test is given for it. */
export interface AlertsEndpoint {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The URL the system under test posts to, when it reaches the receiver by another name; ends in its path prefix. */
  publicUrl?: string;
}

export interface AlertSinkOptions {
  /** Receives every authentic alert that counts. */
  onAlert: (alert: Alert) => void;
  /** Receives every authentic sender alert that counts for nothing. */
  onUnmapped?: (alert: Unmapped) => void;
  /** @default 127.0.0.1 on a free port */
  listen?: AlertsEndpoint;
  /** Sender formats accepted; each needs `alertMap`. @default none */
  formats?: readonly IntakeFormat[];
  alertMap?: AlertMap | undefined;
}

/** Largest alert body accepted, bytes. */
export const MAX_BODY = 256 * 1024;

/** PagerDuty's own endpoint path, so that a sender configured with only a base URL works. */
const PAGERDUTY_PATH = "/v2/enqueue";

/** The sender format a path is for, and what follows the format's own path; undefined for none. */
function route(
  formats: readonly IntakeFormat[],
  path: string,
): { format: IntakeFormat; rest: string } | undefined {
  if (path === PAGERDUTY_PATH) {
    const format = formats.find((f) => f.name === "pagerduty");
    return format === undefined ? undefined : { format, rest: "" };
  }
  for (const format of formats) {
    if (path === format.path || path.startsWith(`${format.path}/`)) {
      return { format, rest: path.slice(format.path.length) };
    }
  }
  return undefined;
}

/** Starts the webhook receiver on 127.0.0.1. */
export async function startAlertSink(secret: string, options: AlertSinkOptions): Promise<AlertSink> {
  const guard = new ReplayGuard();
  const rejected: Refusal[] = [];
  const unmapped: Unmapped[] = [];
  const formats = options.alertMap === undefined ? [] : (options.formats ?? []);
  const alertMap = options.alertMap;
  const firing = new Map<string, Fired>();

  const refuse = (format: string, reason: string) =>
    rejected.push({ reason, at: new Date().toISOString(), format });

  const native = (raw: string, headers: IncomingMessage["headers"], receivedAt: number): Answer => {
    const header = headers[SIGNATURE_HEADER.toLowerCase()];
    const verdict = verifyWebhook(secret, Array.isArray(header) ? header[0] : header, raw, receivedAt, guard);
    if (!verdict.ok) return refused("native", 401, verdict.reason);
    let parsed: PostedAlert;
    try {
      parsed = alertSchema.parse(JSON.parse(raw));
    } catch {
      return refused("native", 400, "malformed alert", `expected ${ALERT_SHAPE}`);
    }
    options.onAlert({ ...parsed, receivedAt });
    return json(202, { ok: true });
  };

  const refused = (format: string, status: number, reason: string, error = reason): Answer => {
    refuse(format, reason);
    return json(status, { error });
  };

  const fromSender = (format: IntakeFormat, request: IntakeRequest): Answer => {
    const auth = format.authenticate(request, secret, guard);
    if (!auth.ok) return refused(format.name, 401, auth.reason);
    let alerts: SenderAlert[];
    try {
      alerts = format.parse(JSON.parse(request.rawBody));
    } catch (error) {
      const reason = error instanceof MalformedDelivery ? error.message : "not JSON";
      return refused(format.name, 400, `malformed ${format.name} delivery: ${reason}`);
    }
    for (const alert of alerts) take(format, alert, request.receivedAt);
    const answer = format.answer?.(alerts) ?? format.accepted;
    return { status: answer.status, type: answer.contentType, body: answer.body };
  };

  /**
   * Takes one authentic sender alert. A firing alert counts when a rule maps it, and is
   * remembered by its instance (its key, else its name); a resolution or an acknowledgement
   * counts with the mapping of the instance it ends, and for nothing when that never fired.
   */
  const take = (format: IntakeFormat, alert: SenderAlert, receivedAt: number) => {
    const origin: SenderOrigin = {
      format: format.name,
      name: alert.name,
      status: alert.status,
      firedAt: alert.firedAt ?? null,
      key: alert.key ?? null,
    };
    const ignore = (reason: string) => {
      const entry = { ...origin, reason, at: new Date(receivedAt).toISOString() };
      unmapped.push(entry);
      options.onUnmapped?.(entry);
    };
    const count = (event: string, as: Fired) =>
      options.onAlert({
        event,
        severity: as.severity,
        system: as.system,
        chain: as.chain,
        at: alert.firedAt ?? new Date(receivedAt).toISOString(),
        receivedAt,
        sender: origin,
      });
    const instance = `${format.name}\u0000${alert.key ?? alert.name}`;
    if (alert.status === "firing") {
      const mapped = mapAlert(alertMap!, format.name, alert);
      if (!mapped.mapped) return ignore(mapped.reason);
      firing.set(instance, mapped);
      return count(mapped.event, mapped);
    }
    const fired = firing.get(instance);
    if (fired === undefined)
      return ignore(`"${alert.name}" ${alert.status} without having fired in this run`);
    if (alert.status === "resolved") {
      firing.delete(instance);
      return count(alertMap!.resolved, fired);
    }
    if (alertMap!.acknowledged === undefined) {
      return ignore(`an acknowledgement of "${alert.name}" (acknowledged is not mapped)`);
    }
    return count(alertMap!.acknowledged, fired);
  };

  const handle = (req: IncomingMessage, raw: string, size: number, receivedAt: number): Answer => {
    const path = (req.url ?? "/").split("?")[0]!;
    const sender = route(formats, path);
    const name = sender?.format.name ?? "native";
    if (req.method !== "POST") return json(405, { error: "POST alerts here" });
    if (size > MAX_BODY) return refused(name, 413, "body too large");
    if (sender === undefined) {
      if (path.startsWith("/alerts/")) {
        const known = (options.formats ?? []).map((f) => f.path).join(", ");
        return json(404, {
          error:
            options.alertMap === undefined
              ? "sender formats need an alert mapping: run with --alerts alerts.yml"
              : `no such intake; paths: /alerts, ${known}`,
        });
      }
      return native(raw, req.headers, receivedAt);
    }
    const headers: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      headers[key] = Array.isArray(value) ? value.join(", ") : value;
    }
    return fromSender(sender.format, { headers, rest: sender.rest, rawBody: raw, receivedAt });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      const receivedAt = Date.now();
      send(res, handle(req, Buffer.concat(chunks).toString("utf8"), size, receivedAt));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(labError("alert webhook", (error as Error).message)));
    server.listen(options.listen?.port ?? 0, options.listen?.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url:
      options.listen?.publicUrl ??
      `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}/alerts`,
    rejected: () => [...rejected],
    unmapped: () => [...unmapped],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a firing alert was mapped onto: its resolution and acknowledgement count the same way. */
type Fired = { severity: PostedAlert["severity"]; system: string; chain: string | null };

interface Answer {
  status: number;
  type: string;
  body: string;
}

function json(status: number, body: object): Answer {
  return { status, type: "application/json", body: JSON.stringify(body) };
}

function send(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { "content-type": answer.type });
  res.end(answer.body);
}
