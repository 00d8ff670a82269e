import { expect } from "chai";
import { INTAKE_FORMATS } from "../../harness/contract/intake/index.ts";
import { releaseAll } from "../../harness/errors.ts";
import { parseAlertMap } from "../../harness/runner/alert-map.ts";
import { startAlerts } from "../../harness/runner/bring-up.ts";
import { PhaseClock } from "../../harness/runner/phases.ts";
import { RunRecord } from "../../harness/runner/record.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../../harness/runner/systems-map.ts";
import { delivery } from "../../harness/testing/senders.ts";

// A scenario's expect may name a sender's own alert (`<format>:<alert name>`): the
// receiver's alerts reach the phase clock under that name too, mapped or not.
const SECRET = "sender-names-secret-0123456789";
const MAPPING = `version: 1
rules:
  - match: { alertname: EthereumRpcDown }
    event: RPC_FAILOVER
    system: rpc_providers
    chain: ethereum
`;

describe("a sender's own alert names, at the receiver", () => {
  const releases: Array<() => unknown> = [];
  afterEach(() => releaseAll(releases));

  async function receiver(lists: { detection: string[]; response?: string[] }, required: string[] = []) {
    const record = new RunRecord(new Date(), undefined);
    const clock = new PhaseClock(lists as never);
    const map = parseAlertMap("alerts.yml", MAPPING, loadSystemsMap(SHIPPED_MAP));
    const sink = await startAlerts(SECRET, record, clock, releases, {
      alertMap: map,
      formats: INTAKE_FORMATS,
      required,
    });
    clock.start(Date.now());
    record.t0 = Date.now();
    const send = async (name: string, status: "firing" | "resolved") => {
      const out = delivery("alertmanager", SECRET, { name, status, startsAt: new Date().toISOString() })!;
      const answer = await fetch(`${sink.url}${out.path}`, {
        method: "POST",
        headers: out.headers,
        body: out.body,
      });
      expect(answer.status).to.equal(200);
    };
    return { record, clock, send };
  }

  it("an unmapped alert named in expect reaches its phase; a resolution or another name does not", async () => {
    const { record, clock, send } = await receiver({ detection: ["alertmanager:RegulatorDown"] });
    await send("RegulatorDown", "resolved");
    await send("DiskFull", "firing");
    expect(clock.mark("detection")).to.equal(null);
    await send("RegulatorDown", "firing");
    expect(clock.mark("detection")?.alert).to.equal("alertmanager:RegulatorDown");
    const unmapped = record.timeline.filter((e) => e.kind === "alert.unmapped").map((e) => e.summary);
    expect(unmapped[1]).to.match(/"DiskFull" \(firing\) counted for nothing/);
    expect(unmapped[2]).to.match(
      /"RegulatorDown" \(firing\), named by the scenario as alertmanager:RegulatorDown/,
    );
    const reached = record.timeline.find((e) => e.kind === "phase.reached")!;
    expect(reached.details).to.include({ alert: "alertmanager:RegulatorDown" });
    expect(reached.details?.["delivery_delay_ms"]).to.be.a("number");
  });

  it("a mapped alert reaches its phase by its event and a later one by its own name", async () => {
    const { clock, record, send } = await receiver({
      detection: ["RPC_FAILOVER"],
      response: ["alertmanager:EthereumRpcDown"],
    });
    await send("EthereumRpcDown", "firing");
    expect(clock.mark("detection")?.alert).to.equal("RPC_FAILOVER");
    expect(clock.mark("response")?.alert).to.equal("alertmanager:EthereumRpcDown");
    expect([...record.seen]).to.include.members(["RPC_FAILOVER", "alertmanager:EthereumRpcDown"]);
  });

  it("an unmapped alert named only in expect.required counts as seen", async () => {
    const { record, send } = await receiver({ detection: ["RPC_FAILOVER"] }, ["alertmanager:PagerTest"]);
    await send("PagerTest", "firing");
    expect(record.seen.has("alertmanager:PagerTest")).to.equal(true);
  });
});
