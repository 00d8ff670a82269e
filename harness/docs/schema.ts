/**
 * Reference tables from zod schemas: every key with its type, default and meaning, read
 * from the schema's JSON Schema (`z.toJSONSchema`, input side) and its descriptions
 * (`.describe()`), so that the text lives next to the validation it documents.
 */

import { z } from "zod";
import { duration, formatDuration, positiveDuration } from "../duration.ts";
import { bugError } from "../errors.ts";
import { code, table } from "./markdown.ts";

/** A node of the JSON Schema that zod writes, with the marks added below. */
export interface SchemaNode {
  type?: string | string[];
  format?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  oneOf?: SchemaNode[];
  not?: unknown;
  /** A duration string (`10s`), parsed into milliseconds. */
  "x-duration"?: "any" | "positive";
  /** What the value is, in words, where its pattern would say too little (a chain name). */
  "x-type"?: string;
}

interface ZodDef {
  type: string;
  in?: unknown;
  checks?: unknown[];
  defaultValue?: unknown;
}

/** Every duration schema pipes this string schema into a parser. */
const DURATION_INPUT = (duration._zod.def as ZodDef).in;
/** The check that makes a duration positive. */
const POSITIVE_CHECK = (positiveDuration._zod.def as ZodDef).checks?.[0];

/** The JSON Schema of what a user writes (the input side of transforms), with durations and defaults marked. */
export function jsonSchemaOf(schema: z.ZodType): SchemaNode {
  return z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def as ZodDef;
      const node = ctx.jsonSchema as SchemaNode;
      if (def.type === "pipe" && def.in === DURATION_INPUT) {
        node["x-duration"] = def.checks?.includes(POSITIVE_CHECK) ? "positive" : "any";
      }
      // zod leaves out the default of a transformed value (a duration's is in ms): keep it.
      if (def.type === "default") node.default = def.defaultValue;
    },
  }) as SchemaNode;
}

function bounds(node: SchemaNode): string[] {
  const out: string[] = [];
  if (node.exclusiveMinimum !== undefined) out.push(`> ${node.exclusiveMinimum}`);
  if (node.minimum !== undefined) out.push(`>= ${node.minimum}`);
  if (node.exclusiveMaximum !== undefined) out.push(`< ${node.exclusiveMaximum}`);
  if (node.maximum !== undefined) out.push(`<= ${node.maximum}`);
  return out;
}

/** What a value of `node` is, in a few words. */
export function typeText(node: SchemaNode): string {
  if (node["x-duration"] !== undefined)
    return node["x-duration"] === "positive" ? "duration, > 0s" : "duration";
  if (node["x-type"] !== undefined) return node["x-type"];
  if (node.const !== undefined) return code(String(node.const));
  if (node.enum !== undefined) {
    const values = node.enum.map((value) => code(String(value)));
    return values.length === 1 ? values[0]! : `one of ${values.join(", ")}`;
  }
  if (node.not !== undefined) return "not allowed";
  if (Array.isArray(node.type)) return node.type.map((type) => typeText({ ...node, type })).join(" or ");
  switch (node.type) {
    case "null":
      return "`null`";
    case "string":
      if (node.format === "date-time") return "date and time, ISO 8601 with `Z` or an offset";
      return node.pattern === undefined ? "string" : `string matching ${code(node.pattern)}`;
    case "number":
    case "integer": {
      const name = node.type === "integer" ? "integer" : "number";
      const limits = bounds(node);
      return limits.length === 0 ? name : `${name} ${limits.join(" and ")}`;
    }
    case "boolean":
      return "`true` or `false`";
    case "array": {
      const of = node.items === undefined ? "values" : typeText(node.items).replace(/^string\b/, "strings");
      return `list of ${of}${node.minItems ? `, at least ${node.minItems}` : ""}`;
    }
    case "object":
      return "mapping";
  }
  if (node.oneOf !== undefined) return "one of the kinds below";
  return "any value";
}

/** The default of `node` as the user would write it. */
export function defaultText(node: SchemaNode): string | undefined {
  if (!("default" in node)) return undefined;
  const value = node.default;
  if (node["x-duration"] !== undefined && typeof value === "number") return code(formatDuration(value));
  return code(typeof value === "string" ? value : JSON.stringify(value));
}

export interface KeyRow {
  key: string;
  type: string;
  /** `required`, `optional`, or the default. */
  presence: string;
  meaning: string;
}

/**
 * One row per key of an object schema, in the schema's order. `types` and `presence`
 * replace the type and default of some keys (a link to a section, say). Throws when a key has no description: every
 * key a user may write is documented.
 */
export function keyRows(
  node: SchemaNode,
  where: string,
  options: {
    skip?: readonly string[];
    types?: Record<string, string>;
    presence?: Record<string, string>;
  } = {},
): KeyRow[] {
  const required = new Set(node.required ?? []);
  return Object.entries(node.properties ?? {})
    .filter(([key]) => !options.skip?.includes(key))
    .map(([key, property]) => {
      if (property.description === undefined)
        throw bugError(`${where}: key "${key}" has no description (add .describe() to its schema)`);
      return {
        key,
        type: options.types?.[key] ?? typeText(property),
        presence:
          options.presence?.[key] ??
          defaultText(property) ??
          (required.has(key) ? "**required**" : "optional"),
        meaning: property.description,
      };
    });
}

/** The table of `keyRows`. */
export function keyTable(rows: readonly KeyRow[]): string {
  return table(
    ["key", "type", "default", "meaning"],
    rows.map((row) => [code(row.key), row.type, row.presence, row.meaning]),
  );
}
