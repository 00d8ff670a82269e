/**
 * The lab's configuration: the embedded defaults, overridden by `lab up --config lab.yml`.
 * Validated by one zod schema before anything starts.
 */

import { dirname, resolve } from "node:path";
import { z } from "zod";
import { duration } from "../duration.ts";
import { CHAIN_NAME, type ChainName, type LabChainSet, type SourceName } from "../names.ts";
import { registerSecret } from "../redact.ts";
import { readYamlFile, validateAgainst, type YamlFile } from "../yaml.ts";
import { checkAgainstLab, type Deployment, loadDeployment } from "./deployment.ts";

const port = z.number().int().min(0).max(65_535);
const blockTime = duration.refine((ms) => ms >= 100, "a block time under 100ms is not supported");

const chainSchema = z
  .object({
    chain_id: z.number().int().positive(),
    port: port.default(0),
    block_time: blockTime,
    /** Fork another node (a local anvil, or a real RPC URL) at a block. */
    fork: z
      .strictObject({
        url: z.url().optional(),
        /** The environment variable that holds the URL (it may carry a provider's key). */
        url_env: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, { message: "an environment variable name is UPPER_SNAKE_CASE" })
          .optional(),
        block: z.number().int().nonnegative().optional(),
      })
      .transform((fork, ctx) => {
        if ((fork.url === undefined) === (fork.url_env === undefined)) {
          ctx.issues.push({ code: "custom", input: fork, message: "needs exactly one of url and url_env" });
          return z.NEVER;
        }
        const url = fork.url ?? process.env[fork.url_env!];
        if (url === undefined || url === "") {
          ctx.issues.push({
            code: "custom",
            input: fork,
            path: ["url_env"],
            message: `${fork.url_env} is not set in the environment: export the fork's RPC URL there`,
          });
          return z.NEVER;
        }
        if (!URL.canParse(url)) {
          ctx.issues.push({
            code: "custom",
            input: fork,
            path: ["url_env"],
            message: `${fork.url_env} holds no URL`,
          });
          return z.NEVER;
        }
        return { url, ...(fork.block !== undefined ? { block: fork.block } : {}) };
      })
      .optional(),
    /** An L2: the lab deploys a sequencer uptime feed, which `chain_halt` reports down. */
    sequencer_feed: z.boolean().default(false),
  })
  .strict();

/** A chain of one of these names takes the fields lab.yml leaves out from here. */
const KNOWN_CHAINS: Record<string, Record<string, unknown>> = {
  ethereum: { chain_id: 1, block_time: "1s" },
  polygon: { chain_id: 137, block_time: "500ms" },
  arbitrum: { chain_id: 42_161, block_time: "250ms", sequencer_feed: true },
};

/** At most this many chains: each is an anvil, three proxies and a keeper lane. */
export const MAX_CHAINS = 8;

const chainsSchema = z.preprocess(
  (value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([name, chain]) => {
        const known = Object.hasOwn(KNOWN_CHAINS, name) ? KNOWN_CHAINS[name] : undefined;
        const filled =
          known && (chain === null || (typeof chain === "object" && !Array.isArray(chain)))
            ? { ...known, ...(chain ?? {}) }
            : chain;
        return [name, filled];
      }),
    );
  },
  z
    .record(
      z.string().regex(CHAIN_NAME, {
        message: "a chain name is lower-case letters, digits and _, starting with a letter (at most 32)",
      }),
      chainSchema,
    )
    .refine((chains) => Object.keys(chains).length >= 1, "name at least one chain")
    .refine(
      (chains) => Object.keys(chains).length <= MAX_CHAINS,
      `at most ${MAX_CHAINS} chains: each is a node, three proxies and a keeper`,
    ),
);

export const labConfigSchema = z
  .object({
    /** Seed of the market model and of every random choice. */
    seed: z.number().int().nonnegative().default(42),
    /**
     * How many times faster than real time the lab's slow clocks run: feed heartbeats, the
     * oldest price a stack accepts and the L2 sequencer grace period are divided by it.
     */
    clock_speedup: z.number().positive().max(3600).default(60),
    /**
     * The chains, in mint routing order. Given, they replace the embedded three; a chain
     * named ethereum, polygon or arbitrum takes the fields it leaves out from the embedded one.
     */
    chains: chainsSchema.prefault({ ethereum: {}, polygon: {}, arbitrum: {} }),
    ports: z
      .object({
        toxiproxy: port.default(0),
        control: port.default(0),
        regulator: port.default(0),
        oracles: z
          .object({ chainlink: port, pyth: port, redstone: port } satisfies Record<SourceName, unknown>)
          .partial()
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    toxiproxy: z
      .object({ server: z.enum(["auto", "embedded", "real"]).default("auto"), url: z.url().optional() })
      .strict()
      .prefault({}),
    /**
     * A team's address book (`deployment.yml`, relative to this file): on the chains it
     * lists, the lab forks the team's network and deploys nothing of its own.
     */
    deployment: z.string().min(1).optional(),
    market: z
      .object({ eth_usd: z.number().positive().default(3000), usdc_usd: z.number().positive().default(1) })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Two chains with one id would sign for each other; two servers cannot bind one port.
    const ids = new Map<number, string>();
    for (const [name, chain] of Object.entries(config.chains)) {
      const other = ids.get(chain.chain_id);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["chains", name, "chain_id"],
          message: `chain id ${chain.chain_id} is ${other}'s already: every chain needs an id of its own`,
        });
      else ids.set(chain.chain_id, name);
    }
    const ports = new Map<number, string>();
    const fixed = fixedPorts(config);
    for (const [path, value] of fixed) {
      const other = ports.get(value);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path,
          message: `port ${value} is also ${other}: every fixed port must differ (0 picks a free one)`,
        });
      else ports.set(value, path.join("."));
    }
  });

/** Every port lab.yml fixes (0 picks a free one and is left out), with its field. */
export function fixedPorts(config: Pick<LabConfig, "chains" | "ports">): Array<[PropertyKey[], number]> {
  const all: Array<[PropertyKey[], number]> = [
    ...Object.entries(config.chains).map(([name, c]): [PropertyKey[], number] => [
      ["chains", name, "port"],
      c.port,
    ]),
    ...(["toxiproxy", "control", "regulator"] as const).map((k): [PropertyKey[], number] => [
      ["ports", k],
      config.ports[k],
    ]),
    ...Object.entries(config.ports.oracles).map(([k, v]): [PropertyKey[], number] => [
      ["ports", "oracles", k],
      v ?? 0,
    ]),
  ];
  return all.filter(([, port]) => port !== 0);
}

export type LabConfigInput = z.input<typeof labConfigSchema>;
export type LabConfig = z.output<typeof labConfigSchema> & {
  /** The address book `deployment` names, read and checked against the chains. */
  book?: Deployment;
};

/** The chains a scenario run on a lab of `config` may name. */
export function chainSetOf(config: LabConfig, from: string): LabChainSet {
  const entries = Object.entries(config.chains);
  const book = config.book?.chains ?? {};
  return {
    names: entries.map(([name]) => name as ChainName),
    sequencer: entries
      .filter(([name, c]) =>
        book[name] !== undefined ? book[name].sequencer_uptime_feed !== undefined : c.sequencer_feed,
      )
      .map(([name]) => name),
    team: Object.keys(book),
    from,
  };
}

/** The embedded defaults. */
export function defaultLabConfig(): LabConfig {
  return labConfigSchema.parse({});
}

/** Loads `lab.yml` (or the embedded defaults), validated before anything starts. */
export function loadLabConfig(file: string | undefined): LabConfig {
  if (file === undefined) return labConfigSchema.parse({});
  return labConfigFrom(readYamlFile(file));
}

/** Validates an already parsed YAML file as a lab configuration. */
export function labConfigFrom(src: YamlFile): LabConfig {
  const config: LabConfig = validateAgainst(src, labConfigSchema, "lab configuration", {
    time_factor: "clock_speedup",
  });
  // A fork URL may carry a provider's key: it is read by the node and never printed.
  for (const chain of Object.values(config.chains)) if (chain.fork) registerSecret(chain.fork.url);
  if (config.deployment === undefined) return config;
  const book = loadDeployment(resolve(dirname(src.file), config.deployment));
  checkAgainstLab(book, config.chains);
  return { ...config, book };
}
