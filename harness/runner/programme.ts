/**
 * programme.yml: a team's drill programme. Which scenarios it drills, how often each tier
 * (or scenario) must be drilled, and who is on rotation; validated like every other input,
 * with file:line errors. `programmeStatus` reads the journals and says what is due and
 * overdue.
 *
 *   version: 1
 *   scenarios: [../scenarios]   # files or folders, relative to this file (default: shipped)
 *   cadence:
 *     tiers: { 1: monthly, 2: quarterly, 3: 180d }
 *     scenarios: { redemption-run: 14d }   # a scenario's own cadence, over its tier's
 *   rotation:
 *     from: 2026-12-07
 *     every: 7d
 *     people: [alice, bob, carol]
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { durationProblem, parseDuration } from "../duration.ts";
import { SCENARIOS_DIR } from "../paths.ts";
import { type Problem, readYamlFile, throwFirst, validateAgainst, type YamlFile } from "../yaml.ts";
import { type Journal, journalPassed } from "./journal.ts";
import { loadScenario, type Scenario } from "./scenario.ts";
import { type SystemsMap, suggest } from "./systems-map.ts";

/** The cadence words, and the durations they stand for. */
export const CADENCES: Readonly<Record<string, number>> = {
  weekly: 7 * 86_400_000,
  monthly: 30 * 86_400_000,
  quarterly: 91 * 86_400_000,
  yearly: 365 * 86_400_000,
};

const cadence = z.string().superRefine((text, ctx) => {
  if (text in CADENCES) return;
  const problem = durationProblem(text);
  if (problem !== undefined)
    ctx.addIssue({ code: "custom", message: `${problem}; or one of ${Object.keys(CADENCES).join(", ")}` });
  else if (parseDuration(text) < 3_600_000)
    ctx.addIssue({ code: "custom", message: `a cadence of ${text} is shorter than an hour` });
});

const programmeSchema = z.strictObject({
  version: z.literal(1),
  scenarios: z.array(z.string().min(1)).min(1).optional(),
  cadence: z.strictObject({
    tiers: z.record(z.string().regex(/^[1-9]$/, { message: "a tier is a number from 1 to 9" }), cadence),
    scenarios: z.record(z.string().min(1), cadence).default({}),
  }),
  rotation: z
    .strictObject({
      from: z.iso.date({ message: "expected a date such as 2026-12-07" }),
      every: z.string().superRefine((text, ctx) => {
        const problem = durationProblem(text);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      }),
      people: z.array(z.string().min(1)).min(1),
    })
    .optional(),
});

export interface Programme {
  file: string;
  /** The programme's scenarios, each with the cadence that applies to it. */
  scenarios: { scenario: Scenario; cadenceMs: number; cadence: string }[];
  rotation: { fromMs: number; everyMs: number; people: string[] } | undefined;
}

const cadenceMs = (text: string): number => CADENCES[text] ?? parseDuration(text);

/** The scenario files a programme names: each entry a file or a folder of them. */
function scenarioFiles(src: YamlFile, entries: readonly string[] | undefined, problems: Problem[]): string[] {
  if (entries === undefined) return listScenarios(SCENARIOS_DIR);
  const base = dirname(resolve(src.file));
  return entries.flatMap((entry, i) => {
    const path = resolve(base, entry);
    if (!existsSync(path)) {
      problems.push({ path: ["scenarios", i], message: `no such file or folder: ${path}`, code: "FD200" });
      return [];
    }
    return statSync(path).isDirectory() ? listScenarios(path) : [path];
  });
}

function listScenarios(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^(systems-map|kpis|alerts|programme)\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Reads and validates programme.yml against the systems map; its scenarios are loaded too. */
export function loadProgramme(file: string, map: SystemsMap): Programme {
  const src = readYamlFile(file);
  const doc = validateAgainst(src, programmeSchema, "programme");
  const problems: Problem[] = [];
  const tiers = [...map.tiers.keys()];
  for (const tier of Object.keys(doc.cadence.tiers)) {
    if (!map.tiers.has(Number(tier)))
      problems.push({
        path: ["cadence", "tiers", tier],
        message: `unknown tier ${tier}: ${map.file} has tiers ${tiers.join(", ")}`,
        code: "FD204",
      });
  }
  const files = scenarioFiles(src, doc.scenarios, problems);
  throwFirst(src, problems);
  const scenarios = files.map((f) => loadScenario(f, map));
  const names = scenarios.map((s) => s.name);
  for (const name of Object.keys(doc.cadence.scenarios)) {
    if (!names.includes(name))
      problems.push({
        path: ["cadence", "scenarios", name],
        message: `unknown scenario "${name}"${suggest(name, names)}: not among the programme's ${names.length} scenarios`,
        code: "FD204",
      });
  }
  const planned = scenarios.map((scenario) => {
    const text = doc.cadence.scenarios[scenario.name] ?? doc.cadence.tiers[String(scenario.tier)];
    if (text === undefined)
      problems.push({
        path: ["cadence", "tiers"],
        message: `scenario ${scenario.name} is tier ${scenario.tier}, which has no cadence: add tiers.${scenario.tier} or scenarios.${scenario.name}`,
        code: "FD210",
      });
    return { scenario, cadence: text ?? "", cadenceMs: text === undefined ? 0 : cadenceMs(text) };
  });
  throwFirst(src, problems);
  return {
    file: src.file,
    scenarios: planned,
    rotation:
      doc.rotation === undefined
        ? undefined
        : {
            fromMs: Date.parse(`${doc.rotation.from}T00:00:00Z`),
            everyMs: parseDuration(doc.rotation.every),
            people: doc.rotation.people,
          },
  };
}

/** Where a scenario stands in the programme at a moment. */
export interface ScenarioStanding {
  name: string;
  file: string;
  tier: number;
  cadence: string;
  cadenceMs: number;
  /** Its latest judged drill; null when it was never drilled. */
  last: { at: string; passed: boolean; status: Journal["status"]; mttr_ms: number | null } | null;
  /** When it falls due; null when it was never drilled (it is due now). */
  dueAtMs: number | null;
  /** `overdue` past its due time (or never drilled), `due` within a quarter of its cadence, else `ok`. */
  state: "overdue" | "due" | "ok";
}

/** Every scenario of the programme against the journals, most overdue first. */
export function programmeStatus(
  programme: Programme,
  journals: readonly Journal[],
  nowMs: number,
): ScenarioStanding[] {
  const standings = programme.scenarios.map(({ scenario, cadence, cadenceMs: every }): ScenarioStanding => {
    const latest = journals
      .filter(
        (j) =>
          j.scenario.name === scenario.name && j.status !== "interrupted" && Date.parse(j.ended_at) <= nowMs,
      )
      .sort((a, b) => b.ended_at.localeCompare(a.ended_at))[0];
    const dueAtMs = latest === undefined ? null : Date.parse(latest.ended_at) + every;
    const state =
      dueAtMs === null || dueAtMs < nowMs ? "overdue" : dueAtMs - nowMs <= every / 4 ? "due" : "ok";
    return {
      name: scenario.name,
      file: scenario.file,
      tier: scenario.tier,
      cadence,
      cadenceMs: every,
      last:
        latest === undefined
          ? null
          : {
              at: latest.ended_at,
              passed: journalPassed(latest),
              status: latest.status,
              mttr_ms: latest.mttr_ms,
            },
      dueAtMs,
      state,
    };
  });
  // Never drilled first (by tier), then the longest overdue, then the soonest due.
  return standings.sort(
    (a, b) =>
      (a.dueAtMs === null ? 0 : 1) - (b.dueAtMs === null ? 0 : 1) ||
      (a.dueAtMs === null ? a.tier - b.tier : a.dueAtMs - b.dueAtMs!) ||
      a.name.localeCompare(b.name),
  );
}

/** Who is on rotation at `nowMs`, and until when; undefined without a rotation or before it starts. */
export function onRotation(
  programme: Programme,
  nowMs: number,
): { person: string; untilMs: number } | undefined {
  const rotation = programme.rotation;
  if (rotation === undefined || nowMs < rotation.fromMs) return undefined;
  const turn = Math.floor((nowMs - rotation.fromMs) / rotation.everyMs);
  return {
    person: rotation.people[turn % rotation.people.length]!,
    untilMs: rotation.fromMs + (turn + 1) * rotation.everyMs,
  };
}
