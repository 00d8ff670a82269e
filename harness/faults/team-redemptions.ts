/**
 * A redemption run on a chain that runs a team's deployment: the holders of its address book,
 * impersonated on the fork, send the team's real token to its redemption address, spread
 * over the fault's duration, as a bank run would. Healing sends every token back to the
 * holder it came from and proves each balance is what it was.
 */
import { Interface } from "ethers";
import { FiredrillError } from "../errors.ts";
import { asAccount, type NodeRpc, send } from "../lab/chainlink.ts";
import { labChain } from "../lab/index.ts";
import { sleep } from "../process.ts";
import { forText, healOnce } from "./common.ts";
import { type FaultContext, type Injected, proof } from "./context.ts";

const ERC20 = new Interface([
  "function balanceOf(address) view returns (uint256)",
  "function decimals() view returns (uint8)",
  "function transfer(address to, uint256 amount) returns (bool)",
]);

export interface TeamRun {
  chain: string;
  requests: number;
  amount: number;
  for?: number | undefined;
}

export async function teamRedemptionRun(ctx: FaultContext, p: TeamRun): Promise<Injected> {
  const team = labChain(ctx.lab, p.chain).team!;
  const to = team.redemptionAddress;
  if (to === undefined || team.holders.length === 0)
    throw new FiredrillError(
      "FD320",
      `redemption_run on ${p.chain}: deployment.yml lists ${to === undefined ? "no redemption_address" : "no holders"} for the team's token`,
    );
  const rpc: NodeRpc = (method, params) => ctx.rpc(p.chain, method, params);
  const read = async (fn: string, args: unknown[] = []) =>
    ERC20.decodeFunctionResult(
      fn,
      await rpc<string>("eth_call", [
        { to: team.stablecoin, data: ERC20.encodeFunctionData(fn, args) },
        "latest",
      ]),
    )[0] as bigint;
  const decimals = Number(await read("decimals"));
  const units = BigInt(Math.round(p.amount * 10 ** decimals));
  const accounts = [...team.holders, to];
  const before = new Map<string, bigint>();
  for (const a of accounts) before.set(a, await read("balanceOf", [a]));

  const moved = new Map<string, bigint>();
  const spacingMs = p.for !== undefined ? p.for / p.requests : 0;
  const stop = new AbortController();
  const stopped = AbortSignal.any([stop.signal, ctx.signal]);
  let sent = 0;
  let refused = 0;
  const transfer = async (index: number) => {
    const holder = team.holders[index % team.holders.length]!;
    // A holder with less than `amount` left has nothing more to redeem.
    if ((before.get(holder) ?? 0n) - (moved.get(holder) ?? 0n) < units) {
      refused += 1;
      return;
    }
    await asAccount(rpc, holder, () =>
      send(rpc, holder, team.stablecoin, ERC20.encodeFunctionData("transfer", [to, units])),
    );
    moved.set(holder, (moved.get(holder) ?? 0n) + units);
    sent += 1;
  };
  // The first redemption is sent before the proof; the rest follow on the fault's pace.
  await transfer(0);
  const run = (async () => {
    const startedMs = Date.now();
    for (let index = 1; index < p.requests && !stopped.aborted; index++) {
      await sleep(startedMs + index * spacingMs - Date.now(), stopped);
      if (!stopped.aborted)
        await transfer(index).catch((e: Error) => ctx.log(`redemption_run: ${e.message}`));
    }
  })();
  const received = (await read("balanceOf", [to])) - before.get(to)!;
  return {
    proof: proof(
      sent > 0 && received >= units,
      `holders of the team's token on ${p.chain} began redeeming: ${sent} of ${p.requests} transfers of ${p.amount} to ${to}${forText(p, (ms) => `${ms / 1000} s`)}`,
      {
        chain: p.chain,
        redemptionAddress: to,
        sent,
        received: received.toString(),
        holders: team.holders.length,
      },
    ),
    heal: healOnce(async () => {
      stop.abort();
      await run;
      // Every token goes back where it came from.
      for (const [holder, amount] of moved)
        await asAccount(rpc, to, () =>
          send(rpc, to, team.stablecoin, ERC20.encodeFunctionData("transfer", [holder, amount])),
        );
      const changed: string[] = [];
      for (const a of accounts) if ((await read("balanceOf", [a])) !== before.get(a)) changed.push(a);
      return proof(
        changed.length === 0,
        changed.length === 0
          ? `${sent} redemptions sent back to their ${moved.size} holders; every balance as before${refused ? ` (${refused} not sent: the holder had too little left)` : ""}`
          : `balances not as before: ${changed.join(", ")}`,
        {
          chain: p.chain,
          sent,
          refused,
          returned: Object.fromEntries([...moved].map(([h, a]) => [h, a.toString()])),
        },
      );
    }),
  };
}
