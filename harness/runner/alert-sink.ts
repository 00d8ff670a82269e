/**
 * Where the system under test posts its alerts and actions. Every delivery is checked
 * (HMAC signature over the raw body, timestamp within 5 minutes, no replay) before it
 * counts: a drill's timings come only from alerts the SUT provably sent.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ALERT_SHAPE, alertSchema, type Alert as PostedAlert } from "../contract/alerts.ts";
import { ReplayGuard, SIGNATURE_HEADER, verifyWebhook } from "../contract/webhook.ts";
import { labError } from "../errors.ts";

export type Alert = PostedAlert & { receivedAt: number };

export interface AlertSink {
  url: string;
  /** Deliveries refused, with why (bad signature, stale, replayed, malformed). */
  rejected(): { reason: string; at: string }[];
  close(): Promise<void>;
}

/** Largest alert body accepted, bytes. */
export const MAX_BODY = 256 * 1024;

/** Starts the webhook receiver on 127.0.0.1; `onAlert` gets every verified alert. */
export async function startAlertSink(
  secret: string,
  onAlert: (alert: Alert) => void,
  port = 0,
): Promise<AlertSink> {
  const guard = new ReplayGuard();
  const rejected: { reason: string; at: string }[] = [];
  const refuse = (reason: string) => rejected.push({ reason, at: new Date().toISOString() });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      const receivedAt = Date.now();
      const answer = (status: number, body: object) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST") return answer(405, { error: "POST alerts here" });
      if (size > MAX_BODY) {
        refuse("body too large");
        return answer(413, { error: "body too large" });
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const verdict = verifyWebhook(
        secret,
        Array.isArray(header) ? header[0] : header,
        raw,
        receivedAt,
        guard,
      );
      if (!verdict.ok) {
        refuse(verdict.reason);
        return answer(401, { error: verdict.reason });
      }
      let parsed: PostedAlert;
      try {
        parsed = alertSchema.parse(JSON.parse(raw));
      } catch {
        refuse("malformed alert");
        return answer(400, { error: `expected ${ALERT_SHAPE}` });
      }
      answer(202, { ok: true });
      onAlert({ ...parsed, receivedAt });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(labError("alert webhook", (error as Error).message)));
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/alerts`,
    rejected: () => [...rejected],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
