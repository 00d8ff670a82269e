/**
 * The lab's configuration: the embedded defaults, overridden by `lab up --config lab.yml`.
 * Validated by one zod schema before anything starts.
 */
import { z } from "zod";
import { duration } from "../duration.ts";
import type { ChainName, SourceName } from "../names.ts";

const port = z.number().int().min(0).max(65_535);
const blockTime = duration.refine((ms) => ms >= 100, "a block time under 100ms is not supported");

const chainSchema = z
  .object({
    chain_id: z.number().int().positive(),
    port: port.default(0),
    block_time: blockTime,
    /** Fork another node (a local anvil, or a real RPC URL) at a block. */
    fork: z.strictObject({ url: z.url(), block: z.number().int().nonnegative().optional() }).optional(),
  })
  .strict();

export const labConfigSchema = z
  .object({
    /** Seed of the market model and of every random choice. */
    seed: z.number().int().nonnegative().default(42),
    /**
     * How many times faster than real time the lab's slow clocks run: feed heartbeats, the
     * oldest price a stack accepts and the L2 sequencer grace period are divided by it.
     */
    clock_speedup: z.number().positive().max(3600).default(60),
    chains: z
      .object({
        ethereum: chainSchema.prefault({ chain_id: 1, block_time: "1s" }),
        polygon: chainSchema.prefault({ chain_id: 137, block_time: "500ms" }),
        arbitrum: chainSchema.prefault({ chain_id: 42_161, block_time: "250ms" }),
      } satisfies Record<ChainName, unknown>)
      .strict()
      .prefault({}),
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
    const fixed: Array<[PropertyKey[], number]> = [
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
    for (const [path, value] of fixed) {
      if (value === 0) continue;
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

export type LabConfigInput = z.input<typeof labConfigSchema>;
export type LabConfig = z.output<typeof labConfigSchema>;

/** The embedded defaults. */
export function defaultLabConfig(): LabConfig {
  return labConfigSchema.parse({});
}
