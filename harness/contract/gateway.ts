/**
 * The ops gateway a system under test serves on `127.0.0.1:$FIREDRILL_SUT_PORT`: its
 * routes, headers, and request and answer bodies. `GET /health` and `GET /metrics` are
 * open (as probes and scrapers expect); the others need `Authorization: Bearer
 * $FIREDRILL_GATEWAY_TOKEN`. A bad request gets 400 with the field it names.
 */
import { getAddress, parseUnits, ZeroAddress } from "ethers";
import { z } from "zod";

export const ROUTES = {
  health: { method: "GET", path: "/health", token: false },
  metrics: { method: "GET", path: "/metrics", token: false },
  mint: { method: "POST", path: "/mint", token: true },
  redeem: { method: "POST", path: "/redeem", token: true },
  redemption: { method: "GET", path: "/redemptions/:id", token: true },
  reports: { method: "POST", path: "/reports", token: true },
} as const;
export type RouteName = keyof typeof ROUTES;

const REDEMPTIONS = "/redemptions/";

/** `GET /redemptions/:id` for one redemption (its id or its idempotency key). */
export function redemptionPath(id: string): string {
  return `${REDEMPTIONS}${encodeURIComponent(id)}`;
}

/** `POST /mint`: the label a route goes by in logs, metrics and load checks. */
export function routeLabel(name: RouteName): string {
  return `${ROUTES[name].method} ${ROUTES[name].path}`;
}

/**
 * The route a path names (trailing slashes ignored), with the redemption id when there is
 * one; undefined for a path the gateway does not serve. The method is not checked here.
 */
export function matchRoute(path: string): { name: RouteName; id?: string } | undefined {
  const trimmed = path.replace(/\/+$/, "") || "/";
  if (trimmed.startsWith(REDEMPTIONS) && trimmed.length > REDEMPTIONS.length) {
    const raw = trimmed.slice(REDEMPTIONS.length);
    try {
      return { name: "redemption", id: decodeURIComponent(raw) };
    } catch {
      // Not percent-encoded as it should be: taken as written, it matches no redemption.
      return { name: "redemption", id: raw };
    }
  }
  const name = (Object.keys(ROUTES) as RouteName[]).find((n) => ROUTES[n].path === trimmed);
  return name === undefined ? undefined : { name };
}

/** Makes `POST /mint` and `POST /redeem` safe to retry; required on `/redeem`. */
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
/** Set to `true` on an answer replayed for an idempotency key seen before. */
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Largest request body accepted, bytes (413 above). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest amount of one request, fdUSD. */
export const MAX_AMOUNT = 1_000_000_000;

const EXPECTED_AMOUNT = 'expected a positive decimal string like "1000.00"';
const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? "required" : what;

/** A decimal amount of fdUSD, e.g. `"1000.00"` (a JSON number is taken as its decimal text). */
export const amountSchema = z
  .union([z.string(), z.number().transform(String)], { error: required(EXPECTED_AMOUNT) })
  // abort: the refinements below parse the text, which only a decimal survives.
  .pipe(z.string().regex(/^\d{1,12}(\.\d{1,18})?$/, { message: EXPECTED_AMOUNT, abort: true }))
  .refine((text) => parseUnits(text, 18) > 0n, "must be greater than zero")
  .refine(
    (text) => parseUnits(text, 18) <= parseUnits(String(MAX_AMOUNT), 18),
    `must be at most ${MAX_AMOUNT}`,
  );

/** An address, checksummed when it is mixed case; answered checksummed. */
export const addressSchema = z
  .string({ error: required("expected a 0x address") })
  .regex(/^0x[0-9a-fA-F]{40}$/, "expected a 0x address")
  .transform((value, ctx) => {
    try {
      return getAddress(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "bad address checksum" });
      return z.NEVER;
    }
  })
  .refine((address) => address !== ZeroAddress, "must not be the zero address");

/** `POST /mint`: mints `amount` fdUSD to `recipient` on the first healthy chain. */
export const mintRequestSchema = z.object({ amount: amountSchema, recipient: addressSchema });
export type MintRequest = z.input<typeof mintRequestSchema>;

/** `POST /redeem`: pays `amount` of collateral to `pay_to` (the holder by default) for the holder's fdUSD. */
export const redeemRequestSchema = z.object({
  amount: amountSchema,
  holder: addressSchema,
  pay_to: addressSchema.optional(),
  collateral_type: z.literal("USDC", { error: 'only "USDC" is redeemable' }).default("USDC"),
  /** The chain to pay on; the gateway's redemption chain by default. */
  chain: z.string({ error: "expected a chain name" }).optional(),
});
export type RedeemRequest = z.input<typeof redeemRequestSchema>;

/** `POST /reports`: files a report with the regulator now, within `deadline_ms` when given. */
export const reportRequestSchema = z.object({
  report: z
    .string({ error: "a report name like incident_report" })
    .regex(/^[a-z_]{1,40}$/, "a report name like incident_report")
    .default("incident_report"),
  deadline_ms: z.number({ error: "a positive number of milliseconds" }).positive().optional(),
});
export type ReportRequest = z.input<typeof reportRequestSchema>;

/** 200 to `POST /mint`. */
export const mintResponseSchema = z.object({
  /** The mint's id, as every gateway resource has one. */
  id: z.string(),
  mint_id: z.string(),
  status: z.literal("minted"),
  chain: z.string(),
  tx_hash: z.string(),
  block_number: z.number(),
  amount: z.string(),
  recipient: z.string(),
  /** Chains tried before the one that minted, with why each was passed over. */
  failover: z.array(z.object({ chain: z.string(), reason: z.string() })),
});
export type MintResponse = z.infer<typeof mintResponseSchema>;

/** Where a redemption is: accepted, on its way, paid on chain, or given up. */
export const REDEMPTION_STATUSES = ["queued", "sending", "settled", "failed"] as const;
export type RedemptionStatus = (typeof REDEMPTION_STATUSES)[number];

/**
 * A redemption, as `POST /redeem` (200 settled, 202 still queued or sending, 422 failed)
 * and `GET /redemptions/:id` answer it.
 */
export const redemptionSchema = z.object({
  /** keccak256 of the idempotency key: the on-chain redemption id. */
  id: z.string(),
  idempotency_key: z.string(),
  status: z.enum(REDEMPTION_STATUSES),
  chain: z.string(),
  holder: z.string(),
  pay_to: z.string(),
  amount: z.string(),
  collateral_type: z.string(),
  tx_hash: z.string().nullable(),
  error: z.string().nullable(),
  accepted_at: z.iso.datetime(),
  paid_at: z.iso.datetime().nullable(),
});
export type RedemptionView = z.infer<typeof redemptionSchema>;

export const HEALTH_STATUSES = ["ok", "degraded", "down"] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** `GET /health`: 200, or 503 when the status is `down`. */
export const healthSchema = z.looseObject({
  status: z.enum(HEALTH_STATUSES),
  components: z.record(z.string(), z.unknown()),
});
export type Health = z.infer<typeof healthSchema>;

/** 202 to `POST /reports`. */
export interface ReportAccepted {
  status: "filing";
  report: string;
}

/** Every 4xx and 5xx answer; a 400 names the `field` and says what is wrong in `message`. */
export const errorSchema = z.looseObject({
  error: z.string(),
  field: z.string().optional(),
  message: z.string().optional(),
});
export type ErrorBody = z.infer<typeof errorSchema>;
