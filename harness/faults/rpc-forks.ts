/**
 * What `rpc_wrong_fork` and `rpc_disagree` share: providers of a chain put on forks of their
 * own (a second node each, forked from the chain some blocks back and mining at its pace),
 * proved against the chain's node, and given back.
 */
import { healOnce } from "./common.ts";
import { type FaultContext, type Injected, proof } from "./context.ts";
import { forkProvider, nodeBlock, num, providerBlock, providerUrl, removeRule, ruleId } from "./rpc-rules.ts";

export type ForkedProviders = Promise<Injected>;

export async function forkProviders(
  ctx: FaultContext,
  chain: string,
  providers: readonly string[],
  depth: number,
  type: string,
): Promise<Injected> {
  const id = ruleId(type);
  const forked: { provider: string; block: number }[] = [];
  const heal = healOnce(async () => {
    for (const provider of providers) await removeRule(ctx, `${chain}-${provider}`, id);
    const back: Record<string, boolean> = {};
    for (const provider of providers) {
      const seen = await providerBlock(providerUrl(ctx, chain, provider), "latest");
      const node = seen === undefined ? undefined : await nodeBlock(ctx, chain, num(seen.number));
      back[provider] = seen !== undefined && node?.hash === seen.hash;
    }
    const all = Object.values(back).every(Boolean);
    return proof(
      all,
      all
        ? `${providers.join(", ")} of ${chain} on the chain again (latest hashes match the node's)`
        : `still off the chain: ${providers.filter((p) => !back[p]).join(", ")}`,
      back,
    );
  });
  try {
    // All at once, so that the providers leave the chain together.
    const forks = await Promise.allSettled(
      providers.map((provider) => forkProvider(ctx, `${chain}-${provider}`, id, depth)),
    );
    for (const [i, fork] of forks.entries()) {
      if (fork.status === "rejected") throw fork.reason;
      forked.push({ provider: providers[i]!, block: fork.value.block });
    }
    // Compared at one height, below every head so that each has it.
    const heads = await Promise.all(
      providers.map((p) => providerBlock(providerUrl(ctx, chain, p), "latest")),
    );
    const nodeHead = await nodeBlock(ctx, chain, "latest");
    const height = Math.min(num(nodeHead.number), ...heads.map((h) => (h ? num(h.number) : 0)));
    const hashes: Record<string, string | null> = {};
    for (const provider of providers)
      hashes[provider] = (await providerBlock(providerUrl(ctx, chain, provider), height))?.hash ?? null;
    const onNode = (await nodeBlock(ctx, chain, height)).hash;
    const forkPoint = forked[0]!.block;
    const common = await providerBlock(providerUrl(ctx, chain, providers[0]!), forkPoint);
    const nodeAtFork = await nodeBlock(ctx, chain, forkPoint);
    const distinct = new Set([onNode, ...Object.values(hashes)]).size === providers.length + 1;
    const took = distinct && common?.hash === nodeAtFork.hash;
    const short = (h: string | null) => (h === null ? "none" : `${h.slice(0, 10)}…`);
    return {
      proof: proof(
        took,
        `at block ${height} the node says ${short(onNode)}, ${providers.map((p) => `${p} ${short(hashes[p]!)}`).join(", ")}; all agree at the fork point ${forkPoint}`,
        {
          height,
          node: onNode,
          providers: hashes,
          forkPoint,
          agreeAtForkPoint: common?.hash === nodeAtFork.hash,
        },
      ),
      heal,
    };
  } catch (error) {
    await heal().catch(() => undefined);
    throw error;
  }
}
