/**
 * `firedrill map [file] [--check] [--json]`: tiers, RTOs and each system's blast radius.
 * `--check` exits 1 on a tier inversion; an unknown system or a cycle is bad input (exit 2).
 */
import { parseArgs } from "node:util";
import { formatDuration } from "../duration.ts";
import { usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import {
  blastRadius,
  defaultMapPath,
  loadSystemsMap,
  rtoFor,
  type SystemsMap,
  tierInversions,
} from "./systems-map.ts";

const USAGE = "usage: firedrill map [systems-map.yml] [--check] [--json]";

/** The map as JSON: what `--json` prints. */
export function mapReport(map: SystemsMap) {
  return {
    file: map.file,
    tiers: [...map.tiers].map(([tier, t]) => ({
      tier,
      name: t.name,
      rtoMs: t.rtoMs,
      rto: formatDuration(t.rtoMs),
    })),
    systems: [...map.systems.keys()]
      .sort((a, b) => map.systems.get(a)!.tier - map.systems.get(b)!.tier || a.localeCompare(b))
      .map((name) => {
        const system = map.systems.get(name)!;
        const rto = rtoFor(map, [name]);
        return {
          name,
          tier: system.tier,
          rtoMs: map.tiers.get(system.tier)!.rtoMs,
          dependsOn: [...system.dependsOn],
          blastRadius: blastRadius(map, [name]),
          blastRadiusRtoMs: rto.rtoMs,
        };
      }),
    inversions: tierInversions(map),
  };
}

/** Runs `firedrill map`. */
export async function command(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      check: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw usageError(`one systems map at a time\n${USAGE}`);
  const map = loadSystemsMap(positionals[0] ?? defaultMapPath());
  const report = mapReport(map);

  if (values.json) io.out(JSON.stringify(report, null, 2));
  else {
    io.out(`systems map ${map.file}`);
    const width = Math.max(...report.systems.map((s) => s.name.length));
    for (const tier of report.tiers) {
      io.out("");
      io.out(`tier ${tier.tier} ${tier.name}, RTO ${tier.rto}`);
      for (const system of report.systems.filter((s) => s.tier === tier.tier)) {
        const dependsOn = system.dependsOn.length === 0 ? "-" : system.dependsOn.join(", ");
        io.out(`  ${system.name.padEnd(width)}  depends on: ${dependsOn}`);
        io.out(
          `  ${"".padEnd(width)}  blast radius (${system.blastRadius.length}, RTO ${formatDuration(system.blastRadiusRtoMs)}): ${system.blastRadius.join(", ")}`,
        );
      }
    }
  }

  if (!values.check) return 0;
  for (const inversion of report.inversions) {
    io.err(
      `tier inversion: ${inversion.system} (tier ${inversion.tier}) depends on ${inversion.dependsOn} (tier ${inversion.dependencyTier}) in ${map.file}`,
    );
  }
  if (report.inversions.length > 0) return 1;
  if (!values.json) io.out("\nno tier inversion");
  return 0;
}
