/**
 * YAML with positions: every problem in an input file is reported as
 * `file:line field: what is wrong`, at the line of the offending node, or of its parent
 * when the node is missing.
 *
 * Input error codes (all exit 2):
 *   FD200 the file cannot be read          FD205 a dependency cycle
 *   FD201 a value of the wrong shape       FD206 a schedule past the end of the run
 *   FD202 YAML syntax                      FD207 a duplicate name, id or entry
 *   FD203 a bad duration                   FD208 an unknown event name
 *   FD204 an unknown system or tier        FD209 an unknown fault type or probe
 *   FD210 an inconsistent setting (limits out of order, a fault outside the targets' blast radius)
 */
import { readFileSync } from "node:fs";
import { type Document, isAlias, isMap, isSeq, LineCounter, type Node, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { describeValue } from "./duration.ts";
import { type ErrorCode, FiredrillError, inputError, isErrorCode } from "./errors.ts";
import { suggest } from "./suggest.ts";

/** A path into a parsed document, as zod reports it: keys and list indexes. */
export type FieldPath = readonly PropertyKey[];

/** One thing wrong in an input file, before it is placed at a line. */
export interface Problem {
  path: FieldPath;
  message: string;
  /** FD2xx code. */
  code: ErrorCode;
  /** The node is absent: reported after problems with nodes that are there (often a typo's consequence). */
  missing?: boolean;
}

/** A parsed YAML file that can say at which line any field is. */
export interface YamlFile {
  /** The path as given by the user, used in messages. */
  file: string;
  text: string;
  /** The document as plain JSON-like data. */
  value: unknown;
  /** 1-based line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: FieldPath): number;
}

/**
 * Reads and parses a YAML file.
 * @throws FiredrillError FD200 when it cannot be read, FD202 on a syntax error.
 */
export function readYamlFile(file: string, options: YamlOptions = {}): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory, not a file"
          : `cannot be read (${code})`;
    throw inputError("FD200", { file }, why);
  }
  return parseYaml(file, text, options);
}

export interface YamlOptions {
  /**
   * Keeps a plain `0x...` scalar as the text it is (YAML reads it as a hexadecimal number,
   * and an address does not fit one).
   */
  hexAsText?: boolean;
}

/**
 * Parses YAML text that came from `file`, keeping the positions of every node.
 * @throws FiredrillError FD202 on a syntax error, at its line.
 */
export function parseYaml(file: string, text: string, options: YamlOptions = {}): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const line = syntax.linePos?.[0].line ?? lineCounter.linePos(syntax.pos[0]).line;
    throw inputError("FD202", { file, line }, `YAML syntax: ${yamlMessage(syntax.message)}`);
  }
  if (options.hexAsText)
    visit(doc, {
      Scalar(_, node) {
        if (typeof node.source === "string" && /^0x[0-9a-fA-F]+$/.test(node.source)) node.value = node.source;
      },
    });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const line = firstAliasLine(doc, lineCounter) ?? 1;
    throw inputError("FD202", { file, line }, `YAML: ${yamlMessage((error as Error).message)}`);
  }
  return { file, text, value, lineOf: (path) => lineOfPath(doc, lineCounter, path) };
}

function yamlMessage(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "").replace(/[.:]$/, "");
}

function firstAliasLine(doc: Document, lineCounter: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (line === undefined && node.range) line = lineCounter.linePos(node.range[0]).line;
    },
  });
  return line;
}

function nodeLine(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}

function lineOfPath(doc: Document, lineCounter: LineCounter, path: FieldPath): number {
  let node: unknown = doc.contents;
  let line = nodeLine(node, lineCounter) ?? 1;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const key = isAlias(item.key) ? item.key.resolve(doc) : item.key;
        const keyValue = (key as { value?: unknown } | null)?.value ?? key;
        return String(keyValue) === String(segment);
      });
      if (pair === undefined) return line;
      line = nodeLine(pair.key, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) return line;
      line = nodeLine(item, lineCounter) ?? line;
      node = item;
    } else {
      return line;
    }
  }
  return line;
}

/** `faults[0].gwei` for ["faults", 0, "gwei"]. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const key = String(segment);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
        ? out === ""
          ? key
          : `.${key}`
        : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** The error for one problem, placed at its line. */
export function problemError(src: YamlFile, problem: Problem, more = 0): FiredrillError {
  const suffix = more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"} in this file)` : "";
  return inputError(
    problem.code,
    { file: src.file, line: src.lineOf(problem.path), field: formatPath(problem.path) || undefined },
    problem.message + suffix,
  );
}

/**
 * Throws the first problem by line, mentioning how many more there are; a missing key
 * comes after problems with nodes that are there (`faultz:` is reported as an unknown key
 * rather than as a missing `faults`). Returns when there are none.
 */
export function throwFirst(src: YamlFile, problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  const rank = (problem: Problem) => (problem.missing ? 1e9 : 0) + src.lineOf(problem.path);
  let first = problems[0]!;
  for (const problem of problems.slice(1)) {
    if (rank(problem) < rank(first)) first = problem;
  }
  throw problemError(src, first, problems.length - 1);
}

/**
 * Validates the parsed file against a zod schema and returns its output. `renamed` maps
 * a top-level key the format used to have to the key that replaced it, so that an old
 * file is told what to write instead of only that the key is unknown.
 * @throws FiredrillError (FD2xx) at the line of the first problem.
 */
export function validateAgainst<T extends z.ZodType>(
  src: YamlFile,
  schema: T,
  what: string,
  renamed: Readonly<Record<string, string>> = {},
): z.output<T> {
  if (src.value === null || src.value === undefined) {
    throw inputError("FD201", { file: src.file, line: 1 }, `the file is empty: expected a ${what}`);
  }
  if (typeof src.value !== "object" || Array.isArray(src.value)) {
    throw inputError(
      "FD201",
      { file: src.file, line: src.lineOf([]) },
      `expected a ${what} (a mapping of keys), got ${describeValue(src.value)}`,
    );
  }
  const result = schema.safeParse(src.value, { reportInput: true });
  if (result.success) return result.data;
  const problems = zodProblems(result.error.issues).map((problem) => {
    const key = problem.path.length === 1 ? String(problem.path[0]) : undefined;
    const now = key !== undefined && Object.hasOwn(renamed, key) ? renamed[key] : undefined;
    return now !== undefined && problem.message === `unknown key "${key}"`
      ? { ...problem, message: `unknown key "${key}": it is now called "${now}"` }
      : problem;
  });
  throwFirst(src, problems);
  throw new FiredrillError("FD201", `${src.file}: invalid ${what}`);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
};

function hasInput(issue: z.core.$ZodIssue): boolean {
  return "input" in issue && issue.input !== undefined;
}

/** Turns zod issues into problems with messages that say what is wrong and what is expected. */
export function zodProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case "invalid_type": {
        const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
        const custom = !issue.message.startsWith("Invalid");
        const message = hasInput(issue)
          ? custom
            ? issue.message
            : `expected ${expected}, got ${describeValue(input)}`
          : custom
            ? issue.message
            : `is required (${expected})`;
        problems.push({ path: issue.path, message, code: "FD201", missing: !hasInput(issue) });
        break;
      }
      case "unrecognized_keys":
        for (const key of issue.keys) {
          problems.push({ path: [...issue.path, key], message: `unknown key "${key}"`, code: "FD201" });
        }
        break;
      case "invalid_value": {
        const values = issue.values.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
        if (input === undefined) {
          const message = `is required: ${values.length === 1 ? values[0] : `one of ${values.join(", ")}`}`;
          problems.push({ path: issue.path, message, code: "FD201", missing: true });
          break;
        }
        const message =
          values.length === 1
            ? `expected ${values[0]}, got ${describeValue(input)}`
            : `expected one of ${values.join(", ")}, got ${describeValue(input)}${typeof input === "string" ? suggest(input, values) : ""}`;
        problems.push({ path: issue.path, message, code: "FD201" });
        break;
      }
      case "too_small":
      case "too_big": {
        const small = issue.code === "too_small";
        const bound = small ? issue.minimum : issue.maximum;
        let message: string;
        if (issue.origin === "array" || issue.origin === "set") {
          message = small
            ? `needs at least ${bound} item${bound === 1 ? "" : "s"}`
            : `allows at most ${bound} items`;
        } else if (issue.origin === "string") {
          message = small
            ? Number(bound) <= 1
              ? "must not be empty"
              : `must be at least ${bound} characters`
            : `must be at most ${bound} characters`;
        } else {
          const op = small ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
          message = `must be ${op} ${String(bound)}, got ${describeValue(input)}`;
        }
        problems.push({ path: issue.path, message, code: "FD201" });
        break;
      }
      case "invalid_union": {
        const note = issue as { discriminator?: string; options?: unknown[] };
        if (note.discriminator !== undefined) {
          const options = (note.options ?? []).map(String).join(", ");
          const got = (input as Record<string, unknown> | undefined)?.[note.discriminator];
          const code = "FD209";
          const last = issue.path[issue.path.length - 1];
          const path = last === note.discriminator ? issue.path : [...issue.path, note.discriminator];
          const message =
            got === undefined
              ? `is required: one of ${options}`
              : `unknown ${note.discriminator} ${describeValue(got)}: expected one of ${options}`;
          problems.push({ path, message, code, missing: got === undefined });
        } else {
          problems.push({ path: issue.path, message: issue.message, code: "FD201" });
        }
        break;
      }
      case "invalid_key": {
        const inner = issue.issues[0]?.message;
        const key = issue.path[issue.path.length - 1];
        const why = inner === undefined || inner.startsWith("Invalid") ? "not an accepted name" : inner;
        problems.push({
          path: issue.path,
          message: `invalid key ${JSON.stringify(String(key))}: ${why}`,
          code: "FD201",
        });
        break;
      }
      case "invalid_format":
        problems.push({
          path: issue.path,
          message: `${issue.message}, got ${describeValue(input)}`,
          code: "FD201",
        });
        break;
      case "custom": {
        const fd = (issue.params as { fd?: unknown } | undefined)?.fd;
        problems.push({
          path: issue.path,
          message: issue.message,
          code: isErrorCode(fd) ? fd : "FD201",
        });
        break;
      }
      default:
        problems.push({ path: issue.path, message: issue.message, code: "FD201" });
    }
  }
  return problems;
}
