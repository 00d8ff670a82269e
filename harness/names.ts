/**
 * The lab's names, declared once: its chains, price sources, RPC providers, assets and
 * pairs. The lab is built from these lists, scenarios are validated against them, and a
 * system under test finds its endpoints by them (`FIREDRILL_RPC_<CHAIN>_<PROVIDER>`).
 */
import { z } from "zod";

export const CHAIN_NAMES = ["ethereum", "polygon", "arbitrum"] as const;
export const SOURCE_NAMES = ["chainlink", "pyth", "redstone"] as const;
export const PROVIDERS = ["primary", "secondary", "emergency"] as const;
export const ASSETS = ["ETH", "USDC"] as const;
export const PAIRS = ["ETH/USD", "USDC/USD"] as const;

export type ChainName = (typeof CHAIN_NAMES)[number];
export type SourceName = (typeof SOURCE_NAMES)[number];
export type ProviderName = (typeof PROVIDERS)[number];
export type Asset = (typeof ASSETS)[number];
export type Pair = (typeof PAIRS)[number];

/** The L2 of the lab: the one chain with a sequencer and its uptime feed. */
export const SEQUENCER_CHAIN: ChainName = "arbitrum";

/** Schemas of the names, for scenario fields and probes. */
export const chain = z.enum(CHAIN_NAMES);
export const oracleSource = z.enum(SOURCE_NAMES);
export const rpcProvider = z.enum(PROVIDERS);
export const asset = z.enum(ASSETS);
export const pair = z.enum(PAIRS);
