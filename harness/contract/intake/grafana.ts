/**
 * Alert intake from Grafana Alerting: a webhook contact point whose URL is the receiver's
 * `/alerts/grafana` posts an alert group, payload version "1" (Alertmanager's fields plus
 * its own: https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/,
 * and receivers/webhook/v1 of github.com/grafana/alerting). It authenticates with the run's
 * secret in any of the ways the contact point offers:
 *   - Basic Authentication: any user name, the secret as password;
 *   - the Authorization header: `<scheme> <secret>` for any scheme (Bearer by default);
 *   - the HMAC signature: `X-Grafana-Alerting-Signature` (Grafana's default header) holds
 *     lowercase hex HMAC-SHA256, keyed with the secret, of `<unix seconds>:<raw body>`, and
 *     the timestamp header holds those seconds (http/hmac.go of grafana/alerting). Grafana
 *     has no default timestamp header name: set it to `X-Grafana-Alerting-Timestamp` (the
 *     name grafana/alerting's own fixtures use) or `X-Grafana-Alerting-Signature-Timestamp`.
 *     A signature without a timestamp is refused: it would be valid for ever, so a copy of
 *     it could be replayed at any time. One with a timestamp counts within 5 minutes of it,
 *     once (the receiver's ReplayGuard), as firedrill's own webhook signature does.
 * Every credential a delivery presents must be right, and it must present one.
 */
import { createHmac } from "node:crypto";
import { z } from "zod";
import type { ReplayGuard } from "../webhook.ts";
import { groupAlertFields, groupFields, groupSenderAlerts, requireVersion } from "./alert-group.ts";
import {
  type Authorization,
  authorization,
  checked,
  isBasicSecret,
  isSecret,
  missing,
  signatureMatches,
} from "./credentials.ts";
import type { AuthResult, IntakeFormat, IntakeRequest, SenderAlert } from "./format.ts";
import { shaped } from "./shape.ts";

/** The payload version this format reads. */
export const GRAFANA_VERSION = "1";
/** Grafana's default header of the HMAC signature, in lower case as the receiver hands headers over. */
export const GRAFANA_SIGNATURE_HEADER = "x-grafana-alerting-signature";
/** The timestamp header names accepted, in lower case; Grafana has no default one. */
export const GRAFANA_TIMESTAMP_HEADERS = [
  "x-grafana-alerting-timestamp",
  "x-grafana-alerting-signature-timestamp",
] as const;

const grafanaAlert = z.object({
  ...groupAlertFields,
  values: z.record(z.string(), z.number()).nullable().optional(),
  valueString: z.string().optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  imageURL: z.string().optional(),
});

export const grafanaSchema = z.object({
  version: z.literal(GRAFANA_VERSION),
  ...groupFields,
  orgId: z.number().int().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
  alerts: z.array(grafanaAlert),
});

/** The signature Grafana sends for `rawBody` at `unixSeconds`: hex HMAC-SHA256 of `<seconds>:<body>`. */
export function signGrafana(secret: string, rawBody: string, unixSeconds: number): string {
  return createHmac("sha256", secret).update(`${unixSeconds}:${rawBody}`, "utf8").digest("hex");
}

function refused(reason: string): AuthResult {
  return { ok: false, reason };
}

function timestampOf(headers: IntakeRequest["headers"]): string | undefined {
  for (const name of GRAFANA_TIMESTAMP_HEADERS) {
    const value = headers[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** The signature header checked: timestamp, tolerance, HMAC over the exact raw body, replay. */
function verifySignature(
  request: IntakeRequest,
  signature: string,
  secret: string,
  guard: ReplayGuard,
): AuthResult {
  const seconds = timestampOf(request.headers);
  if (seconds === undefined) return refused("missing timestamp header");
  if (!/^\d{1,12}$/.test(seconds)) return refused("malformed timestamp");
  const timestampMs = Number(seconds) * 1000;
  const verdict = signatureMatches(
    signature,
    `${seconds}:${request.rawBody}`,
    timestampMs,
    request.receivedAt,
    secret,
  );
  if (!verdict.ok) return verdict;
  const given = signature.trim().toLowerCase();
  if (guard.replayed(`grafana:${seconds}:${given}`, timestampMs, request.receivedAt)) {
    return refused("replayed delivery");
  }
  return { ok: true };
}

/** Basic credentials with the secret as password, or any scheme with the secret as credentials. */
function headerMatches(auth: Authorization, secret: string): boolean {
  if (isSecret(auth.credentials, secret)) return true;
  return auth.scheme === "basic" && isBasicSecret(auth.credentials, secret);
}

function authenticate(request: IntakeRequest, secret: string, guard: ReplayGuard): AuthResult {
  const auth = authorization(request.headers);
  const signature = request.headers[GRAFANA_SIGNATURE_HEADER]?.trim() ?? "";
  if (auth === undefined && signature === "") return missing;
  if (auth !== undefined && !headerMatches(auth, secret)) return checked(false);
  return signature === "" ? { ok: true } : verifySignature(request, signature, secret, guard);
}

function parse(body: unknown): SenderAlert[] {
  requireVersion(body, "Grafana", GRAFANA_VERSION);
  return groupSenderAlerts(shaped(grafanaSchema, body));
}

export const grafanaFormat: IntakeFormat = {
  name: "grafana",
  path: "/alerts/grafana",
  authenticate,
  parse,
  accepted: { status: 200, contentType: "text/plain", body: "ok" },
};
