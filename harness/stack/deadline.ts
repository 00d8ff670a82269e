/**
 * Deadlines for the stack's health-deciding calls. Node runs expired timers before it reads
 * the sockets, so after this process was busy for longer than a deadline (a load spike on a
 * small machine), a plain timeout fires even when the answer has already arrived, and the
 * monitor would fail over from a provider, or drop a price source, that answered in time.
 */

/**
 * A deadline for one call to a provider or a price source that does not blame it for the
 * stack's own stalls: when the timer fires late (this process was busy, and the answer may
 * be waiting unread on the socket), the call gets one more `timeoutMs` before it is aborted.
 * A peer that does not answer on an idle loop still times out after `timeoutMs`.
 */
export function stallTolerantDeadline(timeoutMs: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  let due = performance.now() + timeoutMs;
  let graced = false;
  const expire = () => {
    const lateMs = performance.now() - due;
    if (!graced && lateMs > Math.max(20, timeoutMs / 4)) {
      graced = true;
      due = performance.now() + timeoutMs;
      timer = setTimeout(expire, timeoutMs);
      return;
    }
    controller.abort(new DOMException(`timeout after ${timeoutMs} ms`, "TimeoutError"));
  };
  let timer = setTimeout(expire, timeoutMs);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
