/**
 * The lab's names, declared once: its price sources, RPC providers, assets and pairs, and
 * the chains of the embedded lab. A lab.yml names its own chains; scenarios are checked
 * against the chains of the lab they run on, and a system under test finds its endpoints
 * by them (`FIREDRILL_RPC_<CHAIN>_<PROVIDER>`).
 */
import { z } from "zod";

/** The chains of the embedded lab, in mint routing order. */
export const CHAIN_NAMES = ["ethereum", "polygon", "arbitrum"] as const;
export const SOURCE_NAMES = ["chainlink", "pyth", "redstone"] as const;
export const PROVIDERS = ["primary", "secondary", "emergency"] as const;
export const ASSETS = ["ETH", "USDC"] as const;
export const PAIRS = ["ETH/USD", "USDC/USD"] as const;

/** A chain's name: the embedded lab's, or one a lab.yml gives. */
export type ChainName = string;
export type SourceName = (typeof SOURCE_NAMES)[number];
export type ProviderName = (typeof PROVIDERS)[number];
export type Asset = (typeof ASSETS)[number];
export type Pair = (typeof PAIRS)[number];

/** A chain name: it becomes part of environment variables and proxy names. */
export const CHAIN_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** The chains a scenario may name: those of the lab it runs on. */
export interface LabChainSet {
  /** Names in the lab's order (mint routing order). */
  names: readonly ChainName[];
  /** The chains with an L2 sequencer uptime feed. */
  sequencer: readonly ChainName[];
  /** The chains that run a team's deployment (deployment.yml), on a fork. */
  team: readonly ChainName[];
  /** Where the set comes from, for messages: "the embedded lab", "lab.yml", ... */
  from: string;
}

/** The embedded lab's chains: arbitrum is its L2, with a sequencer uptime feed. */
export const EMBEDDED_CHAINS: LabChainSet = {
  names: CHAIN_NAMES,
  sequencer: ["arbitrum"],
  team: [],
  from: "the embedded lab",
};

/** Schemas of the names, for scenario fields and probes. */
export const chain = z
  .string()
  .regex(CHAIN_NAME, { message: "a chain name is lower-case letters, digits and _, starting with a letter" })
  .meta({ "x-type": "a chain of the lab (`ethereum`, `polygon`, `arbitrum` in the embedded lab)" });
export const oracleSource = z.enum(SOURCE_NAMES);
export const rpcProvider = z.enum(PROVIDERS);
export const asset = z.enum(ASSETS);
export const pair = z.enum(PAIRS);
