/**
 * Alert webhook: every alert and action leaves the stack as JSON signed as the contract
 * says (harness/contract/webhook.ts), delivered in the background with retries so that
 * posting never delays detection.
 */
import { SIGNATURE_HEADER, signWebhook } from "../contract/webhook.ts";
import { sleep } from "../process.ts";

export interface WebhookPosterOptions {
  url: string;
  secret: string;
  /** Attempts per delivery. @default 6 */
  attempts?: number;
  /** First retry delay; doubles each retry. @default 100 */
  backoffMs?: number;
  /** Per attempt. @default 2000 */
  timeoutMs?: number;
  /** Called when a delivery is given up (never with the secret). */
  onGiveUp?: (body: string, reason: string) => void;
}

/**
 * Posts JSON bodies in the background. `post()` returns at once; a delivery is signed once
 * (a retry carries the same signature, so a receiver that already got it rejects it as a
 * replay instead of counting it twice) and retried on network errors and 5xx with
 * exponential backoff.
 */
export class WebhookPoster {
  readonly #options: Required<Omit<WebhookPosterOptions, "onGiveUp">> &
    Pick<WebhookPosterOptions, "onGiveUp">;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  delivered = 0;
  failed = 0;

  constructor(options: WebhookPosterOptions) {
    this.#options = { attempts: 6, backoffMs: 100, timeoutMs: 2000, ...options };
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
    const { url, attempts, backoffMs, timeoutMs } = this.#options;
    let reason = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signature },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.delivered++;
          return;
        }
        reason = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        reason = (error as Error).message;
      }
      if (this.#closed && attempt >= 1) break;
    }
    this.failed++;
    this.#options.onGiveUp?.(body, reason);
  }

  /** Waits for the deliveries under way (up to `timeoutMs`), then stops accepting new ones. */
  async close(timeoutMs = 2000): Promise<void> {
    const pending = Promise.allSettled([...this.#inFlight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.#closed = true;
  }
}
