/** What the benchmarks share: a CLI child, a detached lab, percentiles, a closed-loop driver, raw anvil. */
import { Interface, Wallet } from "ethers";
import { rpcCall } from "../harness/lab/anvil.ts";
import { cli } from "../test/cli.ts";

export { BIN, type Cli, cli, until } from "../test/cli.ts";

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

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
    const hash = await rpcCall<string>(chain.url, "eth_sendRawTransaction", [signed]);
    for (;;) {
      const receipt = await rpcCall<{ status: string } | null>(chain.url, "eth_getTransactionReceipt", [
        hash,
      ]);
      if (receipt) return receipt.status === "0x1";
      await new Promise((r) => setTimeout(r, 5));
    }
  });
}
