/**
 * A team's address book (`deployment.yml`): per chain, its contracts by role. On a chain
 * that has one, the lab forks the team's network and deploys nothing of its own that the
 * team's monitor would see; probes, invariants and faults read and act on the listed
 * contracts. The book is checked twice: its shape and its chains against lab.yml before
 * anything starts, and every address against the fork once the fork is up (code where a
 * contract should be, a Chainlink proxy that serves the pair it is listed for), before
 * anything is sent.
 */
import { isAddress } from "ethers";
import { z } from "zod";
import { positiveDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { CHAIN_NAME, PAIRS, type Pair } from "../names.ts";
import {
  type FieldPath,
  type Problem,
  problemError,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";
import { assertLocalDevNode, type NodeRpc, proxyFacts } from "./chainlink.ts";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { message: "expected an address: 0x and 40 hex digits" })
  .refine((a) => isAddress(a), { message: "its mixed-case checksum does not match: a typo in the address?" });

const chainBook = z.strictObject({
  stablecoin: address.describe("The team's stablecoin (an ERC-20)."),
  reserve: z
    .strictObject({
      token: address.optional().describe("The collateral token the reserve holds (e.g. USDC); absent: ETH."),
      holders: z.array(address).min(1).describe("Addresses that hold the reserve (a vault, a custodian)."),
    })
    .optional(),
  feeds: z
    .partialRecord(z.enum(PAIRS), address)
    .default({})
    .describe("Chainlink aggregator proxies (EACAggregatorProxy) by pair."),
  heartbeats: z
    .partialRecord(z.enum(PAIRS), positiveDuration)
    .default({})
    .describe(
      "How often each feed updates at the latest; Chainlink's (ETH/USD 1h, USDC/USD 24h) when absent.",
    ),
  sequencer_uptime_feed: address.optional().describe("The L2 sequencer uptime feed (its proxy)."),
  pause_guardian: address.optional(),
  holders: z.array(address).default([]).describe("Holders a redemption run may act as."),
  redemption_address: address
    .optional()
    .describe("Where a holder sends the token to redeem it: the issuer's redemption address."),
});

export const deploymentSchema = z.strictObject({
  version: z.literal(1),
  chains: z
    .record(
      z.string().regex(CHAIN_NAME, {
        message: "a chain name is lower-case letters, digits and _, starting with a letter",
      }),
      chainBook,
    )
    .refine((c) => Object.keys(c).length > 0, "name at least one chain"),
});

export type ChainBook = z.output<typeof chainBook>;

/** Chainlink's heartbeats of the pairs on Ethereum, in ms: a feed may be this old and still fresh. */
export const CHAINLINK_HEARTBEATS_MS: Record<Pair, number> = { "ETH/USD": 3_600_000, "USDC/USD": 86_400_000 };

/** A checked address book, with the positions of its entries for later errors. */
export interface Deployment {
  file: string;
  chains: Record<string, ChainBook>;
  /** The parsed file, for errors at the line of an entry. */
  src: YamlFile;
}

/** Reads and validates `deployment.yml` (addresses may be written without quotes). */
export function loadDeployment(file: string): Deployment {
  const src = readYamlFile(file, { hexAsText: true });
  const doc = validateAgainst(src, deploymentSchema, "deployment address book");
  return { file, chains: doc.chains, src };
}

/**
 * The book against the lab's chains: each chain it lists must be one of the lab's, and
 * forked (the contracts live on the network the fork is taken from).
 */
export function checkAgainstLab(book: Deployment, chains: Record<string, { fork?: unknown }>): void {
  const problems: Problem[] = [];
  for (const name of Object.keys(book.chains)) {
    const chain = chains[name];
    if (chain === undefined)
      problems.push({
        path: ["chains", name],
        message: `the lab has no chain ${name} (its chains: ${Object.keys(chains).join(", ")})`,
        code: "FD204",
      });
    else if (chain.fork === undefined)
      problems.push({
        path: ["chains", name],
        message: `chain ${name} does not fork a network in lab.yml: the contracts of an address book live on the network a chain forks (fork: { url, block })`,
        code: "FD210",
      });
  }
  throwFirst(book.src, problems);
}

/** The description Chainlink gives a pair's feed: "ETH / USD". */
function samePair(description: string, pair: Pair): boolean {
  return description.replace(/\s+/g, "").toUpperCase() === pair.toUpperCase();
}

/**
 * Checks every address of `name`'s book against the forked node: code where a contract
 * should be, Chainlink proxies serving the pair they are listed for, an ERC-20 token.
 * @throws FiredrillError FD213 (exit 2) at the entry's line.
 */
export async function verifyOnFork(book: Deployment, name: string, url: string, rpc: NodeRpc): Promise<void> {
  await assertLocalDevNode(url, rpc, `chain ${name}`);
  const entry = book.chains[name];
  if (entry === undefined) return;
  const fail = (path: FieldPath, message: string) =>
    problemError(book.src, {
      path: ["chains", name, ...path],
      message,
      code: "FD213",
    });
  const hasCode = async (path: FieldPath, at: string, what: string) => {
    if ((await rpc<string>("eth_getCode", [at, "latest"])) === "0x")
      throw fail(path, `${at} has no code on the fork of ${name}: not ${what}`);
  };
  await hasCode(["stablecoin"], entry.stablecoin, "a token");
  try {
    await rpc("eth_call", [{ to: entry.stablecoin, data: "0x18160ddd" }, "latest"]); // totalSupply()
  } catch {
    throw fail(["stablecoin"], `${entry.stablecoin} answers no totalSupply(): not an ERC-20 token`);
  }
  for (const [pair, at] of Object.entries(entry.feeds) as [Pair, string][]) {
    let facts: Awaited<ReturnType<typeof proxyFacts>>;
    try {
      facts = await proxyFacts(rpc, at);
    } catch (error) {
      if (error instanceof FiredrillError) throw fail(["feeds", pair], (error as Error).message);
      throw error;
    }
    if (!samePair(facts.description, pair))
      throw fail(["feeds", pair], `${at} serves "${facts.description}", not ${pair}`);
    // Chainlink's feeds priced in USD answer with 8 decimals.
    if (facts.decimals !== 8)
      throw fail(
        ["feeds", pair],
        `${at} answers with ${facts.decimals} decimals: a Chainlink ${pair} feed has 8`,
      );
  }
  if (entry.sequencer_uptime_feed !== undefined)
    await hasCode(["sequencer_uptime_feed"], entry.sequencer_uptime_feed, "a sequencer uptime feed");
  if (entry.reserve?.token !== undefined) await hasCode(["reserve", "token"], entry.reserve.token, "a token");
}
