/**
 * Fork benchmark, in one run against a "mainnet-like" node of Chainlink's own contracts
 * and a team's token (harness/testing/mainnet-like.ts):
 *   - lab up on a fork of it, with the team's address book (ethereum forked, polygon the
 *     lab's own), against lab up with the same two chains and no fork: ratio of the
 *     medians (target at most 2x);
 *   - taking control of one real Chainlink proxy and giving it back, proved by reading:
 *     median and max against the forked chain's block time (target under one block).
 *
 *   node bench/fork.ts [--runs N]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { takeProxy } from "../harness/lab/chainlink.ts";
import { labConfigSchema, loadLabConfig } from "../harness/lab/config.ts";
import { startLab } from "../harness/lab/index.ts";
import { median } from "../harness/stats.ts";
import { startMainnetLike } from "../harness/testing/mainnet-like.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "8" } } });
const runs = Number(values.runs);

const mainnet = await startMainnetLike();
const dir = mkdtempSync(join(tmpdir(), "firedrill-bench-fork-"));
try {
  writeFileSync(
    join(dir, "deployment.yml"),
    `version: 1
chains:
  ethereum:
    stablecoin: ${mainnet.stablecoin}
    reserve: { holders: [${mainnet.reserve}] }
    feeds: { ETH/USD: ${mainnet.feeds["ETH/USD"].proxy}, USDC/USD: ${mainnet.feeds["USDC/USD"].proxy} }
    sequencer_uptime_feed: ${mainnet.sequencer.proxy}
`,
  );
  writeFileSync(
    join(dir, "lab.yml"),
    `deployment: deployment.yml\nchains:\n  ethereum:\n    fork: { url: ${mainnet.url}, block: ${mainnet.block} }\n  polygon: {}\n`,
  );
  const forked = loadLabConfig(join(dir, "lab.yml"));
  const plain = labConfigSchema.parse({ chains: { ethereum: {}, polygon: {} } });

  const up = async (config: typeof plain) => {
    const t0 = performance.now();
    const lab = await startLab(config, { dir: join(dir, "lab") });
    const ms = performance.now() - t0;
    await lab.down();
    return ms;
  };
  // The first of each fills the deployment cache (polygon's); not counted.
  await up(plain);
  await up(forked);
  const plainMs: number[] = [];
  const forkMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    plainMs.push(await up(plain));
    forkMs.push(await up(forked));
  }

  const lab = await startLab(forked, { dir: join(dir, "lab") });
  const takeMs: number[] = [];
  const giveMs: number[] = [];
  try {
    const ethereum = lab.info.chains.ethereum!;
    const rpc = async <T>(method: string, params: unknown[] = []) => {
      const res = await fetch(ethereum.nodeUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const body = (await res.json()) as { result?: T; error?: { message: string } };
      if (body.error) throw new Error(body.error.message);
      return body.result as T;
    };
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const control = await takeProxy(
        rpc,
        mainnet.feeds["ETH/USD"].proxy,
        lab.info.accounts.operator.address,
      );
      const t1 = performance.now();
      const back = await control.giveBack();
      const t2 = performance.now();
      if (!back.ok) throw new Error(back.summary);
      takeMs.push(t1 - t0);
      giveMs.push(t2 - t1);
    }
    const block = Math.min(...Object.values(lab.info.chains).map((c) => c.blockTimeMs));
    const fmt = (l: number[]) => `p50 ${median(l).toFixed(0)} ms   max ${Math.max(...l).toFixed(0)} ms`;
    console.log(
      `fork bench: ${runs} runs; two chains each (ethereum and polygon), toxiproxy ${lab.info.toxiproxy.kind}`,
    );
    console.log(`  lab up, no fork (the anchor)          ${fmt(plainMs)}`);
    console.log(`  lab up, ethereum forked with a book   ${fmt(forkMs)}`);
    console.log(`fork / no fork: ${(median(forkMs) / median(plainMs)).toFixed(2)}x (target <= 2x)`);
    console.log(`  take control of the ETH/USD proxy     ${fmt(takeMs)}`);
    console.log(`  give it back (proved by reading)      ${fmt(giveMs)}`);
    console.log(
      `take + give back / block time of the fastest chain (${block} ms): ${((median(takeMs) + median(giveMs)) / block).toFixed(2)} (target < 1)`,
    );
  } finally {
    await lab.down();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await mainnet.stop();
}
