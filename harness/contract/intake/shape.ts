/**
 * Alert intake shapes: a sender format checks a delivery's body against its zod shape here;
 * a body that is not that shape becomes a MalformedDelivery naming the first field at
 * fault (`alerts.0.startsAt: ...`), never the value it held.
 */
import type { z } from "zod";
import { MalformedDelivery } from "./format.ts";

/** `body` as `schema` reads it; throws MalformedDelivery when it is not that shape. */
export function shaped<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new MalformedDelivery(`${at}${issue.message}`);
}

/** Whether `body` is a JSON object (not an array, not null). */
export function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

/** A short quotation of a value a sender sent, for a message (never a credential). */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
