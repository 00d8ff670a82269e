/**
 * The toxics, with Toxiproxy 2.12's attributes and semantics: each reads chunks from its
 * stub's input and writes to its output, and stops at its next wait when interrupted.
 * Attribute names, their JSON order and their Go types are what the API shows and checks.
 */

import { sleep } from "../process.ts";
import { type Chunk, nextChunk, noopPipe, type Stub, send } from "./chan.ts";
import type { GoType } from "./gojson.ts";

export interface ToxicKind {
  type: string;
  /** The Go struct name, quoted in Toxiproxy's decode errors. */
  goStruct: string;
  /** Attributes in the order Toxiproxy prints them, with their Go types. */
  fields: Record<string, GoType>;
  /** Capacity of the channel in front of this toxic (Toxiproxy buffers latency by 1024 chunks). */
  bufferSize: number;
  newState?: () => unknown;
  /** Called when the toxic is removed from a live connection. */
  cleanup?: (stub: Stub) => void;
  /** The connection is closed with a reset (SO_LINGER 0) when it starts with this toxic. */
  resetsPeer?: boolean;
  pipe(stub: Stub, attributes: Record<string, number>): Promise<void>;
}

const now = () => performance.now();

function attr(attributes: Record<string, number>, name: string): number {
  return attributes[name] ?? 0;
}

async function put(stub: Stub, chunk: Chunk): Promise<void> {
  const p = send(stub, chunk);
  if (p) await p;
}

async function latencyPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  for (;;) {
    const next = nextChunk(stub);
    const c = next instanceof Promise ? await next : next;
    if (c === undefined) return;
    const latency = attr(a, "latency");
    const jitter = attr(a, "jitter");
    let delay = latency;
    if (jitter > 0) delay += Math.floor(Math.random() * jitter * 2) - jitter;
    const wait = delay - (now() - c.ts);
    const t = await stub.select({ input: false, timerMs: wait });
    if (t.kind === "interrupt") {
      await put(stub, c); // Don't drop data when interrupted.
      return;
    }
    c.ts += wait;
    await put(stub, c);
  }
}

async function bandwidthPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  let sleepMs = 0;
  for (;;) {
    const next = nextChunk(stub);
    let p = next instanceof Promise ? await next : next;
    if (p === undefined) return;
    const rate = attr(a, "rate");
    // rate is KB/s, so a byte takes 1/rate ms.
    sleepMs = rate <= 0 ? 0 : sleepMs + p.data.length / rate;
    // At a low rate, send in 100 ms slices.
    while (rate > 0 && p.data.length > rate * 100) {
      const t = await stub.select({ input: false, timerMs: 100 });
      if (t.kind === "interrupt") {
        await stub.writeOutput(p, 5000);
        return;
      }
      await put(stub, { data: p.data.subarray(0, rate * 100), ts: p.ts });
      p = { data: p.data.subarray(rate * 100), ts: p.ts };
      sleepMs -= 100;
    }
    const start = now();
    const t = await stub.select({ input: false, timerMs: sleepMs });
    if (t.kind === "interrupt") {
      await stub.writeOutput(p, 5000);
      return;
    }
    // Timers are coarse: carry the error over to the next chunk.
    sleepMs -= now() - start;
    await put(stub, p);
  }
}

async function timeoutPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  const timeout = attr(a, "timeout");
  for (;;) {
    // As in Toxiproxy, the timer restarts with every chunk dropped: it is an idle timeout.
    const s = await stub.select(timeout > 0 ? { input: true, timerMs: timeout } : { input: true });
    if (s.kind === "interrupt") return;
    if (s.kind === "timer") {
      stub.close();
      return;
    }
    if (s.chunk === null) {
      stub.close();
      return;
    }
    // Drop the data on the ground.
  }
}

async function resetPeerPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  const s = await stub.select({ input: true });
  if (s.kind === "interrupt") return;
  // Any read, data or end of stream, starts the countdown; it cannot be interrupted.
  await sleep(attr(a, "timeout"));
  stub.close();
}

interface LimitState {
  transmitted: number;
}

async function limitDataPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  const state = stub.state as LimitState;
  const limit = attr(a, "bytes");
  let remaining = limit - state.transmitted;
  for (;;) {
    const next = nextChunk(stub);
    let c = next instanceof Promise ? await next : next;
    if (c === undefined) return;
    if (remaining < 0) remaining = 0;
    if (remaining < c.data.length) c = { data: c.data.subarray(0, remaining), ts: c.ts };
    if (c.data.length > 0) {
      await put(stub, c);
      state.transmitted += c.data.length;
    }
    remaining = limit - state.transmitted;
    if (remaining <= 0) {
      stub.close();
      return;
    }
  }
}

/** Offsets that cut `[start, end)` into slices of about `average` ± `variation` bytes. */
function sliceOffsets(start: number, end: number, average: number, variation: number, out: number[]): void {
  if (end - start - average <= variation) {
    out.push(start, end);
    return;
  }
  let mid = start + Math.floor((end - start) / 2);
  if (variation > 0) mid += Math.floor(Math.random() * variation * 2) - variation;
  sliceOffsets(start, mid, average, variation, out);
  sliceOffsets(mid, end, average, variation, out);
}

async function slicerPipe(stub: Stub, a: Record<string, number>): Promise<void> {
  for (;;) {
    const next = nextChunk(stub);
    const c = next instanceof Promise ? await next : next;
    if (c === undefined) return;
    const offsets: number[] = [];
    sliceOffsets(0, c.data.length, attr(a, "average_size"), attr(a, "size_variation"), offsets);
    const delayMs = attr(a, "delay") / 1000; // delay is in microseconds
    for (let i = 1; i < offsets.length; i += 2) {
      await put(stub, { data: c.data.subarray(offsets[i - 1], offsets[i]), ts: c.ts });
      const t = await stub.select({ input: false, timerMs: delayMs });
      if (t.kind === "interrupt") {
        await put(stub, { data: c.data.subarray(offsets[i]), ts: c.ts });
        return;
      }
    }
  }
}

async function slowClosePipe(stub: Stub, a: Record<string, number>): Promise<void> {
  for (;;) {
    let s = stub.select({ input: true });
    if (s instanceof Promise) s = await s;
    if (s.kind === "interrupt") return;
    if (s.kind !== "chunk") continue;
    if (s.chunk === null) {
      const t = await stub.select({ input: false, timerMs: attr(a, "delay") });
      if (t.kind === "interrupt") return;
      stub.close();
      return;
    }
    await put(stub, s.chunk);
  }
}

/** Every toxic type Toxiproxy 2.12 registers. */
export const TOXIC_KINDS: Record<string, ToxicKind> = {
  latency: {
    type: "latency",
    goStruct: "LatencyToxic",
    fields: { latency: "int64", jitter: "int64" },
    bufferSize: 1024,
    pipe: latencyPipe,
  },
  bandwidth: {
    type: "bandwidth",
    goStruct: "BandwidthToxic",
    fields: { rate: "int64" },
    bufferSize: 0,
    pipe: bandwidthPipe,
  },
  slow_close: {
    type: "slow_close",
    goStruct: "SlowCloseToxic",
    fields: { delay: "int64" },
    bufferSize: 0,
    pipe: slowClosePipe,
  },
  timeout: {
    type: "timeout",
    goStruct: "TimeoutToxic",
    fields: { timeout: "int64" },
    bufferSize: 0,
    cleanup: (stub) => stub.close(),
    pipe: timeoutPipe,
  },
  reset_peer: {
    type: "reset_peer",
    goStruct: "ResetToxic",
    fields: { timeout: "int64" },
    bufferSize: 0,
    resetsPeer: true,
    pipe: resetPeerPipe,
  },
  slicer: {
    type: "slicer",
    goStruct: "SlicerToxic",
    fields: { average_size: "int", size_variation: "int", delay: "int" },
    bufferSize: 0,
    pipe: slicerPipe,
  },
  limit_data: {
    type: "limit_data",
    goStruct: "LimitDataToxic",
    fields: { bytes: "int64" },
    bufferSize: 0,
    newState: (): LimitState => ({ transmitted: 0 }),
    pipe: limitDataPipe,
  },
  noop: {
    type: "noop",
    goStruct: "NoopToxic",
    fields: {},
    bufferSize: 0,
    pipe: (stub) => noopPipe(stub),
  },
};
