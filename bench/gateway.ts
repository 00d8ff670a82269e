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
import { Interface, Wallet } from "ethers";
import { rpcCall } from "../harness/lab/anvil.ts";
import { startStack } from "../harness/stack/index.ts";
import { startTestLab, until } from "../test/stack/fixture.ts";

const CLIENTS = 100;
const REQUESTS = Math.max(500, Number(process.argv[2] ?? 3000));
const VAULT = new Interface(["function mint(bytes32 mintId, address to, uint256 amount)"]);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `total` jobs on `clients` concurrent workers; returns per-job latencies and the wall time. */
async function drive(total: number, clients: number, job: (i: number) => Promise<boolean>) {
  let next = 0;
  let failed = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        const ok = await job(i).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: (total - failed) / seconds, p95: percentile(latencies, 95), failed, seconds };
}

const lab = await startTestLab({ chains: ["ethereum"], blockTimeMs: 1000 });
try {
  const chain = lab.chains[0]!;
  const url = chain.chain.url;
  const operator = new Wallet(lab.accounts.operator.privateKey);
  const recipient = lab.accounts.users[0]!.address;

  let snapshot = await rpcCall<string>(url, "evm_snapshot");
  // Raw anvil: the same vault.mint, signed locally with consecutive nonces, 100 in flight.
  let nonce = Number(await rpcCall<string>(url, "eth_getTransactionCount", [operator.address, "pending"]));
  const raw = await drive(REQUESTS, CLIENTS, async (i) => {
    const signed = await operator.signTransaction({
      type: 2,
      chainId: chain.chain.chainId,
      nonce: nonce++,
      to: chain.contracts.vault,
      data: VAULT.encodeFunctionData("mint", [
        `0x${(0xbe0000 + i).toString(16).padStart(64, "0")}`,
        recipient,
        10n ** 18n,
      ]),
      gasLimit: 300_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    const hash = await rpcCall<string>(url, "eth_sendRawTransaction", [signed]);
    for (;;) {
      const receipt = await rpcCall<{ status: string } | null>(url, "eth_getTransactionReceipt", [hash]);
      if (receipt) return receipt.status === "0x1";
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  /** Runs `phase` on a fresh stack, on the chain state the raw phase started from. */
  const onFreshStack = async <T>(name: string, phase: (base: string) => Promise<T>): Promise<T> => {
    await rpcCall(url, "evm_revert", [snapshot]);
    snapshot = await rpcCall<string>(url, "evm_snapshot");
    const stack = await startStack(lab.env, { dataDir: `${lab.dir}/stack-${name}` });
    try {
      await until(() => stack.status().mintChain === "ethereum", 15_000, "stack ready");
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
