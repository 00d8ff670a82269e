/**
 * The alert webhook's signature: every delivery carries
 * `Firedrill-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, and a
 * receiver counts it only when the signature matches the exact raw body, the timestamp
 * is within the tolerance, and the same signature was not accepted before.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Header name of the signature. */
export const SIGNATURE_HEADER = "Firedrill-Signature";
/** Oldest (and furthest in the future) signature timestamp accepted. @default 5 minutes */
export const SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;
/**
 * How long an accepted signature is remembered, from its timestamp, to refuse a replay:
 * past that, the timestamp alone refuses it.
 */
export const REPLAY_WINDOW_MS = SIGNATURE_TOLERANCE_MS;

/** Why a delivery was refused. */
export const REJECTIONS = [
  "missing signature header",
  "malformed timestamp",
  "no v1 signature",
  "timestamp outside the 5 minute tolerance",
  "signature mismatch",
  "replayed delivery",
] as const;
export type Rejection = (typeof REJECTIONS)[number];

export type VerifyResult = { ok: true; timestampMs: number } | { ok: false; reason: Rejection };

function hmac(secret: string, timestamp: string, rawBody: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex");
}

/** `t=<ms>,v1=<hex>` for `rawBody` signed at `timestampMs`. */
export function signWebhook(secret: string, rawBody: string, timestampMs: number): string {
  return `t=${timestampMs},v1=${hmac(secret, String(timestampMs), rawBody)}`;
}

/**
 * The signatures one receiver accepted within the replay window. Entries are kept in
 * the order accepted, so forgetting stops at the first one still inside the window; one
 * left behind a younger one is only forgotten later, never too early.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  /** True when `id` was accepted before; otherwise remembers it. */
  replayed(id: string, timestampMs: number, nowMs: number): boolean {
    for (const [old, at] of this.#seen) {
      if (at >= nowMs - REPLAY_WINDOW_MS) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(id)) return true;
    this.#seen.set(id, timestampMs);
    return false;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/**
 * Checks a webhook delivery: signature over the exact raw body, timestamp within the
 * tolerance of `nowMs`, and not accepted before by the receiver that owns `guard`.
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowMs: number,
  guard: ReplayGuard,
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
  const expected = Buffer.from(hmac(secret, t, rawBody), "utf8");
  const match = v1s.find((v) => {
    const given = Buffer.from(v.toLowerCase(), "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (match === undefined) return { ok: false, reason: "signature mismatch" };
  if (guard.replayed(`${t}.${match.toLowerCase()}`, timestampMs, nowMs)) {
    return { ok: false, reason: "replayed delivery" };
  }
  return { ok: true, timestampMs };
}
