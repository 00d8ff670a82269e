/**
 * Helpers for the fault tests (this file defines no tests): a real lab in a temp folder, a
 * FaultContext on it like the runner's, and the checks that the lab is back to steady.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { FaultContext, FaultProof, Injected } from "../../harness/faults/context.ts";
import { rpcCall } from "../../harness/lab/anvil.ts";
import { checkLab } from "../../harness/lab/command.ts";
import { type LabConfigInput, labConfigSchema } from "../../harness/lab/config.ts";
import { type Lab, type LabInfo, startLab } from "../../harness/lab/index.ts";
import { seededRandom } from "../../harness/random.ts";
import { until } from "../../harness/testing/until.ts";

export interface FaultLab {
  lab: Lab;
  info: LabInfo;
  down(): Promise<void>;
}

/** Starts a lab in a temp folder; `down()` stops it and removes the folder. */
export async function startFaultLab(config: LabConfigInput = {}): Promise<FaultLab> {
  const dir = mkdtempSync(join(tmpdir(), "firedrill-faults-"));
  try {
    const lab = await startLab(labConfigSchema.parse(config), { dir });
    return {
      lab,
      info: lab.info,
      async down() {
        await lab.down();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A FaultContext on `info`, built like the runner's. */
export function faultContext(
  info: LabInfo,
  options: { signal?: AbortSignal; gateway?: FaultContext["gateway"]; logs?: string[] } = {},
): FaultContext {
  return {
    lab: info,
    rpc: (chain, method, params) => rpcCall(info.chains[chain]!.nodeUrl, method, params),
    async control(path, body) {
      const response = await fetch(`${info.control}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const reply = (await response.json()) as unknown;
      if (!response.ok) throw new Error(`control ${path}: HTTP ${response.status} ${JSON.stringify(reply)}`);
      return reply as never;
    },
    gateway: options.gateway,
    random: seededRandom(7).fork("faults"),
    signal: options.signal ?? new AbortController().signal,
    log: (line) => options.logs?.push(line),
  };
}

/** A proof that says it took effect, with a summary and measured evidence. */
export function expectProof(proof: FaultProof, tookEffect = true): void {
  expect(proof.tookEffect, proof.summary).to.equal(tookEffect);
  expect(proof.summary).to.be.a("string").and.not.equal("");
  expect(Object.keys(proof.evidence)).to.not.be.empty;
  expect(Number.isNaN(Date.parse(proof.at))).to.equal(false);
}

/** Heals, checks the heal's proof, and that a second heal is harmless and returns the same. */
export async function healTwice(injected: Injected): Promise<FaultProof> {
  const healed = await injected.heal();
  expectProof(healed);
  const started = Date.now();
  const again = await injected.heal();
  expect(again).to.deep.equal(healed);
  expect(Date.now() - started, "a second heal does nothing").to.be.below(50);
  return healed;
}

/** The lab is steady: every component answers, no proxy is disabled or poisoned, nothing shocked or paused. */
export async function expectSteady(info: LabInfo): Promise<void> {
  const checks = await checkLab(info);
  const failing = checks.filter((c) => !c.ok).map((c) => `${c.component}: ${c.detail}`);
  expect(failing, "lab status").to.deep.equal([]);
  const proxies = (await (await fetch(`${info.toxiproxy.url}/proxies`)).json()) as Record<
    string,
    { enabled: boolean; toxics: unknown[] }
  >;
  for (const p of info.proxies) {
    expect(proxies[p.name]?.enabled, `proxy ${p.name} enabled`).to.equal(true);
    expect(proxies[p.name]?.toxics, `proxy ${p.name} toxics`).to.deep.equal([]);
  }
  for (const [chain, c] of Object.entries(info.chains))
    for (const provider of Object.keys(c.rpc)) {
      const layer = (await (await fetch(`${info.control}/rpc/${chain}-${provider}`)).json()) as {
        rules: unknown[];
      };
      expect(layer.rules, `JSON-RPC rules of ${chain}-${provider}`).to.deep.equal([]);
    }
  const state = (await (await fetch(`${info.control}/state`)).json()) as {
    shocked: string[];
    sources: Record<string, { kind: string }>;
    keeper: { paused: boolean }[];
  };
  expect(state.shocked).to.deep.equal([]);
  for (const [name, mode] of Object.entries(state.sources))
    expect(mode.kind, `source ${name}`).to.equal("live");
  expect(state.keeper.filter((k) => k.paused)).to.deep.equal([]);
}

/** The chain's head block number, straight from its node. */
export async function headOf(info: LabInfo, chain: keyof LabInfo["chains"]): Promise<number> {
  return Number.parseInt(await rpcCall<string>(info.chains[chain]!.nodeUrl, "eth_blockNumber"), 16);
}

const injectedFaults: Injected[] = [];

/** Remembers an injected fault so that `healLeftovers()` heals it if a test failed midway. */
export function track<T extends Injected>(injected: T): T {
  injectedFaults.push(injected);
  return injected;
}

/** Heals every tracked fault (heals are idempotent, so healed ones cost nothing). */
export async function healLeftovers(): Promise<void> {
  const errors: unknown[] = [];
  while (injectedFaults.length > 0) {
    await injectedFaults
      .pop()!
      .heal()
      .catch((error: unknown) => errors.push(error));
  }
  if (errors.length > 0) throw new AggregateError(errors, "a heal failed");
}

/** Every chain's head advances, and a transaction sent to its node is mined. */
export async function expectMining(info: LabInfo): Promise<void> {
  await Promise.all(
    (Object.keys(info.chains) as (keyof LabInfo["chains"])[]).map(async (chain) => {
      const from = await headOf(info, chain);
      const user = info.accounts.users[0]!.address;
      const hash = await rpcCall<string>(info.chains[chain]!.nodeUrl, "eth_sendTransaction", [
        { from: user, to: user, value: "0x0" },
      ]);
      await until(`${chain} mines`, async () => {
        const receipt = await rpcCall<unknown>(info.chains[chain]!.nodeUrl, "eth_getTransactionReceipt", [
          hash,
        ]);
        return receipt !== null && (await headOf(info, chain)) >= from + 2;
      });
    }),
  );
}
