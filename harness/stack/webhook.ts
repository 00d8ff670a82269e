/**
 * Alert webhook: every alert and action leaves the stack as JSON signed as the contract
 * says (harness/contract/webhook.ts), delivered in the background with retries so that
 * posting never delays detection, and an alert path that is down for a while delays the
 * page instead of losing it.
 */
import { SIGNATURE_HEADER, signWebhook } from "../contract/webhook.ts";
import { backoffMs, sleep } from "../process.ts";

export interface WebhookPosterOptions {
  url: string;
  secret: string;
  /**
   * How long a delivery is retried, from its first attempt, ms. It stays inside the
   * signature's tolerance, since a retry carries the first attempt's signature.
   * @default 120000
   */
  retryForMs?: number;
  /** First retry delay; doubles each retry up to `maxBackoffMs`. @default 100 */
  backoffMs?: number;
  /** Longest wait between two attempts. @default 2000 */
  maxBackoffMs?: number;
  /** Per attempt. @default 2000 */
  timeoutMs?: number;
  /** Called when a delivery is given up (never with the secret). */
  onGiveUp?: (body: string, reason: string) => void;
}

/**
 * Posts JSON bodies in the background. `post()` returns at once; a delivery is signed once
 * (a retry carries the same signature, so a receiver that already got it rejects it as a
 * replay instead of counting it twice) and retried on network errors, 5xx and 429 with
 * exponential backoff, for `retryForMs`.
 */
export class WebhookPoster {
  readonly #options: Required<Omit<WebhookPosterOptions, "onGiveUp">> &
    Pick<WebhookPosterOptions, "onGiveUp">;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  /** Aborted once closing has waited long enough: retries still waiting stop. */
  readonly #stop = new AbortController();
  delivered = 0;
  failed = 0;

  constructor(options: WebhookPosterOptions) {
    this.#options = { retryForMs: 120_000, backoffMs: 100, maxBackoffMs: 2000, timeoutMs: 2000, ...options };
  }

  /** Queues `value` for delivery; never throws, never waits. */
  post(value: unknown): void {
    if (this.#closed) return;
    const body = JSON.stringify(value);
    const signature = signWebhook(this.#options.secret, body, Date.now());
    const delivery = this.#deliver(body, signature).finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  async #deliver(body: string, signature: string): Promise<void> {
    const { url, retryForMs, backoffMs: firstBackoffMs, maxBackoffMs, timeoutMs } = this.#options;
    const deadline = Date.now() + retryForMs;
    let reason = "";
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        const wait = backoffMs(attempt, firstBackoffMs, maxBackoffMs);
        if (Date.now() + wait >= deadline) break;
        await sleep(wait, this.#stop.signal);
        if (this.#stop.signal.aborted) break;
      }
      // Its timeout shortened to what is left of the retry time.
      const cutShort = deadline - Date.now() < timeoutMs;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signature },
          body,
          signal: AbortSignal.any([
            this.#stop.signal,
            AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, deadline - Date.now()))),
          ]),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.delivered++;
          return;
        }
        reason = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        // An attempt cut short by the end of the retry time says less than the answer before it.
        if (reason === "" || !cutShort) reason = (error as Error).message;
      }
    }
    this.failed++;
    this.#options.onGiveUp?.(body, reason);
  }

  /**
   * Waits for the deliveries under way (up to `timeoutMs`), then stops accepting new ones
   * and gives up those still retrying.
   */
  async close(timeoutMs = 2000): Promise<void> {
    const pending = Promise.allSettled([...this.#inFlight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.#closed = true;
    this.#stop.abort();
    await pending;
  }
}
