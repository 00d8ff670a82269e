/**
 * Ops gateway throughput: mints and redemptions through the reference stack at 100
 * concurrent clients (throughput and p95), against raw anvil throughput for the same vault
 * call measured in the same run (100 concurrent senders, signed locally, straight to the
 * node). A redemption counts when it is paid on chain (the gateway answers after payment).
 *
 * Every phase starts from the same chain state (evm_snapshot / evm_revert) and the stack
 * from an empty data directory: anvil 1.7 rebuilds its state trie on every block, so the
 * cost of a block grows with the storage earlier phases wrote (a vault mint or redemption
 * adds a slot), and a phase measured after another would run on a slower chain.
 *
 *   node bench/gateway.ts [requests]
 */
import { rpcCall } from "../harness/lab/anvil.ts";
import { startStack } from "../harness/stack/index.ts";
import { startTestLab } from "../harness/testing/stack-lab.ts";
import { until } from "../harness/testing/until.ts";
import { drive, rawVaultMints } from "./support.ts";

const CLIENTS = 100;
const REQUESTS = Math.max(500, Number(process.argv[2] ?? 3000));

const lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 1000 });
try {
  const chain = lab.chains[0]!;
  const url = chain.chain.url;
  const recipient = lab.accounts.users[0]!.address;

  let snapshot = await rpcCall<string>(url, "evm_snapshot");
  // Raw anvil: the same vault.mint, signed locally with consecutive nonces, 100 in flight.
  const raw = await rawVaultMints(
    { url, chainId: chain.chain.chainId, vault: chain.contracts.vault },
    lab.accounts.operator.privateKey,
    recipient,
    REQUESTS,
    CLIENTS,
  );

  /** Runs `phase` on a fresh stack, on the chain state the raw phase started from. */
  const onFreshStack = async <T>(name: string, phase: (base: string) => Promise<T>): Promise<T> => {
    await rpcCall(url, "evm_revert", [snapshot]);
    snapshot = await rpcCall<string>(url, "evm_snapshot");
    const stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack-${name}` });
    try {
      await until("stack ready", () => stack.status().mintChain === "ethereum", 15_000);
      return await phase(`http://127.0.0.1:${stack.port}`);
    } finally {
      await stack.close();
    }
  };
  const headers = {
    authorization: `Bearer ${lab.env["FIREDRILL_GATEWAY_TOKEN"]}`,
    "content-type": "application/json",
  };
  const mint = await onFreshStack("mint", (base) =>
    drive(REQUESTS, CLIENTS, async () => {
      const res = await fetch(`${base}/mint`, {
        method: "POST",
        headers,
        body: JSON.stringify({ amount: "1.00", recipient }),
      });
      await res.arrayBuffer();
      return res.status === 200;
    }),
  );
  const users = lab.accounts.users;
  const redeem = await onFreshStack("redeem", (base) =>
    drive(REQUESTS, CLIENTS, async (i) => {
      const res = await fetch(`${base}/redeem`, {
        method: "POST",
        headers: { ...headers, "idempotency-key": `bench-${i}` },
        body: JSON.stringify({
          amount: "1.00",
          holder: users[i % users.length]!.address,
          collateral_type: "USDC",
        }),
      });
      await res.arrayBuffer();
      return res.status === 200;
    }),
  );
  const fmt = (name: string, r: typeof raw) =>
    `${name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(6)} /s  p95 ${r.p95.toFixed(0).padStart(5)} ms  failed ${r.failed}`;
  console.log(
    `${REQUESTS} requests each at ${CLIENTS} concurrent clients (anvil, mixed mining; each phase from the same chain snapshot)`,
  );
  console.log(fmt("raw anvil vault.mint", raw));
  console.log(
    `${fmt("gateway POST /mint", mint)}  ratio to raw ${(mint.perSecond / raw.perSecond).toFixed(2)}x`,
  );
  console.log(
    `${fmt("gateway POST /redeem", redeem)}  ratio to raw ${(redeem.perSecond / raw.perSecond).toFixed(2)}x`,
  );
  const ok = (r: typeof raw) => r.perSecond >= 0.5 * raw.perSecond && r.p95 < 1000;
  console.log(
    `targets (>= 0.5x raw, p95 < 1 s): mint ${ok(mint) ? "met" : "MISSED"}, redeem ${ok(redeem) ? "met" : "MISSED"}`,
  );
} finally {
  await lab.close();
}
