import { expect } from "chai";
import {
  matchRoute,
  mintRequestSchema,
  redeemRequestSchema,
  redemptionPath,
  reportRequestSchema,
  routeLabel,
} from "../../harness/contract/gateway.ts";

const HOLDER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

/** `field: message` of the first issue, as the gateway's 400 names it. */
function firstIssue(result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) {
  expect(result.success).to.equal(false);
  const issue = result.error!.issues[0]!;
  return `${String(issue.path[0])}: ${issue.message}`;
}

describe("contract gateway", () => {
  it("matches every route by its path, and a redemption with its id", () => {
    expect(matchRoute("/health")).to.deep.equal({ name: "health" });
    expect(matchRoute("/mint/")).to.deep.equal({ name: "mint" });
    expect(matchRoute(redemptionPath("key with/slash"))).to.deep.equal({
      name: "redemption",
      id: "key with/slash",
    });
    expect(matchRoute("/redemptions/%E0%A4%A")).to.deep.equal({ name: "redemption", id: "%E0%A4%A" });
    expect(matchRoute("/redemptions/")).to.equal(undefined);
    expect(matchRoute("/nope")).to.equal(undefined);
    expect(routeLabel("redemption")).to.equal("GET /redemptions/:id");
  });

  it("reads a redemption request with its defaults, checksumming the addresses", () => {
    const body = redeemRequestSchema.parse({ amount: "500.00", holder: HOLDER.toLowerCase() });
    expect(body).to.deep.equal({ amount: "500.00", holder: HOLDER, collateral_type: "USDC" });
    expect(mintRequestSchema.parse({ amount: 5, recipient: HOLDER })).to.deep.equal({
      amount: "5",
      recipient: HOLDER,
    });
    expect(reportRequestSchema.parse({})).to.deep.equal({ report: "incident_report" });
  });

  it("names the first wrong field and says what is wrong", () => {
    const redeem = (body: object) => firstIssue(redeemRequestSchema.safeParse({ holder: HOLDER, ...body }));
    expect(redeem({})).to.equal("amount: required");
    expect(redeem({ amount: "-1" })).to.equal('amount: expected a positive decimal string like "1000.00"');
    expect(redeem({ amount: "abc" })).to.equal('amount: expected a positive decimal string like "1000.00"');
    expect(redeem({ amount: "0.00" })).to.equal("amount: must be greater than zero");
    expect(redeem({ amount: "1000000000.01" })).to.equal("amount: must be at most 1000000000");
    expect(redeem({ amount: "1", holder: "0x1234" })).to.equal("holder: expected a 0x address");
    expect(redeem({ amount: "1", holder: HOLDER.replace("D1a", "d1a") })).to.equal(
      "holder: bad address checksum",
    );
    expect(redeem({ amount: "1", pay_to: `0x${"0".repeat(40)}` })).to.equal(
      "pay_to: must not be the zero address",
    );
    expect(redeem({ amount: "1", collateral_type: "DOGE" })).to.equal(
      'collateral_type: only "USDC" is redeemable',
    );
    expect(firstIssue(reportRequestSchema.safeParse({ deadline_ms: 0 }))).to.equal(
      "deadline_ms: a positive number of milliseconds",
    );
  });
});
