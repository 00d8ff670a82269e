/**
 * k6 thresholds, parsed and evaluated the way k6 (v1.x) does, so that a profile's
 * budgets pass or fail identically under k6 and under the embedded engine.
 *
 * Expression: `aggregation operator value`, e.g. `p(95)<30000`. The scanner splits on
 * the first operator found in k6's order (`<=`, `<`, `>=`, `>`, `===`, `==`, `!=`),
 * trims both sides; the right side is a Go float. Keys may select a submetric by tags:
 * `http_req_duration{scenario:mint}`.
 */
import { tryParseDuration } from "../duration.ts";

export type MetricType = "counter" | "gauge" | "rate" | "trend";
export type Operator = "<=" | "<" | ">=" | ">" | "===" | "==" | "!=";

export interface ThresholdExpression {
  /** `avg`, `min`, `max`, `med`, `count`, `rate`, `value` or `p`. */
  method: string;
  /** The percentile of `p(N)`, 0..100. */
  percentile?: number;
  operator: Operator;
  value: number;
  /** The expression as written, which is also its key in the summary. */
  source: string;
}

export interface Threshold extends ThresholdExpression {
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export interface ThresholdSet {
  /** The key as written, e.g. `http_req_duration{scenario:mint}`. */
  key: string;
  metric: string;
  /** Tag filters of a submetric, in the order written. */
  tags: Array<[string, string]>;
  thresholds: Threshold[];
}

/** A threshold expression or a profile's threshold table that k6 would refuse. */
export class ThresholdError extends Error {
  override name = "ThresholdError";
}

const OPERATORS: readonly Operator[] = ["<=", "<", ">=", ">", "===", "==", "!="];
const METHODS = ["value", "count", "rate", "avg", "min", "med", "max"];

/** Methods each metric type supports (k6's `SupportedAggregationMethods`). */
export const METHODS_BY_TYPE: Record<MetricType, readonly string[]> = {
  counter: ["count", "rate"],
  gauge: ["value"],
  rate: ["rate"],
  trend: ["avg", "min", "max", "med", "p"],
};

const DECIMAL = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const HEX = /^[+-]?0[xX](?:[0-9a-fA-F](?:_?[0-9a-fA-F])*(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?\d+$/;
const SPECIAL = /^[+-]?(?:inf|infinity)$|^nan$/i;

/** Go's `strconv.ParseFloat(s, 64)`: the syntax k6 accepts on either side of a threshold. */
export function parseGoFloat(text: string): number | undefined {
  if (SPECIAL.test(text)) {
    if (/nan/i.test(text)) return Number.NaN;
    return text.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (DECIMAL.test(text)) return Number(text.replaceAll("_", ""));
  if (HEX.test(text)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(text)!;
    const int = (m[2] ?? "").replaceAll("_", "");
    const frac = m[3] ?? "";
    const mantissa =
      Number.parseInt(int || "0", 16) + (frac ? Number.parseInt(frac, 16) / 16 ** frac.length : 0);
    return (m[1] === "-" ? -1 : 1) * mantissa * 2 ** Number(m[4]);
  }
  return undefined;
}

/** Parses one expression like k6's `parseThresholdExpression`; throws `ThresholdError` with k6's reason. */
export function parseThresholdExpression(source: string): ThresholdExpression {
  let method: string | undefined;
  let operator: Operator | undefined;
  let right: string | undefined;
  for (const op of OPERATORS) {
    const at = source.indexOf(op);
    if (at !== -1) {
      method = source.slice(0, at).trim();
      operator = op;
      right = source.slice(at + op.length).trim();
      break;
    }
  }
  if (method === undefined || operator === undefined || right === undefined) {
    throw new ThresholdError(
      `failed parsing threshold expression "${source}"; reason: malformed threshold expression`,
    );
  }
  let percentile: number | undefined;
  if (!METHODS.includes(method)) {
    if (method.startsWith("p(") && method.endsWith(")")) {
      const inner = method.slice(2, -1);
      percentile = parseGoFloat(inner);
      if (percentile === undefined) {
        throw new ThresholdError(
          `failed parsing threshold expression's "${source}" left hand side; reason: malformed percentile value "${inner}"`,
        );
      }
      // k6 accepts p(101) or p(-1) when it validates and then crashes when it evaluates them.
      if (!(percentile >= 0 && percentile <= 100)) {
        throw new ThresholdError(`threshold "${source}": a percentile must be between 0 and 100`);
      }
      method = "p";
    } else {
      throw new ThresholdError(
        `failed parsing threshold expression's "${source}" left hand side; reason: failed parsing method from expression`,
      );
    }
  }
  const value = parseGoFloat(right);
  if (value === undefined) {
    throw new ThresholdError(
      `failed parsing threshold expression's "${source}" right hand side; reason: "${right}" is not a number`,
    );
  }
  return percentile === undefined
    ? { method, operator, value, source }
    : { method, percentile, operator, value, source };
}

/** Splits `name{tag:value,...}` like k6's `ParseMetricName` and submetric parsing. */
export function parseMetricKey(key: string): { metric: string; tags: Array<[string, string]> } {
  const open = key.indexOf("{");
  const close = key.lastIndexOf("}");
  if (open === -1 && close === -1) return { metric: key, tags: [] };
  const why = (reason: string) =>
    new ThresholdError(
      `unable to validate threshold expressions; reason: parsing metric name failed, ${reason}`,
    );
  if (open === -1 || close === -1) throw why(`metric "${key}" has unmatched opening/close curly brace`);
  if (close < open) throw why(`metric "${key}" closing curly brace appears before opening one`);
  if (close !== key.length - 1) throw why(`metric "${key}" lacks a closing curly brace in its last position`);
  const tags: Array<[string, string]> = [];
  for (const part of key.slice(open + 1, close).split(",")) {
    const colon = part.indexOf(":");
    if (colon === -1 || colon === part.length - 1) throw why(`metric "${part}" tag expression is malformed`);
    const name = part.slice(0, colon).trim();
    const value = part
      .slice(colon + 1)
      .trim()
      .replace(/^["']+|["']+$/g, "");
    tags.push([name, value]);
  }
  return { metric: key.slice(0, open).trim(), tags };
}

/**
 * Parses a profile's `thresholds` table (`{ key: [expression | {threshold, abortOnFail,
 * delayAbortEval}] }`) and checks it against the metrics that exist, like k6 before a run.
 */
export function parseThresholds(raw: unknown, metricTypes: ReadonlyMap<string, MetricType>): ThresholdSet[] {
  if (raw === undefined) return [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ThresholdError("thresholds must be an object of metric -> list of expressions");
  }
  const sets: ThresholdSet[] = [];
  for (const [key, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) {
      throw new ThresholdError(
        `thresholds["${key}"] must be a list of expressions (k6 refuses a bare string)`,
      );
    }
    const { metric, tags } = parseMetricKey(key);
    const thresholds: Threshold[] = [];
    for (const item of list as unknown[]) {
      let source: string;
      let abortOnFail = false;
      let delayAbortEvalMs = 0;
      if (typeof item === "string") source = item;
      else if (typeof item === "object" && item !== null && !Array.isArray(item)) {
        const o = item as Record<string, unknown>;
        source = typeof o["threshold"] === "string" ? o["threshold"] : "";
        abortOnFail = o["abortOnFail"] === true;
        if (o["delayAbortEval"] !== undefined) {
          const d = tryParseDuration(o["delayAbortEval"]);
          if (d === undefined)
            throw new ThresholdError(`time: invalid duration "${String(o["delayAbortEval"])}"`);
          delayAbortEvalMs = d;
        }
      } else throw new ThresholdError(`thresholds["${key}"]: ${JSON.stringify(item)} is not an expression`);
      thresholds.push({ ...parseThresholdExpression(source), abortOnFail, delayAbortEvalMs });
    }
    const type = metricTypes.get(metric);
    if (type === undefined) {
      throw new ThresholdError(
        `invalid threshold defined on ${key}; reason: no metric name "${metric}" found`,
      );
    }
    for (const t of thresholds) {
      if (!METHODS_BY_TYPE[type].includes(t.method)) {
        throw new ThresholdError(
          `invalid threshold "${t.source}" applied on metric ${key}; reason: unsupported aggregation method ` +
            `${t.method} on metric of type ${type}. supported aggregation methods for this metric are: ` +
            METHODS_BY_TYPE[type].join(", "),
        );
      }
    }
    sets.push({ key, metric, tags, thresholds });
  }
  return sets;
}

/**
 * The values a threshold reads from a sink, as k6's `Thresholds.Run` builds them: a rate
 * with no samples has no `rate`, so its thresholds pass untested; an empty trend reads 0.
 */
export interface SinkValues {
  /** Present values by method (`avg`, `count`, `rate`, ...). */
  values: Partial<Record<string, number>>;
  /** `p(N)` for N in percent. */
  percentile?: (percent: number) => number;
}

/** Evaluates one threshold against a sink's values; `true` means the budget holds. */
export function evaluateThreshold(t: ThresholdExpression, sink: SinkValues): boolean {
  let lhs: number | undefined;
  if (t.method === "p") lhs = sink.percentile?.(t.percentile ?? 0);
  else lhs = sink.values[t.method];
  if (lhs === undefined) return true;
  switch (t.operator) {
    case "<=":
      return lhs <= t.value;
    case "<":
      return lhs < t.value;
    case ">=":
      return lhs >= t.value;
    case ">":
      return lhs > t.value;
    case "===":
    case "==":
      return lhs === t.value;
    case "!=":
      return lhs !== t.value;
  }
}
