/** What the benchmarks share: a CLI child, a detached lab, a closed-loop driver, raw anvil. */
import { Interface, keccak256, Wallet } from "ethers";
import { rpcCall } from "../harness/lab/anvil.ts";
import { percentile } from "../harness/stats.ts";
import { cli } from "../harness/testing/cli.ts";

/** Starts a lab in the background in `dir`; returns its stop. */
export async function detachedLab(dir: string): Promise<() => Promise<void>> {
  const up = cli(["lab", "up", "--detach", "--dir", dir]);
  if ((await up.exit) !== 0) throw new Error(`lab up failed:\n${up.output()}`);
  return async () => {
    await cli(["lab", "down", "--dir", dir]).exit;
  };
}

/** Runs `total` jobs on `clients` concurrent workers; returns throughput, p95 and failures. */
export async function drive(total: number, clients: number, job: (i: number) => Promise<boolean>) {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        const ok = await job(i).catch((error: unknown) => {
          firstError ??= (error as Error).message;
          return false;
        });
        latencies.push(performance.now() - t);
        if (!ok) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: (total - failed) / seconds,
    p95: percentile(latencies, 95),
    failed,
    firstError,
    seconds,
  };
}

/** Longest the anchor waits for one raw transaction's receipt. */
const RECEIPT_DEADLINE_MS = 120_000;

const VAULT = new Interface(["function mint(bytes32 mintId, address to, uint256 amount)"]);

/**
 * The anchor of the gateway benchmarks: `total` vault.mint transactions straight to the node
 * at `url`, signed locally with consecutive nonces, `clients` in flight, each waiting for its
 * receipt.
 */
export async function rawVaultMints(
  chain: { url: string; chainId: number; vault: string },
  operatorKey: string,
  recipient: string,
  total: number,
  clients: number,
): Promise<Awaited<ReturnType<typeof drive>>> {
  const operator = new Wallet(operatorKey);
  let nonce = Number(
    await rpcCall<string>(chain.url, "eth_getTransactionCount", [operator.address, "pending"]),
  );
  const salt = Date.now().toString(16);
  // Set once a transaction is lost: those behind its nonce never mine either, stop waiting.
  let lost: string | undefined;
  return drive(total, clients, async (i) => {
    const signed = await operator.signTransaction({
      type: 2,
      chainId: chain.chainId,
      nonce: nonce++,
      to: chain.vault,
      data: VAULT.encodeFunctionData("mint", [
        `0x${salt}${i.toString(16).padStart(64 - salt.length, "0")}`,
        recipient,
        10n ** 18n,
      ]),
      gasLimit: 300_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    const hash = keccak256(signed);
    // A send that timed out may or may not have reached the node: send the same transaction
    // again (same nonce) until the node has it, or a gap would hold every later nonce back.
    for (let attempt = 1; ; attempt++) {
      try {
        await rpcCall<string>(chain.url, "eth_sendRawTransaction", [signed], 60_000);
        break;
      } catch (error) {
        if (/already known|nonce too low|already imported/i.test((error as Error).message)) break;
        if (attempt >= 3) throw error;
      }
    }
    // A transaction the node lost (or one queued behind a nonce it never got) is never mined:
    // give up on it instead of polling for ever.
    const deadline = Date.now() + RECEIPT_DEADLINE_MS;
    while (Date.now() < deadline && lost === undefined) {
      const receipt = await rpcCall<{ status: string } | null>(chain.url, "eth_getTransactionReceipt", [
        hash,
      ]);
      if (receipt) return receipt.status === "0x1";
      await new Promise((r) => setTimeout(r, 5));
    }
    lost ??= hash;
    throw new Error(
      `raw mint ${i}: not mined (transaction ${lost} was not mined within ${RECEIPT_DEADLINE_MS / 1000} s)`,
    );
  });
}
