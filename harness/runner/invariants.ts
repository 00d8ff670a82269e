/**
 * What must hold after every drill, whatever the fault: no accepted redemption lost, none
 * paid twice, fdUSD supply equal to the sum of balances, and collateral conserved (the
 * vault holds exactly what its deposits minus its payouts say). Checked on the chains
 * directly, never through the system under test's own account of itself.
 */
import { redemptionPath } from "../contract/gateway.ts";
import { jsonBody, send } from "../http.ts";
import type { LabInfo } from "../lab/index.ts";
import { sleep } from "../process.ts";
import { type ChainReader, type TeamReadings, teamReadings, teamSupplyAccount } from "./chain-reader.ts";
import type { Invariant } from "./journal.ts";

export interface AcceptedRedemption {
  /** The gateway's id, for GET /redemptions/:id. */
  id: string;
}

/** Waits (up to `settleMs`) for every accepted redemption to settle, then checks every invariant. */
export async function checkInvariants(
  lab: LabInfo,
  reader: ChainReader,
  sut: { url: string; token: string },
  accepted: readonly AcceptedRedemption[],
  settleMs: number,
  teamBefore: TeamReadings = {},
): Promise<Invariant[]> {
  const out: Invariant[] = [];
  // A team's real contracts on a fork read after the drill as they did before it.
  const teamAfter = await teamReadings(lab);
  for (const [chain, before] of Object.entries(teamBefore)) {
    const after = teamAfter[chain] ?? {};
    const changed = Object.keys(before).filter((name) => before[name] !== after[name]);
    out.push({
      name: `the team's contracts on ${chain} read as before the drill`,
      passed: changed.length === 0,
      detail:
        changed.length === 0
          ? `${Object.keys(before).length} readings unchanged (feeds, aggregators, sequencer, supply, balances)`
          : `changed: ${changed.map((name) => `${name} ${before[name]} -> ${after[name] ?? "unreadable"}`).join("; ")}`,
      observed: { before, after },
    });
  }
  const chains = Object.keys(lab.chains) as (keyof LabInfo["chains"])[];

  // No accepted redemption lost: each one the gateway accepted reaches `settled`. They are
  // asked in order of acceptance, each until it has settled: a pass stops at the first one
  // still open and waits, so that a queue of thousands costs about a request per redemption
  // and one per pass, not one per open redemption per pass. Then every one still open is
  // asked once more.
  if (accepted.length > 0) {
    const statuses = new Map<string, string>();
    const settled = async (r: AcceptedRedemption): Promise<boolean> => {
      try {
        const response = await send(`${sut.url}${redemptionPath(r.id)}`, {
          method: "GET",
          headers: { authorization: `Bearer ${sut.token}` },
          signal: AbortSignal.timeout(2000),
        });
        const { status } = jsonBody(response);
        statuses.set(
          r.id,
          response.ok ? (typeof status === "string" ? status : "unknown") : `HTTP ${response.status}`,
        );
        return response.ok && status === "settled";
      } catch (error) {
        statuses.set(r.id, (error as Error).message);
        return false;
      }
    };
    const deadline = Date.now() + settleMs;
    let pending = [...accepted];
    while (pending.length > 0 && Date.now() < deadline) {
      let done = 0;
      while (done < pending.length && Date.now() < deadline && (await settled(pending[done]!))) done += 1;
      pending = pending.slice(done);
      if (pending.length > 0 && Date.now() < deadline) await sleep(250);
    }
    // Sixteen at a time: a system that stopped answering costs its timeout per sixteen.
    const answers: boolean[] = [];
    let next = 0;
    const asker = async () => {
      for (let i = next++; i < pending.length; i = next++) answers[i] = await settled(pending[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(16, pending.length) }, asker));
    pending = pending.filter((_, i) => !answers[i]);
    const lost = pending.map((r) => `${r.id} (${statuses.get(r.id)})`);
    out.push({
      name: "no accepted redemption lost",
      passed: lost.length === 0,
      detail:
        lost.length === 0
          ? `all ${accepted.length} accepted redemptions settled`
          : `${lost.length} of ${accepted.length} accepted redemptions did not settle within ${settleMs / 1000} s: ${lost.slice(0, 5).join(", ")}`,
      observed: { accepted: accepted.length, unsettled: lost.length },
    });
  }

  let doubles = 0;
  let paid = 0;
  const own = chains.filter((chain) => lab.chains[chain]?.team === undefined);
  for (const chain of own) {
    const counts = await reader.redemptionCounts(chain);
    for (const n of counts.values()) {
      paid += 1;
      if (n > 1) doubles += 1;
    }
  }
  out.push({
    name: "no redemption paid twice",
    passed: doubles === 0,
    detail:
      doubles === 0
        ? `${paid} redemption ids paid once each`
        : `${doubles} redemption ids were paid more than once`,
    observed: { ids: paid, paidTwice: doubles },
  });

  for (const chain of chains.filter((c) => !own.includes(c))) {
    const a = await teamSupplyAccount(lab, chain);
    const expected = a.supplyAtFork + a.minted - a.burnt;
    out.push({
      name: `${chain} token supply and balances follow its transfers since the fork`,
      passed: a.supply === expected && a.mismatched.length === 0,
      detail: `totalSupply ${a.supply} ${a.supply === expected ? "=" : "!="} ${a.supplyAtFork} at the fork + ${a.minted} minted - ${a.burnt} burnt; ${a.touched - a.mismatched.length} of ${a.touched} addresses moved by their transfers${a.mismatched.length ? ` (not: ${a.mismatched.slice(0, 3).join(", ")})` : ""}`,
      observed: {
        supply: a.supply.toString(),
        supplyAtFork: a.supplyAtFork.toString(),
        minted: a.minted.toString(),
        burnt: a.burnt.toString(),
        touched: a.touched,
        mismatched: a.mismatched,
      },
    });
  }
  for (const chain of own) {
    const { supply, balances, holders } = await reader.supplyAndBalances(chain);
    out.push({
      name: `supply equals balances on ${chain}`,
      passed: supply === balances,
      detail: `totalSupply ${supply} ${supply === balances ? "=" : "!="} sum of ${holders} balances ${balances}`,
      observed: { supply: supply.toString(), balances: balances.toString(), holders },
    });
    const { held, deposited, paidOut } = await reader.collateralAccount(chain);
    out.push({
      name: `collateral conserved on ${chain}`,
      passed: held === deposited - paidOut,
      detail: `vault holds ${held} USDC units; deposits ${deposited} - payouts ${paidOut} = ${deposited - paidOut}`,
      observed: { held: held.toString(), deposited: deposited.toString(), paidOut: paidOut.toString() },
    });
  }
  return out;
}
