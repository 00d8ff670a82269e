/**
 * Evaluates the probes of a scenario against the lab and the system under test. A
 * steady-state probe answers ok or not with what it saw; an abort condition keeps state,
 * since most of them must hold for a while before they trip.
 */
import { type LabInfo, labChain } from "../lab/index.ts";
import { sleep } from "../process.ts";
import type { ChainReader } from "./chain-reader.ts";
import type { AbortCondition, SteadyStateProbe } from "./probes.ts";

export interface ProbeResult {
  ok: boolean;
  /** What was observed, e.g. "collateral ratio 1.100 >= 1.02". */
  detail: string;
}

export interface ProbeTarget {
  lab: LabInfo;
  reader: ChainReader;
  /** Base URL of the system under test (its /health and gateway). */
  sutUrl: string;
}

/** A short name for a probe, for timelines and verdicts. */
export function probeName(probe: SteadyStateProbe | AbortCondition): string {
  const where = "chain" in probe ? ` ${probe.chain}` : "url" in probe ? ` ${probe.url}` : "";
  const pair = "pair" in probe ? ` ${probe.pair}` : "";
  const value = "value" in probe ? ` ${probe.value}` : "";
  return `${probe.probe}${where}${pair}${value}`;
}

function resolveUrl(url: string, sutUrl: string): string {
  return url.startsWith("stack:") ? `${sutUrl}${url.slice("stack:".length)}` : url;
}

async function httpOk(url: string): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return { ok: response.ok, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

async function safely(run: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await run();
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/** Checks one steady-state probe now. */
export function checkProbe(probe: SteadyStateProbe, target: ProbeTarget): Promise<ProbeResult> {
  const { lab, reader, sutUrl } = target;
  return safely(async () => {
    switch (probe.probe) {
      case "collateral_ratio_at_least": {
        const ratio = await reader.collateralRatio(probe.chain);
        return {
          ok: ratio >= probe.value,
          detail: `collateral ratio ${ratio.toFixed(4)} (need >= ${probe.value})`,
        };
      }
      case "http_ok":
        return httpOk(resolveUrl(probe.url, sutUrl));
      case "gateway_ok":
        return httpOk(`${sutUrl}/health`);
      case "feed_fresh": {
        const { updatedAtMs, answer } = await reader.feedUpdatedAt(probe.chain, probe.pair);
        // A team's real feed on a fork has its own heartbeat (real time); the lab's run faster.
        const heartbeat =
          labChain(lab, probe.chain).team?.heartbeatsMs[probe.pair] ?? lab.oracles.heartbeats[probe.pair];
        const maxAge = probe.max_age ?? heartbeat * 1.5;
        const age = Date.now() - updatedAtMs;
        return {
          ok: age <= maxAge,
          detail: `${probe.pair} ${answer} updated ${(age / 1000).toFixed(1)} s ago (max ${maxAge / 1000} s)`,
        };
      }
      case "chain_advancing": {
        const start = await reader.blockNumber(probe.chain);
        const deadline = Date.now() + labChain(lab, probe.chain).blockTimeMs * 3 + 500;
        while (Date.now() < deadline) {
          await sleep(Math.min(100, labChain(lab, probe.chain).blockTimeMs / 2));
          const now = await reader.blockNumber(probe.chain);
          if (now > start) return { ok: true, detail: `block ${start} -> ${now}` };
        }
        return { ok: false, detail: `no block after ${start}` };
      }
    }
  });
}

/** An abort condition with memory: `trips()` says whether it has held long enough to stop the run. */
export function abortWatch(condition: AbortCondition, target: ProbeTarget) {
  let since: number | undefined;
  let lastBlock: { number: number; at: number } | undefined;
  const holdsFor = (holds: boolean, forMs: number, detail: string) => {
    const now = Date.now();
    if (!holds) {
      since = undefined;
      return { trips: false, detail };
    }
    since ??= now;
    return { trips: now - since >= forMs, detail };
  };
  return {
    name: probeName(condition),
    async check(): Promise<{ trips: boolean; detail: string }> {
      const { reader, sutUrl } = target;
      try {
        switch (condition.probe) {
          case "collateral_ratio_below": {
            const ratio = await reader.collateralRatio(condition.chain);
            return {
              trips: ratio < condition.value,
              detail: `collateral ratio ${ratio.toFixed(4)} < ${condition.value}`,
            };
          }
          case "http_failing": {
            const result = await httpOk(resolveUrl(condition.url, sutUrl));
            return holdsFor(!result.ok, condition.for, `${condition.url}: ${result.detail}`);
          }
          case "gateway_failing": {
            const result = await httpOk(`${sutUrl}/health`);
            return holdsFor(!result.ok, condition.for, `gateway: ${result.detail}`);
          }
          case "feed_stale": {
            const { updatedAtMs } = await reader.feedUpdatedAt(condition.chain, condition.pair);
            const age = Date.now() - updatedAtMs;
            return {
              trips: age >= condition.for,
              detail: `${condition.pair} not updated for ${(age / 1000).toFixed(1)} s`,
            };
          }
          case "chain_stalled": {
            const number = await reader.blockNumber(condition.chain);
            const now = Date.now();
            if (!lastBlock || number > lastBlock.number) lastBlock = { number, at: now };
            return {
              trips: now - lastBlock.at >= condition.for,
              detail: `no block after ${number} for ${now - lastBlock.at} ms`,
            };
          }
        }
      } catch (error) {
        return { trips: false, detail: `could not check: ${(error as Error).message}` };
      }
    },
  };
}
