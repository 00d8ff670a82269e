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
  /** Stops every clock; resolves once no block is being asked for. */
  close(): Promise<void>;
}

/**
 * One chain's block clock: an `evm_mine` every `blockTimeMs`, never two at once. When a
 * block takes longer than the block time (a node under load), the next is asked for as soon
 * as it is mined, not piled up behind it: overlapping `evm_mine` calls can leave anvil
 * answering nothing at all. Its stop resolves once no `evm_mine` is in flight, so that no
 * block of the old mode lands after a new one is set.
 */
function blockClock(url: string, blockTimeMs: number, say: (line: string) => void): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  let failures = 0;
  const tick = async () => {
    const started = performance.now();
    inFlight = rpcCall(url, "evm_mine", [], MINE_TIMEOUT_MS).then(
      () => {
        if (failures >= STALLED) say(`mining again after ${failures} failed blocks`);
        failures = 0;
      },
      (error: Error) => {
        // Said once per stall: a node that stops answering is worth a line in the lab's log.
        if (++failures === STALLED && !stopped) say(`no block for ${failures} tries: ${error.message}`);
      },
    );
    await inFlight;
    if (!stopped) timer = setTimeout(tick, Math.max(0, blockTimeMs - (performance.now() - started)));
  };
  timer = setTimeout(tick, blockTimeMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await inFlight;
  };
}

const MINE_TIMEOUT_MS = 2_000;
/** Failed blocks in a row that the lab reports. */
const STALLED = 3;

/**
 * Takes over mining of `chains` (anvil started with --mixed-mining) in their mixed mode.
 * `onStall` hears of a chain whose node fails to mine several blocks in a row, and of its return.
 */
export async function startMining(
  chains: { name: string; url: string; blockTimeMs: number }[],
  onStall: (line: string) => void = () => {},
): Promise<MiningControl> {
  const modes = new Map<string, MiningMode>();
  const clocks = new Map<string, () => Promise<void>>();
  let closed = false;
  const change = async (name: string, mode: MiningMode) => {
    const chain = chains.find((c) => c.name === name);
    if (!chain) throw bugError(`mining: no chain ${name}`);
    const stop = clocks.get(name);
    clocks.delete(name);
    await stop?.();
    // Mode None first: anvil then mines only on evm_mine, and on arrival once automine is on.
    await rpcCall(chain.url, "evm_setIntervalMining", [0]);
    if (mode.mode === "mixed") await rpcCall(chain.url, "evm_setAutomine", [true]);
    else await rpcCall(chain.url, "evm_setAutomine", [false]);
    if (mode.mode !== "halted" && !closed)
      clocks.set(
        name,
        blockClock(chain.url, mode.blockTimeMs, (line) => onStall(`${name}: ${line}`)),
      );
    modes.set(name, mode);
  };
  // One change at a time: two at once could each start a clock for the same chain.
  let changes: Promise<unknown> = Promise.resolve();
  const set = (name: string, mode: MiningMode): Promise<void> => {
    const next = changes.then(() => change(name, mode));
    changes = next.catch(() => {});
    return next;
  };
  for (const chain of chains) await set(chain.name, { mode: "mixed", blockTimeMs: chain.blockTimeMs });
  return {
    state: () => Object.fromEntries(modes),
    set,
    async close() {
      closed = true;
      const stops = [...clocks.values()];
      clocks.clear();
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
