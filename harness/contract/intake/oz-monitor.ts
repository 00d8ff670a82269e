/**
 * OpenZeppelin Monitor's webhook trigger. With a `secret`, every delivery carries
 * `X-Timestamp` (Unix milliseconds) and `X-Signature`, the lowercase hex HMAC-SHA256 of the
 * raw body immediately followed by the timestamp's digits. Without one, the Monitor's
 * documentation has the user add an `Authorization` header: `Bearer <secret>` is accepted.
 *
 * The body is the trigger's message, `{"title", "body"}` after templating (the default
 * payload mode), or the whole match (`payload_mode: raw`), keyed by chain family:
 * `{"EVM": {"monitor": {"name"}, "transaction": {"hash"}, "network_slug", ...}}`. A match
 * is one-shot: the Monitor never resolves.
 */
import { z } from "zod";
import type { ReplayGuard } from "../webhook.ts";
import { authorization, checked, isSecret, missing, signatureMatches } from "./credentials.ts";
import {
  type AuthResult,
  type IntakeFormat,
  type IntakeRequest,
  MalformedDelivery,
  type SenderAlert,
} from "./format.ts";

/**
 * The Monitor re-sends a failed delivery with the same signature and timestamp, so a repeat
 * is not refused as a replay: it counts once, because a phase is reached by its first alert.
 */
function authenticate(request: IntakeRequest, secret: string, _guard: ReplayGuard): AuthResult {
  const signature = request.headers["x-signature"];
  const timestamp = request.headers["x-timestamp"];
  if (signature === undefined) {
    const given = authorization(request.headers);
    if (given === undefined) return missing;
    return checked(given.scheme === "bearer" && isSecret(given.credentials, secret));
  }
  if (timestamp === undefined || !/^\d{1,16}$/.test(timestamp)) {
    return { ok: false, reason: "malformed timestamp" };
  }
  return signatureMatches(
    signature,
    `${request.rawBody}${timestamp}`,
    Number(timestamp),
    request.receivedAt,
    secret,
  );
}

const templated = z.object({ title: z.string(), body: z.string() });

const match = z.looseObject({
  monitor: z.looseObject({ name: z.string().min(1) }),
  transaction: z.looseObject({ hash: z.string().optional(), signature: z.string().optional() }).optional(),
  network_slug: z.string().optional(),
});

const CHAIN_FAMILIES = ["EVM", "Stellar", "Solana", "Midnight"] as const;

function parse(body: unknown): SenderAlert[] {
  const message = templated.safeParse(body);
  if (message.success) {
    const name = message.data.title.trim();
    if (name === "") throw new MalformedDelivery("an empty title");
    return [{ name, status: "firing", labels: { title: message.data.title, body: message.data.body } }];
  }
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const family = CHAIN_FAMILIES.find((f) => f in body);
    if (family !== undefined) {
      const parsed = match.safeParse((body as Record<string, unknown>)[family]);
      if (!parsed.success) throw new MalformedDelivery(`a ${family} match without monitor.name`);
      const { monitor, transaction, network_slug } = parsed.data;
      const tx = transaction?.hash ?? transaction?.signature;
      const labels: Record<string, string> = { "monitor.name": monitor.name, chain_family: family };
      if (tx !== undefined) labels["transaction.hash"] = tx;
      if (network_slug !== undefined) labels["network_slug"] = network_slug;
      return [
        {
          name: monitor.name,
          status: "firing",
          labels,
          key: tx === undefined ? undefined : `${monitor.name}:${tx}`,
        },
      ];
    }
  }
  throw new MalformedDelivery(
    `expected the trigger's message {"title","body"} or a raw match keyed by ${CHAIN_FAMILIES.join(", ")}`,
  );
}

export const ozMonitorFormat: IntakeFormat = {
  name: "oz-monitor",
  path: "/alerts/oz-monitor",
  authenticate,
  parse,
  accepted: { status: 200, contentType: "application/json", body: '{"ok":true}' },
};
