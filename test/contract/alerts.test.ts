import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ALERT_EVENTS, alertSchema, EVENT_MEANINGS, isStandardEvent } from "../../harness/contract/alerts.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("contract alerts", () => {
  const alert = {
    event: "ORACLE_STALE",
    severity: "high",
    system: "price_oracles",
    chain: null,
    at: "2025-01-31T12:00:00.000Z",
    details: { source: "chainlink" },
  };

  it("accepts an alert as the README shows it, and one without chain and details", () => {
    expect(alertSchema.parse(alert)).to.deep.equal(alert);
    const { chain: _chain, details: _details, ...bare } = alert;
    expect(alertSchema.safeParse(bare).success).to.equal(true);
  });

  it("rejects an event that is not upper snake case, an unknown severity and a time without offset", () => {
    expect(alertSchema.safeParse({ ...alert, event: "oracle_stale" }).success).to.equal(false);
    expect(alertSchema.safeParse({ ...alert, severity: "urgent" }).success).to.equal(false);
    expect(alertSchema.safeParse({ ...alert, at: "2025-01-31T12:00:00" }).success).to.equal(false);
  });

  it("tells standard events from others", () => {
    expect(isStandardEvent("RPC_FAILOVER")).to.equal(true);
    expect(isStandardEvent("RPC_FAILBACK")).to.equal(false);
    expect(isStandardEvent("toString")).to.equal(false);
  });

  it("gives every standard event the meaning the BCP's alert table gives it", () => {
    const bcp = readFileSync(join(ROOT, "docs", "bcp.md"), "utf8");
    const table = new Map(
      [...bcp.matchAll(/^\| `([A-Z_]+)`\s*\| ([^|]+?)\s*\|[^|]*\|$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    for (const event of ALERT_EVENTS) expect(table.get(event), event).to.equal(EVENT_MEANINGS[event].meaning);
  });
});
