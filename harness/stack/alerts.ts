/**
 * Alerts and actions. A condition is raised once and cleared once (`RECOVERED`); every
 * alert goes to the webhook in the background, so posting never slows detection.
 */
import type { Alert as PostedAlert, Severity } from "../contract/alerts.ts";
import { redact } from "../redact.ts";
import type { WebhookPoster } from "./webhook.ts";

/** An alert as this stack posts it: always with `chain` and `details`, `at` with milliseconds. */
export interface Alert extends PostedAlert {
  chain: string | null;
  details: Record<string, unknown>;
}

export interface Condition {
  /** Identifies the condition, e.g. `collateral:ethereum`. */
  key: string;
  event: string;
  severity: Severity;
  system: string;
  chain: string | null;
  details: Record<string, unknown>;
}

const HASH = /^0x[0-9a-fA-F]{64}$/;

/**
 * Removes secrets from a JSON-like value: every string goes through `redact()`, except a
 * bare 32-byte hex value (a transaction hash, an id), which is removed only when it is one
 * of `keys` (the lab's private keys): redact() cannot tell a hash from a key by its shape.
 */
export function scrub<T>(value: T, keys: ReadonlySet<string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      if (HASH.test(v)) return keys.has(v.toLowerCase()) ? "0x<redacted-key>" : v;
      let out = redact(v);
      const lower = out.toLowerCase();
      for (const key of keys) {
        let at = lower.lastIndexOf(key);
        while (at >= 0) {
          out = `${out.slice(0, at)}0x<redacted-key>${out.slice(at + key.length)}`;
          at = at === 0 ? -1 : lower.lastIndexOf(key, at - 1);
        }
      }
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export interface AlerterOptions {
  poster?: WebhookPoster | undefined;
  /** Holds every alert back this long (to slow detection on purpose in tests). @default 0 */
  delayMs?: number;
  onAlert?: (alert: Alert) => void;
  /** Private keys that must never leave in an alert (lower case). */
  keys?: ReadonlySet<string>;
}

export class Alerter {
  readonly history: Alert[] = [];
  readonly #active = new Map<string, Condition & { sinceMs: number }>();
  readonly #options: AlerterOptions;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: AlerterOptions = {}) {
    this.#options = options;
  }

  /** Posts one alert or action. */
  emit(
    event: string,
    severity: Severity,
    system: string,
    chain: string | null,
    details: Record<string, unknown> = {},
  ): void {
    const send = () => {
      const alert: Alert = scrub(
        {
          event,
          severity,
          system,
          chain,
          at: new Date().toISOString(),
          details,
        },
        this.#options.keys ?? new Set<string>(),
      );
      this.history.push(alert);
      if (this.history.length > 1000) this.history.shift();
      this.#options.poster?.post(alert);
      this.#options.onAlert?.(alert);
    };
    const delay = this.#options.delayMs ?? 0;
    if (delay <= 0) send();
    else {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        send();
      }, delay);
      this.#timers.add(timer);
    }
  }

  readonly #recent = new Map<string, { atMs: number; heldBack: number }>();

  /**
   * Posts an alert that one request can cause (a mint sent to another chain), at most once
   * per `everyMs` for `key`, so that a burst of requests posts one alert, not one per
   * request. The next one posted counts those held back (`heldBack`). Returns true when
   * this one was posted.
   */
  emitEvery(
    key: string,
    everyMs: number,
    event: string,
    severity: Severity,
    system: string,
    chain: string | null,
    details: Record<string, unknown> = {},
  ): boolean {
    const now = Date.now();
    const recent = this.#recent.get(key);
    if (recent && now - recent.atMs < everyMs) {
      recent.heldBack++;
      return false;
    }
    this.#recent.set(key, { atMs: now, heldBack: 0 });
    const heldBack = recent?.heldBack ?? 0;
    this.emit(event, severity, system, chain, heldBack > 0 ? { ...details, heldBack } : details);
    return true;
  }

  /** Raises a condition; returns true when it was not active before (and was posted). */
  raise(condition: Condition): boolean {
    if (this.#active.has(condition.key)) return false;
    this.#active.set(condition.key, { ...condition, sinceMs: Date.now() });
    this.emit(condition.event, condition.severity, condition.system, condition.chain, condition.details);
    return true;
  }

  /** Clears a condition; posts RECOVERED and returns true when it was active. */
  clear(key: string, details: Record<string, unknown> = {}): boolean {
    const condition = this.#active.get(key);
    if (!condition) return false;
    this.#active.delete(key);
    this.emit("RECOVERED", "low", condition.system, condition.chain, {
      condition: condition.event,
      key,
      durationMs: Date.now() - condition.sinceMs,
      ...details,
    });
    return true;
  }

  isActive(key: string): boolean {
    return this.#active.has(key);
  }

  /** The conditions active now. */
  active(): Condition[] {
    return [...this.#active.values()];
  }

  /**
   * Makes the active set with keys under `prefix` equal to `conditions`: raises the new ones,
   * clears the ones gone. Returns the keys raised and cleared.
   */
  reconcile(prefix: string, conditions: readonly Condition[]): { raised: Condition[]; cleared: string[] } {
    const raised = conditions.filter((c) => this.raise(c));
    const wanted = new Set(conditions.map((c) => c.key));
    const cleared = [...this.#active.keys()].filter((k) => k.startsWith(prefix) && !wanted.has(k));
    for (const key of cleared) this.clear(key);
    return { raised, cleared };
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
