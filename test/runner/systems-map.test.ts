import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import {
  blastRadius,
  findCycle,
  loadSystemsMap,
  parseSystemsMap,
  rtoFor,
  SHIPPED_MAP,
  tierInversions,
} from "../../harness/runner/systems-map.ts";

const fixture = (path: string) => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const HOUR = 3_600_000;

const SMALL = `version: 1
tiers:
  1: { name: critical, rto: 15m }
  2: { name: essential, rto: 2h }
  3: { name: important, rto: 24h }
systems:
  chain: { tier: 1 }
  oracle: { tier: 1, depends_on: [chain] }
  vault: { tier: 1, depends_on: [oracle] }
  api: { tier: 2, depends_on: [vault] }
  ui: { tier: 2, depends_on: [api] }
  dashboard: { tier: 3, depends_on: [api] }
  blog: { tier: 3 }
`;

describe("systems map", () => {
  const small = parseSystemsMap("small.yml", SMALL);

  describe("blast radius", () => {
    it("is the targets and everything depending on them, transitively", () => {
      expect(blastRadius(small, ["oracle"])).to.deep.equal(["oracle", "vault", "api", "ui", "dashboard"]);
      expect(blastRadius(small, ["api"])).to.deep.equal(["api", "ui", "dashboard"]);
      expect(blastRadius(small, ["blog"])).to.deep.equal(["blog"]);
    });

    it("joins the radii of several targets without repeats", () => {
      expect(blastRadius(small, ["ui", "dashboard", "blog"])).to.deep.equal(["ui", "blog", "dashboard"]);
      expect(blastRadius(small, ["chain", "oracle"])).to.have.length(6);
    });

    it("rejects an unknown target with FD204 and a hint", () => {
      expect(() => blastRadius(small, ["oracel"]))
        .to.throw(FiredrillError, /unknown system oracel \(did you mean oracle\?\)/)
        .with.property("code", "FD204");
    });
  });

  describe("rtoFor", () => {
    it("is the tightest RTO in the blast radius, not only among the targets", () => {
      // api is tier 2, but nothing tier 1 depends on it.
      expect(rtoFor(small, ["api"])).to.include({ rtoMs: 2 * HOUR, tier: 2 });
      // dashboard is tier 3 and nothing depends on it.
      expect(rtoFor(small, ["dashboard"])).to.include({ rtoMs: 24 * HOUR, tier: 3 });
      // chain is tier 1; so is everything that depends on it.
      expect(rtoFor(small, ["chain"])).to.include({ rtoMs: 15 * 60_000, tier: 1 });
    });

    it("takes the tightest among several targets", () => {
      expect(rtoFor(small, ["dashboard", "api"]).rtoMs).to.equal(2 * HOUR);
      expect(rtoFor(small, ["blog", "vault"]).rtoMs).to.equal(15 * 60_000);
    });

    it("follows dependents of a lower tier up to a more critical one (an inversion)", () => {
      const inverted = parseSystemsMap(
        "inv.yml",
        SMALL.replace(
          "vault: { tier: 1, depends_on: [oracle] }",
          "vault: { tier: 1, depends_on: [oracle, blog] }",
        ),
      );
      expect(rtoFor(inverted, ["blog"])).to.include({ rtoMs: 15 * 60_000, tier: 1, system: "vault" });
    });

    it("needs at least one target", () => {
      expect(() => rtoFor(small, [])).to.throw(FiredrillError, /no target/);
    });
  });

  describe("tier inversions", () => {
    it("finds a system depending on one of a lower tier", () => {
      const map = loadSystemsMap(fixture("maps/inversion.systems-map.yml"));
      expect(tierInversions(map)).to.deep.equal([
        { system: "vault", tier: 1, dependsOn: "dashboard", dependencyTier: 2 },
      ]);
    });

    it("finds none in a map where dependencies are as critical or more", () => {
      expect(tierInversions(small)).to.deep.equal([]);
    });
  });

  describe("cycles", () => {
    it("finds a cycle as a closed path", () => {
      const systems = new Map([
        ["a", { dependsOn: ["b"] }],
        ["b", { dependsOn: ["c"] }],
        ["c", { dependsOn: ["a"] }],
        ["d", { dependsOn: ["a"] }],
      ]);
      expect(findCycle(systems)).to.deep.equal(["a", "b", "c", "a"]);
    });

    it("finds none in a diamond", () => {
      const systems = new Map([
        ["a", { dependsOn: ["b", "c"] }],
        ["b", { dependsOn: ["d"] }],
        ["c", { dependsOn: ["d"] }],
        ["d", { dependsOn: [] }],
      ]);
      expect(findCycle(systems)).to.equal(undefined);
    });

    it("rejects a map with a cycle at the edge that closes it (FD205)", () => {
      const text = SMALL.replace("chain: { tier: 1 }", "chain: { tier: 1, depends_on: [vault] }");
      expect(() => parseSystemsMap("c.yml", text))
        .to.throw(
          FiredrillError,
          /^c\.yml:7 systems\.chain\.depends_on\[0\]: dependency cycle: vault -> oracle -> chain -> vault$/,
        )
        .with.property("code", "FD205");
    });
  });

  describe("the shipped map", () => {
    const map = loadSystemsMap(SHIPPED_MAP);

    it("has the BCP's tiers, RTOs and systems", () => {
      expect([...map.tiers.values()].map((t) => t.rtoMs)).to.deep.equal([15 * 60_000, 2 * HOUR, 24 * HOUR]);
      const tier = (n: number) => [...map.systems].filter(([, s]) => s.tier === n).map(([name]) => name);
      expect(tier(1)).to.include.members([
        "collateral_management",
        "minting_contracts",
        "redemption_engine",
        "price_oracles",
        "reserve_monitoring",
      ]);
      expect(tier(2)).to.include.members([
        "user_interface",
        "api_endpoints",
        "reporting_systems",
        "compliance_tools",
      ]);
      expect(tier(3)).to.have.members(["analytics_dashboard", "community_tools", "marketing_systems"]);
    });

    it("has no tier inversion and no cycle", () => {
      expect(tierInversions(map)).to.deep.equal([]);
      expect(findCycle(map.systems)).to.equal(undefined);
    });

    it("puts collateral management in the blast radius of the price oracles", () => {
      expect(blastRadius(map, ["price_oracles"])).to.include.members([
        "collateral_management",
        "minting_contracts",
      ]);
      expect(blastRadius(map, ["reserve_monitoring"])).to.include("reporting_systems");
      expect(rtoFor(map, ["compliance_tools"]).rtoMs).to.equal(2 * HOUR);
      expect(rtoFor(map, ["marketing_systems"]).rtoMs).to.equal(24 * HOUR);
    });
  });
});
