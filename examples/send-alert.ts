/**
 * Posts one signed alert to firedrill's alert webhook: the client side of the alerts of the
 * system-under-test contract (docs/sut-contract.md), with no dependency. Copy it into a
 * stack of your own.
 *
 *   FIREDRILL_ALERT_WEBHOOK=http://127.0.0.1:<port>/alerts FIREDRILL_WEBHOOK_SECRET=<secret> \
 *     node examples/send-alert.ts RPC_FAILOVER high rpc_providers ethereum '{"from":"primary"}'
 *
 * Prints the receiver's status and exits 0 when it accepted the alert (202).
 */
import { createHmac } from "node:crypto";

export interface Alert {
  event: string;
  severity: "critical" | "high" | "medium" | "low";
  system: string;
  chain?: string | null;
  /** When the stack raised it: ISO 8601 with `Z` or an offset. */
  at: string;
  details?: Record<string, unknown>;
}

/** The `Firedrill-Signature` header of `body` signed at `t` (Unix milliseconds). */
export function signature(secret: string, body: string, t: number): string {
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}

/** Posts `alert` once and returns the receiver's answer: 202 when accepted. */
export async function sendAlert(
  url: string,
  secret: string,
  alert: Alert,
): Promise<{ status: number; body: string }> {
  // The signature covers the exact bytes sent: serialize once, sign and send that string.
  const body = JSON.stringify(alert);
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "Firedrill-Signature": signature(secret, body, Date.now()),
    },
    body,
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.text() };
}

if (process.argv[1] === import.meta.filename) {
  const [event, severity, system, chain, details] = process.argv.slice(2);
  const url = process.env["FIREDRILL_ALERT_WEBHOOK"];
  const secret = process.env["FIREDRILL_WEBHOOK_SECRET"];
  if (!event || !severity || !system || !url || !secret) {
    console.error(
      "usage: FIREDRILL_ALERT_WEBHOOK=... FIREDRILL_WEBHOOK_SECRET=... node examples/send-alert.ts EVENT SEVERITY SYSTEM [CHAIN] [DETAILS_JSON]",
    );
    process.exit(2);
  }
  const answer = await sendAlert(url, secret, {
    event,
    severity: severity as Alert["severity"],
    system,
    chain: chain || null,
    at: new Date().toISOString(),
    details: details ? (JSON.parse(details) as Record<string, unknown>) : {},
  });
  console.log(answer.status, answer.body);
  process.exit(answer.status === 202 ? 0 : 1);
}
