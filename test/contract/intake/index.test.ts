import { expect } from "chai";
import { formatByName, INTAKE_FORMATS } from "../../../harness/contract/intake/index.ts";

describe("intake formats", () => {
  it("lists the five sender formats, each on its own path under /alerts/", () => {
    expect(INTAKE_FORMATS.map((f) => f.name)).to.deep.equal([
      "alertmanager",
      "grafana",
      "pagerduty",
      "slack",
      "oz-monitor",
    ]);
    expect(INTAKE_FORMATS.map((f) => f.path)).to.deep.equal(INTAKE_FORMATS.map((f) => `/alerts/${f.name}`));
    expect(Object.isFrozen(INTAKE_FORMATS)).to.equal(true);
  });

  it("finds a format by its name, and none for an unknown one", () => {
    for (const format of INTAKE_FORMATS) expect(formatByName(format.name)).to.equal(format);
    expect(formatByName("opsgenie")).to.equal(undefined);
    expect(formatByName("toString")).to.equal(undefined);
  });
});
