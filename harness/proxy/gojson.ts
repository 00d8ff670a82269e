/**
 * JSON decoding that answers bad input the way Toxiproxy does. Toxiproxy is written in Go
 * and decodes request bodies with `encoding/json`; its error bodies quote Go's messages
 * (`unexpected EOF`, `invalid character 'x' looking for beginning of value`,
 * `json: cannot unmarshal string into Go struct field ToxicWrapper.toxicity of type
 * float32`). This module reproduces the scanner's syntax errors and the decoder's type
 * errors for the handful of shapes the API accepts, including Go's quirks: keys match
 * case-insensitively, `null` leaves a field unchanged, and anything after the first JSON
 * value is ignored.
 */

/** A parsed JSON value that keeps numbers as their literal text (Go reports the literal). */
export type GoValue =
  | { kind: "object"; entries: Array<[string, GoValue]> }
  | { kind: "array"; items: GoValue[] }
  | { kind: "string"; value: string }
  | { kind: "number"; literal: string }
  | { kind: "bool"; value: boolean }
  | { kind: "null" };

export class GoJsonError extends Error {}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

const WS = new Set([" ", "\t", "\n", "\r"]);

/**
 * Parses the first JSON value of `text` as Go's `json.Decoder.Decode` does; throws a
 * GoJsonError with Go's message on a syntax error. Returns undefined for an empty body (Go: `EOF`).
 */
export function parseGoJson(text: string): GoValue {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n && WS.has(text[i]!)) i++;
  };
  const eof = (): never => {
    throw new GoJsonError("unexpected EOF");
  };
  const bad = (context: string): never => {
    throw new GoJsonError(`invalid character ${quoteChar(text[i]!)} ${context}`);
  };

  const literal = (word: string, value: GoValue): GoValue => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n) eof();
      if (text[i] !== word[k]) bad(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    i++;
    return value;
  };

  const string = (): string => {
    // text[i] is the opening quote.
    i++;
    let out = "";
    for (;;) {
      if (i >= n) eof();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        i++;
        if (i >= n) eof();
        const e = text[i]!;
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (simple[e] !== undefined) {
          out += simple[e];
          i++;
        } else if (e === "u") {
          let hex = "";
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n) eof();
            if (!/[0-9a-fA-F]/.test(text[i]!)) bad("in \\u hexadecimal character escape");
            hex += text[i];
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i++;
        } else {
          bad("in string escape code");
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) bad("in string literal");
      out += c;
      i++;
    }
  };

  const number = (): GoValue => {
    const start = i;
    if (text[i] === "-") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad("in numeric literal");
    }
    if (text[i] === "0") i++;
    else while (i < n && /[0-9]/.test(text[i]!)) i++;
    if (i < n && text[i] === ".") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad("after decimal point in numeric literal");
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
    if (i < n && (text[i] === "e" || text[i] === "E")) {
      i++;
      if (i < n && (text[i] === "+" || text[i] === "-")) i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad("in exponent of numeric literal");
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
    return { kind: "number", literal: text.slice(start, i) };
  };

  const value = (): GoValue => {
    skip();
    if (i >= n) eof();
    const c = text[i]!;
    if (c === "{") {
      i++;
      const entries: Array<[string, GoValue]> = [];
      skip();
      if (i >= n) eof();
      if (text[i] === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        skip();
        if (i >= n) eof();
        if (text[i] !== '"') bad("looking for beginning of object key string");
        const key = string();
        skip();
        if (i >= n) eof();
        if (text[i] !== ":") bad("after object key");
        i++;
        const v = value();
        entries.push([key, v]);
        skip();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { kind: "object", entries };
        }
        bad("after object key:value pair");
      }
    }
    if (c === "[") {
      i++;
      const items: GoValue[] = [];
      skip();
      if (i >= n) eof();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value());
        skip();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { kind: "array", items };
        }
        bad("after array element");
      }
    }
    if (c === '"') return { kind: "string", value: string() };
    if (c === "t") return literal("true", { kind: "bool", value: true });
    if (c === "f") return literal("false", { kind: "bool", value: false });
    if (c === "n") return literal("null", { kind: "null" });
    if (c === "-" || /[0-9]/.test(c)) return number();
    return bad("looking for beginning of value");
  };

  skip();
  if (i >= n) throw new GoJsonError("EOF");
  return value();
}

/** Go's name for the kind of a JSON value in an UnmarshalTypeError. */
function kindName(v: GoValue): string {
  return v.kind;
}

export type GoType = "string" | "bool" | "int64" | "int" | "float32";

/** Where a field lives, for Go's message: `Go struct field <struct>.<path> of type <type>`. */
export interface FieldSpec {
  type: GoType;
  /** The Go struct that declares the field, e.g. `LatencyToxic`; empty for an anonymous struct. */
  struct: string;
  /** The field's path from the decoded root, e.g. `attributes.latency`. */
  path: string;
}

/** Records only the first type error, as Go's decoder does, and keeps decoding. */
export class TypeErrors {
  first: string | undefined;
  add(message: string): void {
    if (this.first === undefined) this.first = message;
  }
}

/** Go's rule for matching an object key to a field: exact first, then case-insensitive. */
export function lookupKey<T>(fields: Record<string, T>, key: string): [string, T] | undefined {
  const exact = fields[key];
  if (exact !== undefined) return [key, exact];
  const lower = key.toLowerCase();
  for (const [name, spec] of Object.entries(fields)) {
    if (name.toLowerCase() === lower) return [name, spec];
  }
  return undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Decodes `v` as a scalar of `spec.type`. Returns undefined (and records Go's type error)
 * when it does not fit; `null` gives undefined without an error (the field keeps its value).
 */
export function decodeScalar(v: GoValue, spec: FieldSpec, errors: TypeErrors): unknown {
  if (v.kind === "null") return undefined;
  const where = `Go struct field ${spec.struct}.${spec.path} of type ${spec.type}`;
  const fail = (what: string) => {
    errors.add(`json: cannot unmarshal ${what} into ${where}`);
    return undefined;
  };
  switch (spec.type) {
    case "string":
      return v.kind === "string" ? v.value : fail(kindName(v));
    case "bool":
      return v.kind === "bool" ? v.value : fail(kindName(v));
    case "int64":
    case "int": {
      if (v.kind !== "number") return fail(kindName(v));
      if (!/^-?[0-9]+$/.test(v.literal)) return fail(`number ${v.literal}`);
      const big = BigInt(v.literal);
      if (big < INT64_MIN || big > INT64_MAX) return fail(`number ${v.literal}`);
      return Number(big);
    }
    case "float32": {
      if (v.kind !== "number") return fail(kindName(v));
      const x = Number(v.literal);
      if (!Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) return fail(`number ${v.literal}`);
      return Math.fround(x);
    }
  }
}

/** Formats a float32 as Go's encoding/json does (shortest digits that round-trip as float32). */
export function formatFloat32(x: number): number {
  const f = Math.fround(x);
  if (f === 0 || !Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/**
 * Decodes an object into the fields described by `fields` (Go's struct decoding): unknown
 * keys are ignored, keys match case-insensitively, later duplicates win. Returns undefined
 * (after recording Go's error) when `v` is not an object; `null` decodes to no change.
 */
export function decodeStruct(
  v: GoValue,
  fields: Record<string, FieldSpec>,
  errors: TypeErrors,
  whatIfNotObject: string,
): Record<string, unknown> | undefined {
  if (v.kind === "null") return {};
  if (v.kind !== "object") {
    errors.add(`json: cannot unmarshal ${kindName(v)} into ${whatIfNotObject}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of v.entries) {
    const found = lookupKey(fields, key);
    if (!found) continue;
    const decoded = decodeScalar(item, found[1], errors);
    if (decoded !== undefined) out[found[0]] = decoded;
  }
  return out;
}

/** The raw value of a key in an object (Go matches keys case-insensitively; the last one wins). */
export function field(v: GoValue, name: string): GoValue | undefined {
  if (v.kind !== "object") return undefined;
  let found: GoValue | undefined;
  const lower = name.toLowerCase();
  for (const [key, item] of v.entries) {
    if (key.toLowerCase() === lower) found = item;
  }
  return found;
}
