import { expect } from "chai";
import {
  REPLAY_WINDOW_MS,
  ReplayGuard,
  SIGNATURE_TOLERANCE_MS,
  signWebhook,
  verifyWebhook,
} from "../../harness/contract/webhook.ts";

const SECRET = "whsec-test-0123456789";

describe("contract webhook signature", () => {
  const body = JSON.stringify({
    event: "ORACLE_STALE",
    severity: "high",
    system: "price_oracles",
    chain: null,
  });
  const now = 1_760_000_000_000;

  it("accepts a delivery signed over the exact body", () => {
    const header = signWebhook(SECRET, body, now);
    expect(header).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(SECRET, header, body, now + 1000, new ReplayGuard())).to.deep.equal({
      ok: true,
      timestampMs: now,
    });
  });

  it("rejects a body changed after signing", () => {
    const header = signWebhook(SECRET, body, now);
    const changed = body.replace("high", "low");
    const result = verifyWebhook(SECRET, header, changed, now, new ReplayGuard());
    expect(result).to.deep.equal({ ok: false, reason: "signature mismatch" });
  });

  it("rejects a wrong secret, a missing header and a malformed one", () => {
    expect(
      verifyWebhook("other-secret", signWebhook(SECRET, body, now), body, now, new ReplayGuard()).ok,
    ).to.equal(false);
    expect(verifyWebhook(SECRET, undefined, body, now, new ReplayGuard()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, "v1=abc", body, now, new ReplayGuard()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, `t=${now}`, body, now, new ReplayGuard()).ok).to.equal(false);
  });

  it("rejects a timestamp older than 5 minutes and accepts one just inside", () => {
    const header = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, header, body, now + 5 * 60_000 + 1, new ReplayGuard()).ok).to.equal(false);
    expect(verifyWebhook(SECRET, header, body, now + 5 * 60_000, new ReplayGuard()).ok).to.equal(true);
  });

  it("rejects a replayed delivery", () => {
    const guard = new ReplayGuard();
    const header = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, header, body, now, guard).ok).to.equal(true);
    expect(verifyWebhook(SECRET, header, body, now, guard)).to.deep.equal({
      ok: false,
      reason: "replayed delivery",
    });
  });

  it("forgets a signature once its timestamp alone refuses the replay", () => {
    const guard = new ReplayGuard();
    const first = signWebhook(SECRET, body, now);
    expect(verifyWebhook(SECRET, first, body, now, guard).ok).to.equal(true);
    const later = now + REPLAY_WINDOW_MS + 1;
    expect(verifyWebhook(SECRET, signWebhook(SECRET, body, later), body, later, guard).ok).to.equal(true);
    expect(guard.size).to.equal(1);
    expect(verifyWebhook(SECRET, first, body, later, guard)).to.deep.equal({
      ok: false,
      reason: "timestamp outside the 5 minute tolerance",
    });
    expect(REPLAY_WINDOW_MS).to.be.at.least(SIGNATURE_TOLERANCE_MS);
  });
});
