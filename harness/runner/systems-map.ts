/**
 * scenarios/systems-map.yml: tiers with their RTOs, systems with their tier and what they
 * depend on. The RTO of a drill is the tightest RTO in the blast radius of its targets:
 * the targets and every system that depends on them, transitively.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { z } from "zod";
import { formatDuration, positiveDuration } from "../duration.ts";
import { FiredrillError } from "../errors.ts";
import { SCENARIOS_DIR } from "../paths.ts";
import { suggest } from "../suggest.ts";
import {
  type Problem,
  parseYaml,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";

export { suggest };

/** Names of systems: lower snake case. */
export const SYSTEM_NAME = /^[a-z][a-z0-9_]*$/;

const systemName = z.string().regex(SYSTEM_NAME, { message: "a system name is lower_snake_case" });

const tierSchema = z.strictObject({
  /** e.g. critical, essential, important. */
  name: z.string().min(1),
  /** Recovery time objective of every system of the tier, ms after parsing. */
  rto: positiveDuration,
  description: z.string().optional(),
});

const systemSchema = z.strictObject({
  tier: z.int().min(1).max(9),
  description: z.string().optional(),
  /** Systems this one cannot work without. @default [] */
  depends_on: z.array(systemName).default([]),
});

export const systemsMapSchema = z.strictObject({
  version: z.literal(1),
  /** Keyed by tier number, 1 the most critical. */
  tiers: z.record(z.string().regex(/^[1-9]$/, { message: "a tier is a number from 1 to 9" }), tierSchema),
  systems: z.record(systemName, systemSchema),
});

export type SystemsMapDocument = z.infer<typeof systemsMapSchema>;
export type SystemEntry = z.infer<typeof systemSchema>;

/** A validated systems map: no unknown system or tier, no cycle. */
export interface SystemsMap {
  file: string;
  tiers: ReadonlyMap<number, { name: string; rtoMs: number; description?: string | undefined }>;
  systems: ReadonlyMap<
    string,
    { tier: number; dependsOn: readonly string[]; description?: string | undefined }
  >;
}

/** A system that depends on one of a lower tier (a higher tier number). */
export interface TierInversion {
  system: string;
  tier: number;
  dependsOn: string;
  dependencyTier: number;
}

/** The RTO that applies to a set of targets, and where it comes from. */
export interface RtoFor {
  rtoMs: number;
  /** Most critical tier in the blast radius. */
  tier: number;
  /** A system of that tier in the blast radius (the first by name). */
  system: string;
  blastRadius: string[];
}

/** The map shipped with firedrill. */
export const SHIPPED_MAP = join(SCENARIOS_DIR, "systems-map.yml");

/**
 * The map that applies to a scenario: `systems-map.yml` beside it, else
 * `scenarios/systems-map.yml` under the working directory, else the shipped one.
 */
export function defaultMapPath(scenarioFile?: string): string {
  const candidates = [
    ...(scenarioFile === undefined ? [] : [join(dirname(scenarioFile), "systems-map.yml")]),
    join(process.cwd(), "scenarios", "systems-map.yml"),
  ];
  const found = candidates.find((file) => existsSync(file)) ?? SHIPPED_MAP;
  // Shown in messages: short when it is under the working directory.
  const shown = relative(process.cwd(), found);
  return shown.startsWith("..") || isAbsolute(shown) ? found : shown;
}

/**
 * Reads and validates a systems map.
 * @throws FiredrillError FD2xx at the line of the first problem.
 */
export function loadSystemsMap(file: string): SystemsMap {
  return systemsMapFrom(readYamlFile(file));
}

/** Validates a systems map given as text. */
export function parseSystemsMap(file: string, text: string): SystemsMap {
  return systemsMapFrom(parseYaml(file, text));
}

/** Validates an already parsed YAML file as a systems map. */
export function systemsMapFrom(src: YamlFile): SystemsMap {
  const doc = validateAgainst(src, systemsMapSchema, "systems map");
  const problems: Problem[] = [];
  const tiers = new Map<number, { name: string; rtoMs: number; description?: string | undefined }>();
  for (const [key, tier] of Object.entries(doc.tiers).sort(([a], [b]) => Number(a) - Number(b))) {
    tiers.set(Number(key), { name: tier.name, rtoMs: tier.rto, description: tier.description });
  }
  if (tiers.size === 0) problems.push({ path: ["tiers"], message: "needs at least one tier", code: "FD201" });
  if (Object.keys(doc.systems).length === 0) {
    problems.push({ path: ["systems"], message: "needs at least one system", code: "FD201" });
  }
  // A less critical tier must not promise a faster recovery than a more critical one.
  let previous: [number, number] | undefined;
  for (const [number, tier] of tiers) {
    if (previous !== undefined && tier.rtoMs < previous[1]) {
      problems.push({
        path: ["tiers", String(number), "rto"],
        message: `${formatDuration(tier.rtoMs)} is tighter than tier ${previous[0]}'s ${formatDuration(previous[1])}: a less critical tier cannot recover faster`,
        code: "FD210",
      });
    }
    previous = [number, tier.rtoMs];
  }
  const systems = new Map<string, { tier: number; dependsOn: string[]; description?: string | undefined }>();
  for (const [name, system] of Object.entries(doc.systems)) {
    if (!tiers.has(system.tier)) {
      problems.push({
        path: ["systems", name, "tier"],
        message: `unknown tier ${system.tier}: the map defines ${[...tiers.keys()].join(", ")}`,
        code: "FD204",
      });
    }
    system.depends_on.forEach((dependency, index) => {
      const path = ["systems", name, "depends_on", index];
      if (!(dependency in doc.systems)) {
        problems.push({
          path,
          message: `unknown system "${dependency}"${suggest(dependency, Object.keys(doc.systems))}`,
          code: "FD204",
        });
      } else if (dependency === name) {
        problems.push({ path, message: `${name} depends on itself`, code: "FD205" });
      } else if (system.depends_on.indexOf(dependency) !== index) {
        problems.push({ path, message: `"${dependency}" is listed twice`, code: "FD207" });
      }
    });
    systems.set(name, { tier: system.tier, dependsOn: system.depends_on, description: system.description });
  }
  throwFirst(src, problems);
  const cycle = findCycle(systems);
  if (cycle !== undefined) {
    const [from, to] = [cycle[cycle.length - 2]!, cycle[cycle.length - 1]!];
    const index = systems.get(from)!.dependsOn.indexOf(to);
    throwFirst(src, [
      {
        path: ["systems", from, "depends_on", index],
        message: `dependency cycle: ${cycle.join(" -> ")}`,
        code: "FD205",
      },
    ]);
  }
  return { file: src.file, tiers, systems };
}

/**
 * A dependency cycle as a path that starts and ends at the same system
 * (`a -> b -> a`), or undefined when there is none. Systems are visited in name order,
 * so the cycle reported is stable.
 */
export function findCycle(
  systems: ReadonlyMap<string, { dependsOn: readonly string[] }>,
): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const dependency of systems.get(name)?.dependsOn ?? []) {
      if (!systems.has(dependency)) continue;
      const cycle = visit(dependency);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of [...systems.keys()].sort()) {
    const cycle = visit(name);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** Systems of `targets` that the map does not know. */
export function unknownSystems(map: SystemsMap, targets: readonly string[]): string[] {
  return targets.filter((target) => !map.systems.has(target));
}

/**
 * The targets and every system that depends on them, transitively, sorted by tier then name.
 * @throws FiredrillError FD204 on a target the map does not know.
 */
export function blastRadius(map: SystemsMap, targets: readonly string[]): string[] {
  const unknown = unknownSystems(map, targets);
  if (unknown.length > 0) {
    throw new FiredrillError(
      "FD204",
      `${map.file}: unknown system${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")}${suggest(unknown[0]!, [...map.systems.keys()])}`,
    );
  }
  const dependents = new Map<string, string[]>();
  for (const [name, system] of map.systems) {
    for (const dependency of system.dependsOn) {
      dependents.set(dependency, [...(dependents.get(dependency) ?? []), name]);
    }
  }
  const reached = new Set<string>(targets);
  const queue = [...targets];
  while (queue.length > 0) {
    for (const dependent of dependents.get(queue.shift()!) ?? []) {
      if (!reached.has(dependent)) {
        reached.add(dependent);
        queue.push(dependent);
      }
    }
  }
  return [...reached].sort(
    (a, b) => map.systems.get(a)!.tier - map.systems.get(b)!.tier || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/**
 * The tightest RTO among the targets and everything that depends on them.
 * @throws FiredrillError FD204 on an unknown target, or when `targets` is empty.
 */
export function rtoFor(map: SystemsMap, targets: readonly string[]): RtoFor {
  if (targets.length === 0)
    throw new FiredrillError("FD204", "no target system given: the RTO follows from the targets");
  const radius = blastRadius(map, targets);
  let best: RtoFor | undefined;
  for (const system of radius) {
    const tier = map.systems.get(system)!.tier;
    const rtoMs = map.tiers.get(tier)!.rtoMs;
    if (best === undefined || rtoMs < best.rtoMs || (rtoMs === best.rtoMs && tier < best.tier)) {
      best = { rtoMs, tier, system, blastRadius: radius };
    }
  }
  return best!;
}

/** Every dependency of a system on one of a lower tier, sorted by system then dependency. */
export function tierInversions(map: SystemsMap): TierInversion[] {
  const out: TierInversion[] = [];
  for (const name of [...map.systems.keys()].sort()) {
    const system = map.systems.get(name)!;
    for (const dependsOn of [...system.dependsOn].sort()) {
      const dependencyTier = map.systems.get(dependsOn)!.tier;
      if (dependencyTier > system.tier)
        out.push({ system: name, tier: system.tier, dependsOn, dependencyTier });
    }
  }
  return out;
}
