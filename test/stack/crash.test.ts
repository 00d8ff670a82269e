import { join } from "node:path";
import { expect } from "chai";
import { id as keccakId } from "ethers";
import { ROOT } from "../../harness/paths.ts";
import { freePort, type OwnedProcess, startProcess } from "../../harness/process.ts";
import { startTestLab, type TestLab } from "../../harness/testing/stack-lab.ts";
import { until } from "../../harness/testing/until.ts";

const REDEEMED_TOPIC = keccakId("Redeemed(bytes32,address,address,uint256,uint256)");

/** The stack in its own process, as `firedrill stack serve` runs it. */
function startStackProcess(env: Record<string, string>, dataDir: string): Promise<OwnedProcess> {
  const script = [
    `const { startStack } = await import(${JSON.stringify(join(ROOT, "harness/stack/index.ts"))});`,
    `const s = await startStack(process.env, { dataDir: ${JSON.stringify(dataDir)}, redeemWaitMs: 0 });`,
    `console.log("stack ready on " + s.port);`,
  ].join("\n");
  return startProcess({
    name: "stack-under-test",
    command: process.execPath,
    args: ["--no-warnings", "--input-type=module", "-e", script],
    env: { ...process.env, ...env },
    ready: /stack ready on (\d+)/,
    readyTimeoutMs: 20_000,
  });
}

describe("stack redemption queue survives SIGKILL", function () {
  this.timeout(120_000);
  let lab: TestLab;
  let child: OwnedProcess | undefined;

  before(async () => {
    lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 500 });
  });

  after(async () => {
    await child?.stop(1000);
    await lab?.close();
  });

  async function redeemedCounts(): Promise<Map<string, number>> {
    const logs = await lab.rpc<{ topics: string[] }[]>("ethereum", "eth_getLogs", [
      {
        address: lab.chains[0]!.contracts.vault,
        fromBlock: "0x0",
        toBlock: "latest",
        topics: [REDEEMED_TOPIC],
      },
    ]);
    const counts = new Map<string, number>();
    for (const log of logs) counts.set(log.topics[1]!, (counts.get(log.topics[1]!) ?? 0) + 1);
    return counts;
  }
  const redeemedIds = async () => new Set((await redeemedCounts()).keys());
  let paidNow = new Set<string>();
  const refresh = async () => {
    paidNow = await redeemedIds();
    return paidNow.size > 0;
  };

  it("loses no accepted redemption and pays none twice across a crash and restart", async () => {
    const port = await freePort();
    const env: Record<string, string> = { ...lab.env, FIREDRILL_SUT_PORT: String(port) };
    const dataDir = join(lab.dir, "stack");
    child = await startStackProcess(env, dataDir);
    const base = `http://127.0.0.1:${port}`;
    const headers = {
      authorization: `Bearer ${env["FIREDRILL_GATEWAY_TOKEN"]}`,
      "content-type": "application/json",
    };
    const users = lab.accounts.users;
    const requests = Array.from({ length: 120 }, (_, i) => ({
      key: `crash-${i}`,
      body: { amount: "1.00", holder: users[i % users.length]!.address, collateral_type: "USDC" },
    }));
    const post = (r: (typeof requests)[number]) =>
      fetch(`${base}/redeem`, {
        method: "POST",
        headers: { ...headers, "idempotency-key": r.key },
        body: JSON.stringify(r.body),
      }).then(
        (res) => res.status,
        () => 0,
      );
    // Nothing mines during the first crash: accepted redemptions are queued or in the mempool.
    await lab.rpc("ethereum", "evm_setAutomine", [false]);
    await lab.rpc("ethereum", "evm_setIntervalMining", [0]);
    const accepted = new Set<string>();
    let answered = 0;
    let killed = false;
    const inFlight = requests.map(async (r) => {
      const status = await post(r);
      if (status === 200 || status === 202) accepted.add(r.key);
      answered++;
      if (answered === 60 && !killed) {
        killed = true;
        process.kill(child!.pid, "SIGKILL");
      }
    });
    await Promise.all(inFlight);
    await child.exited;
    expect(killed).to.equal(true);
    expect(accepted.size).to.be.greaterThan(0);

    const paidBefore = await redeemedIds();
    const unpaid = [...accepted].filter((k) => !paidBefore.has(keccakId(k))).length;
    console.log(
      `      accepted ${accepted.size}, unpaid at the crash ${unpaid}, not answered ${requests.length - accepted.size}`,
    );
    // The crash must have left work: accepted redemptions not yet on chain.
    expect(unpaid).to.be.greaterThan(0);
    // Second crash, this time while the restarted stack pays: as soon as the first payment lands.
    child = await startStackProcess(env, dataDir);
    await lab.rpc("ethereum", "evm_setAutomine", [true]);
    await lab.rpc("ethereum", "evm_setIntervalMining", [1]);
    await until("first payment", refresh, 30_000);
    process.kill(child.pid, "SIGKILL");
    await child.exited;
    const paidMid = await redeemedIds();
    console.log(
      `      second crash with ${[...accepted].filter((k) => paidMid.has(keccakId(k))).length} of ${accepted.size} paid`,
    );
    child = await startStackProcess(env, dataDir);
    // Every accepted redemption gets paid after the restart.
    await until(
      "every accepted redemption paid",
      async () => {
        const states = await Promise.all(
          [...accepted].map((key) =>
            fetch(`${base}/redemptions/${encodeURIComponent(key)}`, { headers }).then(
              async (res) => ((await res.json()) as { status?: string }).status,
            ),
          ),
        );
        return states.every((s) => s === "settled");
      },
      60_000,
    );
    // Clients retry what got no answer, with the same keys: paid once as well.
    for (const r of requests) {
      if (!accepted.has(r.key)) expect(await post(r)).to.be.oneOf([200, 202]);
    }
    await until(
      "every redemption paid",
      async () => {
        const states = await Promise.all(
          requests.map((r) =>
            fetch(`${base}/redemptions/${encodeURIComponent(r.key)}`, { headers }).then(
              async (res) => ((await res.json()) as { status?: string }).status,
            ),
          ),
        );
        return states.every((s) => s === "settled");
      },
      60_000,
    );
    const counts = await redeemedCounts();
    for (const r of requests) {
      expect(counts.get(keccakId(r.key)), r.key).to.equal(1);
    }
  });
});
