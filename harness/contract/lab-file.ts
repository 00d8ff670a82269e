/**
 * `lab.json` as a system under test reads it (`FIREDRILL_LAB` points at it): chain ids,
 * RPC endpoints, contract addresses, the accounts it may sign with, price sources and the
 * regulator. The lab writes more; a SUT relies on nothing beyond this.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { FiredrillError } from "../errors.ts";
import { PROVIDERS, type ProviderName } from "../names.ts";

/** A chain's RPC providers, in failover order. */
export const RPC_PROVIDERS = PROVIDERS;
export type RpcProvider = ProviderName;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "expected a 0x address");

const accountSchema = z.object({
  address,
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "expected a 0x private key"),
});

const chainSchema = z
  .object({
    chainId: z.number().int().positive(),
    rpc: z.partialRecord(z.enum(RPC_PROVIDERS), z.string()).optional(),
    blockTimeMs: z.number().positive().default(1000),
    /** The lab's own contracts, on a chain without an address book. */
    contracts: z
      .object({
        stablecoin: address,
        vault: address,
        usdc: address,
        ethUsdFeed: address,
        usdcUsdFeed: address,
        /** Only on an L2 (arbitrum in the embedded lab). */
        sequencerUptimeFeed: address.optional(),
      })
      .optional(),
    /** A team's own contracts (its `deployment.yml`), on a chain forked from its network. */
    team: z
      .object({
        stablecoin: address,
        /** Chainlink aggregator proxies by pair (`ETH/USD`). */
        feeds: z.record(z.string(), address),
        /** How old each feed may be and still be fresh, ms. */
        heartbeatsMs: z.record(z.string(), z.number().positive()),
        sequencerUptimeFeed: address.optional(),
        reserve: z.object({ token: address.optional(), holders: z.array(address) }).optional(),
        holders: z.array(address),
        /** Where a holder sends the token to redeem it. */
        redemptionAddress: address.optional(),
        pauseGuardian: address.optional(),
        /** The block the chain was forked at. */
        forkBlock: z.number().int().nonnegative(),
      })
      .optional(),
  })
  .refine(
    (c) => (c.contracts === undefined) !== (c.team === undefined),
    "a chain has either contracts or team",
  );

export const labFileSchema = z.looseObject({
  /** How many times faster than real time the lab's feed heartbeats (and the sequencer grace period) run. */
  clockSpeedup: z.number().positive().default(1),
  chains: z.record(z.string(), chainSchema).refine((c) => Object.keys(c).length > 0, "no chains"),
  accounts: z.looseObject({
    /** Holds OPERATOR_ROLE on every vault: mints and pays redemptions. */
    operator: accountSchema,
    /** Holds GUARDIAN_ROLE: pauses non-critical operations. */
    guardian: accountSchema.optional(),
    /** Provides collateral for mints and rebalances. */
    treasury: accountSchema.optional(),
  }),
  oracles: z
    .object({
      /** Price source name -> base URL. */
      sources: z.record(z.string(), z.string()).optional(),
      /** On-chain feed heartbeat per pair (`ETH/USD`), lab milliseconds. */
      heartbeats: z.record(z.string(), z.number().positive()).optional(),
    })
    .optional(),
  /** Base URL of the regulator; reports are filed at `reportsUrl(url)`. */
  regulator: z.object({ url: z.string().optional() }).optional(),
});

export type LabFile = z.infer<typeof labFileSchema>;
export type LabChain = LabFile["chains"][string];
export type LabAccount = z.infer<typeof accountSchema>;

/** Where reports are filed on a regulator whose base URL is `base`. */
export function reportsUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/reports`;
}

/** Reads and checks lab.json; an error names the file and the field. */
export function readLabFile(path: string): LabFile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new FiredrillError("FD211", `${path}: cannot read lab.json (${(error as Error).message})`);
  }
  const parsed = labFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FiredrillError("FD211", `${path} ${issue.path.join(".") || "(top)"}: ${issue.message}`);
  }
  return parsed.data;
}
