/**
 * Alert webhook: every alert and action leaves the stack as signed JSON
 * (`Firedrill-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`),
 * delivered in the background with retries so that posting never delays detection.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Header name of the signature. */
export const SIGNATURE_HEADER = "Firedrill-Signature";
/** Oldest (and furthest in the future) signature timestamp accepted. @default 5 minutes */
export const SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

/** `t=<ms>,v1=<hex>` for `rawBody` signed at `timestampMs`. */
export function signWebhook(secret: string, rawBody: string, timestampMs: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestampMs}.${rawBody}`).digest("hex");
  return `t=${timestampMs},v1=${v1}`;
}

export type VerifyResult = { ok: true; timestampMs: number } | { ok: false; reason: string };

/**
 * Checks a webhook delivery: signature over the exact raw body, timestamp within 5 minutes
 * of `nowMs`, and not seen before (`seen` collects the signatures accepted so far; pass the
 * same set for every delivery of one receiver).
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowMs: number,
  seen: Set<string>,
): VerifyResult {
  if (header === undefined || header === "") return { ok: false, reason: "missing signature header" };
  let t: string | undefined;
  const v1s: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") t = value;
    else if (key === "v1") v1s.push(value);
  }
  if (t === undefined || !/^\d{1,16}$/.test(t)) return { ok: false, reason: "malformed timestamp" };
  if (v1s.length === 0) return { ok: false, reason: "no v1 signature" };
  const timestampMs = Number(t);
  if (Math.abs(nowMs - timestampMs) > SIGNATURE_TOLERANCE_MS) {
    return { ok: false, reason: "timestamp outside the 5 minute tolerance" };
  }
  const expected = Buffer.from(createHmac("sha256", secret).update(`${t}.${rawBody}`).digest("hex"), "utf8");
  const match = v1s.find((v) => {
    const given = Buffer.from(v.toLowerCase(), "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (match === undefined) return { ok: false, reason: "signature mismatch" };
  const id = `${t}.${match.toLowerCase()}`;
  if (seen.has(id)) return { ok: false, reason: "replayed delivery" };
  seen.add(id);
  return { ok: true, timestampMs };
}

export interface WebhookPosterOptions {
  url: string;
  secret: string;
  /** Attempts per delivery. @default 6 */
  attempts?: number;
  /** First retry delay; doubles each retry. @default 100 */
  backoffMs?: number;
  /** Per attempt. @default 2000 */
  timeoutMs?: number;
  /** Called when a delivery is given up (never with the secret). */
  onGiveUp?: (body: string, reason: string) => void;
}

/**
 * Posts JSON bodies in the background. `post()` returns at once; a delivery is signed once
 * (a retry carries the same signature, so a receiver that already got it rejects it as a
 * replay instead of counting it twice) and retried on network errors and 5xx with
 * exponential backoff.
 */
export class WebhookPoster {
  readonly #options: Required<Omit<WebhookPosterOptions, "onGiveUp">> &
    Pick<WebhookPosterOptions, "onGiveUp">;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  delivered = 0;
  failed = 0;

  constructor(options: WebhookPosterOptions) {
    this.#options = { attempts: 6, backoffMs: 100, timeoutMs: 2000, ...options };
  }

  /** Queues `value` for delivery; never throws, never waits. */
  post(value: unknown): void {
    if (this.#closed) return;
    const body = JSON.stringify(value);
    const signature = signWebhook(this.#options.secret, body, Date.now());
    const delivery = this.#deliver(body, signature).finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  async #deliver(body: string, signature: string): Promise<void> {
    const { url, attempts, backoffMs, timeoutMs } = this.#options;
    let reason = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signature },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.delivered++;
          return;
        }
        reason = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        reason = (error as Error).message;
      }
      if (this.#closed && attempt >= 1) break;
    }
    this.failed++;
    this.#options.onGiveUp?.(body, reason);
  }

  /** Waits for the deliveries under way (up to `timeoutMs`), then stops accepting new ones. */
  async close(timeoutMs = 2000): Promise<void> {
    const pending = Promise.allSettled([...this.#inFlight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.#closed = true;
  }
}
