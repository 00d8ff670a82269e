/**
 * Secrets never reach a log line, an error, a journal or a report. Everything that
 * leaves the process as text goes through `redact`.
 */
// A private key has the shape of a transaction hash or a redemption id, which auditors
// need to read; so 32-byte hex values are redacted where a key-like name introduces them,
// and every key firedrill itself knows (the lab's accounts) is registered by value.
const KEYED_SECRET =
  /((?:private[_-]?key|secret|mnemonic|passphrase|password|api[_-]?key|token|signer[_-]?key|\bkey|\bpk)["']?\s*[:=]\s*["']?)(0x[0-9a-fA-F]{64}|[^"'\s,;}&]{8,})/gi;
const BARE_KEY_PREFIX = /\b(PRIVATE_KEY|_KEY|SECRET)=0x[0-9a-fA-F]{64}\b/g;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+)(:[^/\s@]*)?@/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;
// Query parameters and path segments that carry API keys in provider URLs.
const KEY_PARAM = /([?&](?:api[-_]?key|key|token|access[-_]?token|secret)=)[^&\s"']+/gi;
const PROVIDER_PATH_KEY = /(\/v[0-9]+\/)[0-9a-zA-Z_-]{24,}\b/g;

const extra = new Set<string>();

/** Registers a value (a token, a webhook secret) that must never be printed. */
export function registerSecret(value: string): void {
  if (value.length >= 8) extra.add(value);
}

/** Replaces every secret in `text` with a marker. */
export function redact(text: string): string {
  let out = text
    .replace(KEYED_SECRET, "$1<redacted>")
    .replace(BARE_KEY_PREFIX, "$1=<redacted>")
    .replace(URL_CREDENTIALS, "$1<redacted>@")
    .replace(BEARER, "$1<redacted>")
    .replace(KEY_PARAM, "$1<redacted>")
    .replace(PROVIDER_PATH_KEY, "$1<redacted>");
  for (const secret of extra) out = out.split(secret).join("<redacted>");
  return out;
}

/** Deep copy of a JSON-like value with every string redacted. */
export function redactDeep<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}
