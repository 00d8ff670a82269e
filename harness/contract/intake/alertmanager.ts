/**
 * Alert intake from Prometheus Alertmanager: a `webhook_config` whose url is the receiver's
 * `/alerts/alertmanager` posts an alert group, payload version "4"
 * (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config; the fields are
 * those of notify/webhook/webhook.go's Message). It authenticates with the run's secret
 * through its `http_config`: `authorization: {credentials: <secret>}` (type Bearer, the
 * default) or `basic_auth: {username: <any>, password: <secret>}`. Alertmanager only looks
 * at the status of the answer; a 2xx is a delivery.
 */
import { z } from "zod";
import { groupAlertFields, groupFields, groupSenderAlerts, requireVersion } from "./alert-group.ts";
import { authorization, checked, isBasicSecret, isSecret, missing } from "./credentials.ts";
import type { AuthResult, IntakeFormat, IntakeRequest, SenderAlert } from "./format.ts";
import { shaped } from "./shape.ts";

/** The payload version this format reads. */
export const ALERTMANAGER_VERSION = "4";

export const alertmanagerSchema = z.object({
  version: z.literal(ALERTMANAGER_VERSION),
  ...groupFields,
  alerts: z.array(z.object(groupAlertFields)),
});

function authenticate(request: IntakeRequest, secret: string): AuthResult {
  const auth = authorization(request.headers);
  if (auth === undefined) return missing;
  if (auth.scheme === "bearer") return checked(isSecret(auth.credentials, secret));
  if (auth.scheme === "basic") return checked(isBasicSecret(auth.credentials, secret));
  return checked(false);
}

function parse(body: unknown): SenderAlert[] {
  requireVersion(body, "Alertmanager", ALERTMANAGER_VERSION);
  return groupSenderAlerts(shaped(alertmanagerSchema, body));
}

export const alertmanagerFormat: IntakeFormat = {
  name: "alertmanager",
  path: "/alerts/alertmanager",
  authenticate,
  parse,
  accepted: { status: 200, contentType: "text/plain", body: "ok" },
};
