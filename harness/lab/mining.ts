/**
 * The lab's block clock: each chain's mining mode, owned by the lab so that a fault can stop
 * a chain and give it back exactly as it was. anvil cannot re-enter its start-up mixed mode
 * over JSON-RPC (`evm_setAutomine(true)` is automine alone; `evm_setIntervalMining` takes
 * whole seconds and is interval alone), so the lab mines the interval blocks itself.
 */
import { bugError } from "../errors.ts";
import { rpcCall } from "./anvil.ts";

export type MiningMode =
  /** A block per transaction and one every `blockTimeMs` (the lab's start-up behaviour). */
  | { mode: "mixed"; blockTimeMs: number }
  /** A block every `blockTimeMs` only: transactions wait for it. */
  | { mode: "interval"; blockTimeMs: number }
  /** No block at all. */
  | { mode: "halted" };

export interface MiningControl {
  state(): Record<string, MiningMode>;
  set(chain: string, mode: MiningMode): Promise<void>;
  close(): void;
}

/** Takes over mining of `chains` (anvil started with --mixed-mining) in their mixed mode. */
export async function startMining(
  chains: { name: string; url: string; blockTimeMs: number }[],
): Promise<MiningControl> {
  const modes = new Map<string, MiningMode>();
  const clocks = new Map<string, NodeJS.Timeout>();
  const set = async (name: string, mode: MiningMode) => {
    const chain = chains.find((c) => c.name === name);
    if (!chain) throw bugError(`mining: no chain ${name}`);
    clearInterval(clocks.get(name));
    clocks.delete(name);
    // Mode None first: anvil then mines only on evm_mine, and on arrival once automine is on.
    await rpcCall(chain.url, "evm_setIntervalMining", [0]);
    if (mode.mode === "mixed") await rpcCall(chain.url, "evm_setAutomine", [true]);
    else await rpcCall(chain.url, "evm_setAutomine", [false]);
    if (mode.mode !== "halted") {
      clocks.set(
        name,
        setInterval(() => {
          rpcCall(chain.url, "evm_mine", [], 2_000).catch(() => {});
        }, mode.blockTimeMs),
      );
    }
    modes.set(name, mode);
  };
  for (const chain of chains) await set(chain.name, { mode: "mixed", blockTimeMs: chain.blockTimeMs });
  return {
    state: () => Object.fromEntries(modes),
    set,
    close() {
      for (const clock of clocks.values()) clearInterval(clock);
      clocks.clear();
    },
  };
}
