/**
 * `firedrill validate <files or folders...>`: checks scenarios, systems maps and KPI files
 * without touching a lab. One line per file; exit 2 if any is bad.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../duration.ts";
import { FiredrillError, usageError } from "../errors.ts";
import { teamFrom } from "../gameday/team.ts";
import type { Io } from "../io.ts";
import { chainSetOf, type LabConfig, labConfigFrom, loadLabConfig } from "../lab/config.ts";
import { checkAgainstLab, loadDeployment } from "../lab/deployment.ts";
import { EMBEDDED_CHAINS, type LabChainSet } from "../names.ts";
import { problemError, readYamlFile, type YamlFile } from "../yaml.ts";
import { alertMapFrom } from "./alert-map.ts";
import { kpisFrom } from "./kpis.ts";
import { loadProgramme } from "./programme.ts";
import { scenarioFrom } from "./scenario.ts";
import {
  defaultMapPath,
  loadSystemsMap,
  type SystemsMap,
  systemsMapFrom,
  tierInversions,
} from "./systems-map.ts";

const USAGE =
  "usage: firedrill validate [--map systems-map.yml] [--lab-config lab.yml] [--kind scenario|map|kpis|alerts|programme|lab|deployment|team] <files or folders...>";

export type InputKind = "scenario" | "map" | "kpis" | "alerts" | "programme" | "lab" | "deployment" | "team";
const KINDS: readonly InputKind[] = [
  "scenario",
  "map",
  "kpis",
  "alerts",
  "programme",
  "lab",
  "deployment",
  "team",
];

/**
 * What kind of input a file is: by its name first (`*systems-map*`, `*kpis*`, `alerts.yml`,
 * `programme.yml`, `lab.yml`, `deployment.yml`, `team.yml`), then by its keys.
 */
export function detectKind(file: string, value?: unknown): InputKind {
  const name = basename(file);
  if (/systems-map/.test(name)) return "map";
  if (/kpis/.test(name)) return "kpis";
  if (/^alerts\.ya?ml$/.test(name)) return "alerts";
  if (/^programme\.ya?ml$/.test(name)) return "programme";
  if (/^lab\.ya?ml$/.test(name)) return "lab";
  if (/^deployment\.ya?ml$/.test(name)) return "deployment";
  if (/^team\.ya?ml$/.test(name)) return "team";
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if ("systems" in value && "tiers" in value) return "map";
    if ("detectors" in value) return "kpis";
    if ("rules" in value && !("faults" in value)) return "alerts";
    if ("responders" in value && !("faults" in value)) return "team";
    if ("cadence" in value && !("faults" in value)) return "programme";
    if ("chains" in value && "version" in value && !("faults" in value)) return "deployment";
    if ("chains" in value && !("faults" in value)) return "lab";
  }
  return "scenario";
}

function expand(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      // Reported by the read as "no such file".
    }
    if (!isDirectory) files.push(path);
    else {
      for (const entry of readdirSync(path).sort()) {
        if (/\.ya?ml$/.test(entry)) files.push(join(path, entry));
      }
    }
  }
  return files;
}

/** Runs `firedrill validate`. */
export async function command(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      map: { type: "string" },
      kind: { type: "string" },
      "lab-config": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw usageError(`no file to validate\n${USAGE}`);
  const kind = values.kind;
  if (kind !== undefined && !KINDS.includes(kind as InputKind)) {
    throw usageError(`--kind must be one of ${KINDS.join(", ")}, not "${kind}"`);
  }
  // Scenarios are checked against the chains of this lab, or of the embedded one.
  const labFile = values["lab-config"];
  const labConfig = labFile === undefined ? undefined : loadLabConfig(labFile);
  const chains = labConfig === undefined ? EMBEDDED_CHAINS : chainSetOf(labConfig, labFile!);

  const maps = new Map<string, SystemsMap | FiredrillError>();
  const mapFor = (file: string): SystemsMap => {
    const path = values.map ?? defaultMapPath(file);
    if (!maps.has(path)) {
      try {
        maps.set(path, loadSystemsMap(path));
      } catch (error) {
        if (!(error instanceof FiredrillError)) throw error;
        maps.set(path, new FiredrillError(error.code, `${error.message} (systems map used by ${file})`));
      }
    }
    const map = maps.get(path)!;
    if (map instanceof FiredrillError) throw map;
    return map;
  };

  const names = new Map<string, string>();
  let bad = 0;
  for (const file of expand(positionals)) {
    try {
      const src = readYamlFile(file);
      const fileKind = (kind as InputKind | undefined) ?? detectKind(file, src.value);
      io.out(`ok ${file}: ${check(src, fileKind, mapFor, names, chains, labConfig)}`);
    } catch (error) {
      if (!(error instanceof FiredrillError)) throw error;
      io.err(`${error.message} (${error.code})`);
      bad += 1;
    }
  }
  return bad > 0 ? 2 : 0;
}

function check(
  src: YamlFile,
  kind: InputKind,
  mapFor: (file: string) => SystemsMap,
  names: Map<string, string>,
  chains: LabChainSet,
  labConfig: LabConfig | undefined,
): string {
  if (kind === "deployment") {
    // Addresses may be written without quotes: the book is read again, keeping 0x... as text.
    const book = loadDeployment(src.file);
    if (labConfig !== undefined) checkAgainstLab(book, labConfig.chains);
    const names = Object.keys(book.chains);
    const feeds = Object.values(book.chains).reduce((n, c) => n + Object.keys(c.feeds).length, 0);
    return `deployment address book, ${names.length} chain${names.length === 1 ? "" : "s"} (${names.join(", ")}), ${feeds} Chainlink feed${feeds === 1 ? "" : "s"}`;
  }
  if (kind === "team") {
    const team = teamFrom(src);
    const n = team.responders.length;
    return `GameDay team, ${n} responder${n === 1 ? "" : "s"} (${team.responders.map((r) => `${r.name}: ${r.page.kind}`).join(", ")})`;
  }
  if (kind === "lab") {
    const config = labConfigFrom(src);
    const set = chainSetOf(config, src.file);
    const l2 = set.sequencer.length === 0 ? "" : `; sequencer uptime feed on ${set.sequencer.join(", ")}`;
    return `lab configuration, ${set.names.length} chain${set.names.length === 1 ? "" : "s"} (${set.names.join(", ")})${l2}`;
  }
  if (kind === "map") {
    const map = systemsMapFrom(src);
    const inversions = tierInversions(map);
    const note =
      inversions.length === 0
        ? ""
        : `, ${inversions.length} tier inversion${inversions.length === 1 ? "" : "s"} (see firedrill map --check)`;
    return `systems map, ${map.systems.size} systems in ${map.tiers.size} tiers${note}`;
  }
  if (kind === "kpis") {
    const kpis = kpisFrom(src, mapFor(src.file));
    return `KPIs, ${Object.keys(kpis.detectors).length} detectors`;
  }
  if (kind === "programme") {
    const programme = loadProgramme(src.file, mapFor(src.file));
    return `drill programme, ${programme.scenarios.length} scenarios`;
  }
  if (kind === "alerts") {
    const alerts = alertMapFrom(src, mapFor(src.file));
    return `alert mapping, ${alerts.rules.length} rule${alerts.rules.length === 1 ? "" : "s"}`;
  }
  const scenario = scenarioFrom(src, mapFor(src.file), chains);
  const other = names.get(scenario.name);
  if (other !== undefined) {
    throw problemError(src, {
      path: ["name"],
      message: `duplicate scenario name "${scenario.name}" (also in ${other})`,
      code: "FD207",
    });
  }
  names.set(scenario.name, src.file);
  const faults = `${scenario.faults.length} fault${scenario.faults.length === 1 ? "" : "s"}`;
  return `scenario ${scenario.name}, tier ${scenario.tier}, RTO ${formatDuration(scenario.rtoMs)}, ${faults}`;
}
