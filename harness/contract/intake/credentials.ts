/**
 * Alert intake credentials: how a sender format compares what a delivery presents with the
 * run's secret (in constant time, whatever the lengths), how it reads an `Authorization`
 * header (`<scheme> <credentials>`, and Basic's `base64(user:password)`), and the two
 * reasons every format gives for refusing one. A reason never carries what was presented.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SIGNATURE_TOLERANCE_MS } from "../webhook.ts";
import type { AuthResult } from "./format.ts";

export const MISSING_CREDENTIALS = "missing credentials";
export const WRONG_CREDENTIALS = "wrong credentials";

/** The `Authorization` header split at its first blank; the scheme in lower case. */
export interface Authorization {
  scheme: string;
  credentials: string;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether two strings are equal, in a time that depends on neither: both are hashed to 32
 * bytes first, so not even their lengths leak.
 */
export function equalInConstantTime(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether `given` is the run's secret. An empty secret matches nothing. */
export function isSecret(given: string, secret: string): boolean {
  return secret !== "" && equalInConstantTime(given, secret);
}

/** Accepted when the credentials presented matched, else "wrong credentials". */
export function checked(matched: boolean): AuthResult {
  return matched ? { ok: true } : { ok: false, reason: WRONG_CREDENTIALS };
}

export const missing: AuthResult = { ok: false, reason: MISSING_CREDENTIALS };

/**
 * The `Authorization` header of a delivery; undefined when it is absent or carries no
 * credentials after its scheme (`Bearer ` with nothing after it presents nothing).
 */
export function authorization(
  headers: Readonly<Record<string, string | undefined>>,
): Authorization | undefined {
  const value = headers["authorization"]?.trim() ?? "";
  const blank = value.search(/\s/);
  if (blank < 0) return undefined;
  const credentials = value.slice(blank).trim();
  if (credentials === "") return undefined;
  return { scheme: value.slice(0, blank).toLowerCase(), credentials };
}

/** The password of Basic credentials (`base64(user:password)`); undefined when they are not that. */
export function basicPassword(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Whether Basic credentials carry the run's secret as their password, for any user name. */
export function isBasicSecret(credentials: string, secret: string): boolean {
  const password = basicPassword(credentials);
  return password !== undefined && isSecret(password, secret);
}

/**
 * A sender's HMAC signature: its timestamp within the tolerance of the receipt, then the
 * lowercase hex HMAC-SHA256 of `signed`, keyed with the run's secret, equal to `given`.
 * An empty secret matches nothing.
 */
export function signatureMatches(
  given: string,
  signed: string,
  timestampMs: number,
  receivedAt: number,
  secret: string,
): AuthResult {
  if (Math.abs(receivedAt - timestampMs) > SIGNATURE_TOLERANCE_MS) {
    return { ok: false, reason: "timestamp outside the 5 minute tolerance" };
  }
  if (secret === "") return { ok: false, reason: "signature mismatch" };
  const expected = createHmac("sha256", secret).update(signed, "utf8").digest("hex");
  return equalInConstantTime(given.trim().toLowerCase(), expected)
    ? { ok: true }
    : { ok: false, reason: "signature mismatch" };
}
