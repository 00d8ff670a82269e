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
const DIGIT = /[0-9]/;
const HEX_DIGIT = /[0-9a-fA-F]/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * Parses the first JSON value of `text` as Go's `json.Decoder.Decode` does; throws a
 * GoJsonError with Go's message on a syntax error, and `EOF` for an empty body.
 */
export function parseGoJson(text: string): GoValue {
  const scanner = new GoScanner(text);
  scanner.skip();
  if (scanner.done()) throw new GoJsonError("EOF");
  return scanner.value();
}

/** Go's scanner over one text: each method reads one construct from the cursor on. */
class GoScanner {
  private i = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  done(): boolean {
    return this.i >= this.text.length;
  }

  skip(): void {
    while (!this.done() && WS.has(this.text[this.i]!)) this.i++;
  }

  /** The character at the cursor; `unexpected EOF` when there is none. */
  private peek(): string {
    if (this.done()) throw new GoJsonError("unexpected EOF");
    return this.text[this.i]!;
  }

  /** The next non-space character, without consuming it. */
  private peekAfterSpace(): string {
    this.skip();
    return this.peek();
  }

  private bad(context: string): never {
    throw new GoJsonError(`invalid character ${quoteChar(this.text[this.i]!)} ${context}`);
  }

  private digits(): void {
    while (!this.done() && DIGIT.test(this.text[this.i]!)) this.i++;
  }

  value(): GoValue {
    const c = this.peekAfterSpace();
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return { kind: "string", value: this.string() };
    if (c === "t") return this.literal("true", { kind: "bool", value: true });
    if (c === "f") return this.literal("false", { kind: "bool", value: false });
    if (c === "n") return this.literal("null", { kind: "null" });
    if (c === "-" || DIGIT.test(c)) return this.number();
    return this.bad("looking for beginning of value");
  }

  private object(): GoValue {
    this.i++;
    const entries: Array<[string, GoValue]> = [];
    if (this.peekAfterSpace() === "}") {
      this.i++;
      return { kind: "object", entries };
    }
    for (;;) {
      if (this.peekAfterSpace() !== '"') this.bad("looking for beginning of object key string");
      const key = this.string();
      if (this.peekAfterSpace() !== ":") this.bad("after object key");
      this.i++;
      entries.push([key, this.value()]);
      const next = this.peekAfterSpace();
      this.i++;
      if (next === "}") return { kind: "object", entries };
      if (next !== ",") {
        this.i--;
        this.bad("after object key:value pair");
      }
    }
  }

  private array(): GoValue {
    this.i++;
    const items: GoValue[] = [];
    if (this.peekAfterSpace() === "]") {
      this.i++;
      return { kind: "array", items };
    }
    for (;;) {
      items.push(this.value());
      const next = this.peekAfterSpace();
      this.i++;
      if (next === "]") return { kind: "array", items };
      if (next !== ",") {
        this.i--;
        this.bad("after array element");
      }
    }
  }

  private literal(word: string, value: GoValue): GoValue {
    for (let k = 1; k < word.length; k++) {
      this.i++;
      if (this.peek() !== word[k]) this.bad(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    this.i++;
    return value;
  }

  /** A string from its opening quote at the cursor to its closing one. */
  private string(): string {
    this.i++;
    let out = "";
    for (;;) {
      const c = this.peek();
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === "\\") {
        out += this.escape();
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.bad("in string literal");
      out += c;
      this.i++;
    }
  }

  /** The character an escape at the cursor (its backslash) stands for. */
  private escape(): string {
    this.i++;
    const e = this.peek();
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      this.i++;
      return simple;
    }
    if (e !== "u") return this.bad("in string escape code");
    let hex = "";
    for (let k = 0; k < 4; k++) {
      this.i++;
      if (!HEX_DIGIT.test(this.peek())) this.bad("in \\u hexadecimal character escape");
      hex += this.text[this.i];
    }
    this.i++;
    return String.fromCharCode(Number.parseInt(hex, 16));
  }

  private number(): GoValue {
    const start = this.i;
    if (this.text[this.i] === "-") {
      this.i++;
      if (!DIGIT.test(this.peek())) this.bad("in numeric literal");
    }
    if (this.text[this.i] === "0") this.i++;
    else this.digits();
    if (!this.done() && this.text[this.i] === ".") {
      this.i++;
      if (!DIGIT.test(this.peek())) this.bad("after decimal point in numeric literal");
      this.digits();
    }
    if (!this.done() && (this.text[this.i] === "e" || this.text[this.i] === "E")) {
      this.i++;
      if (!this.done() && (this.text[this.i] === "+" || this.text[this.i] === "-")) this.i++;
      if (!DIGIT.test(this.peek())) this.bad("in exponent of numeric literal");
      this.digits();
    }
    return { kind: "number", literal: this.text.slice(start, this.i) };
  }
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
