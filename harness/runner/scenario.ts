/**
 * A scenario (README.md, "Scenarios"): what to break, when, what must hold before and
 * after, and which alerts mark detection, response and mitigation. Validated in full,
 * against the systems map too, before anything runs.
 *
 * Rules beyond the shape of each field:
 * - Event names in `expect` must be standard ones (ALERT_EVENTS), or be declared in
 *   `custom_events` (a stack may post others; declaring them keeps a typo from silently
 *   never matching). An entry may instead name a sender's own alert,
 *   `<format>:<alert name>`, with a known format.
 * - Each phase list matches on any of its events; `expect.required` lists events that
 *   must each be seen at least once (e.g. both failover and batching).
 * - Fault `id`s are optional; given ones must be unique.
 * - Every system a fault acts on must be in the blast radius of the targets, so that the
 *   RTO a run is judged by covers what it breaks.
 * - `within` limits are cumulative from the first injection, must not be looser than the
 *   RTO, and must be in phase order.
 * - Durations are wall-clock time of the drill. `replay_compression` says how many seconds of
 *   the real incident one drill second stands for (a compressed replay); it is recorded
 *   and reported, never used to fake time.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { ALERT_EVENTS, EVENT_NAME, isStandardEvent } from "../contract/alerts.ts";
import { formatByName, INTAKE_FORMATS, SENDER_ALERT_KEY } from "../contract/intake/index.ts";
import { duration, formatDuration, positiveDuration } from "../duration.ts";
import { FAULTS, type Fault, faultDefinition } from "../faults/index.ts";
import { EMBEDDED_CHAINS, type LabChainSet } from "../names.ts";
import {
  type Problem,
  parseYaml,
  readYamlFile,
  throwFirst,
  validateAgainst,
  type YamlFile,
} from "../yaml.ts";
import { abortCondition, steadyStateProbe } from "./probes.ts";
import { blastRadius, rtoFor, SYSTEM_NAME, type SystemsMap, suggest } from "./systems-map.ts";

const eventName = z.string().regex(EVENT_NAME, { message: "an event name is UPPER_SNAKE_CASE" });
/** An event, or a sender's own alert as `<format>:<alert name>`. */
const expectedName = z.string().refine((name) => EVENT_NAME.test(name) || SENDER_ALERT_KEY.test(name), {
  message: "an event name is UPPER_SNAKE_CASE; a sender's own alert is <format>:<alert name>",
});
const events = z.array(expectedName).min(1);

const noWindow = (type: string) =>
  z
    .never({ error: `${type} is instantaneous: it takes no "for"` })
    .optional()
    .transform(() => undefined);

const faultSchemas = FAULTS.map((def) =>
  z.strictObject({
    type: z.literal(def.type).describe("The fault type: one of the faults below."),
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/, { message: "an id is lower-case letters, digits, - and _" })
      .optional()
      .describe("Name of the fault in the timeline and the report; unique in the scenario."),
    at: duration
      .default(0)
      .describe(
        "When the fault starts, counted from the start of the faults (the first injection when a fault has `at: 0s`).",
      ),
    for: (def.window === "required"
      ? positiveDuration
      : def.window === "optional"
        ? positiveDuration.optional()
        : noWindow(def.type)
    ).describe("How long the fault holds before it is healed; whether it is required depends on the fault."),
    ...def.params.shape,
  }),
);

const faultSchema = z.discriminatedUnion(
  "type",
  faultSchemas as unknown as [(typeof faultSchemas)[number], ...(typeof faultSchemas)[number][]],
);

const PHASES = ["detection", "response", "mitigation", "recovery"] as const;
export type Phase = (typeof PHASES)[number];

export const scenarioSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, {
      message: "a scenario name is lower-case-kebab, at most 64 characters",
    })
    .describe("Name of the scenario in journals, reports and `firedrill drill`."),
  description: z
    .string()
    .optional()
    .describe(
      "One line on what is drilled; the journal and the incident alert show it (the name when absent).",
    ),
  targets: z
    .array(z.string().regex(SYSTEM_NAME, { message: "a system name is lower_snake_case" }))
    .min(1)
    .describe(
      "Systems of `systems-map.yml` under test. The drill is judged by the tightest RTO among them and every system that depends on them (the blast radius).",
    ),
  steady_state: z
    .array(steadyStateProbe)
    .min(1)
    .describe("Probes that must all hold before the first fault, and again to call the system recovered."),
  load: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/, { message: "a load profile name is lower-case letters, digits, - and _" })
    .optional()
    .describe(
      "A profile of `load/profiles/` that runs all through the faults; each of its budgets is a verdict.",
    ),
  faults: z.array(faultSchema).min(1).describe("What to break, when and for how long."),
  expect: z
    .strictObject({
      detection: events.describe(
        "Events that mark detection: the first of them to arrive reaches the phase. Any list of `expect` may also name a sender's own alert as `<format>:<alert name>` (e.g. `alertmanager:RpcProviderDown`): it is reached when that alert fires, mapped or not.",
      ),
      response: events.optional().describe("Events that mark response."),
      mitigation: events.optional().describe("Events that mark mitigation."),
      required: z
        .array(expectedName)
        .default([])
        .describe("Events that must each be seen at least once during the run."),
      within: z
        .strictObject({
          detection: positiveDuration.optional().describe("Latest detection."),
          response: positiveDuration.optional().describe("Latest response; needs `expect.response`."),
          mitigation: positiveDuration.optional().describe("Latest mitigation; needs `expect.mitigation`."),
          recovery: positiveDuration
            .optional()
            .describe("Latest time by which every steady-state probe holds again."),
        })
        .default({})
        .describe(
          "Time limits per phase, counted from the first injection (so each includes the phases before it). Each must be no looser than the RTO, and no tighter than the phase before it; a phase without a limit is held to the RTO.",
        ),
    })
    .describe("The alerts that mark each phase of the incident, and its time limits."),
  abort_if: z
    .array(abortCondition)
    .default([])
    .describe(
      "Safety stops, checked all through the faults: when one trips, every fault is healed and the run ends as `aborted`.",
    ),
  max_duration: positiveDuration
    .optional()
    .describe(
      "Every fault must end, and every `expect.within` limit fall, within this time from the start of the faults; checked when the scenario is validated.",
    ),
  replay_compression: z
    .number()
    .min(1)
    .max(1_000_000)
    .default(1)
    .describe(
      "How many seconds of the real incident one drill second stands for (a compressed replay). Recorded and reported; never used to fake time.",
    ),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional()
    .describe(
      "Seed of the run's randomness (price noise, load). `--seed` overrides it; without either, it is 42.",
    ),
  custom_events: z
    .array(eventName)
    .default([])
    .describe(
      "Event names outside the standard list that `expect` may use (a typo in `expect` is an error).",
    ),
});

type ScenarioOutput = z.infer<typeof scenarioSchema>;

/** A validated scenario: durations in ms, faults typed by `type`. */
export type ScenarioDocument = Omit<ScenarioOutput, "faults"> & { faults: Fault[] };

/** A scenario ready to run, with what follows from the systems map. */
export interface Scenario extends ScenarioDocument {
  file: string;
  /** sha256 of the file's text, for the journal. */
  sha256: string;
  /** Most critical tier in the blast radius. */
  tier: number;
  /** Tightest RTO in the blast radius (ms). */
  rtoMs: number;
  blastRadius: string[];
}

/**
 * Reads and validates a scenario against the schema and the systems map.
 * @throws FiredrillError FD2xx at the line of the first problem.
 */
export function loadScenario(file: string, map: SystemsMap, chains: LabChainSet = EMBEDDED_CHAINS): Scenario {
  return scenarioFrom(readYamlFile(file), map, chains);
}

/** Validates a scenario given as text. */
export function parseScenario(
  file: string,
  text: string,
  map: SystemsMap,
  chains: LabChainSet = EMBEDDED_CHAINS,
): Scenario {
  return scenarioFrom(parseYaml(file, text), map, chains);
}

/** End of a fault (ms from the first injection), or undefined when it holds until the run heals it. */
export function faultEndMs(fault: Fault): number | undefined {
  if (fault.for !== undefined) return fault.at + fault.for;
  if (faultDefinition(fault.type)?.window === "none") return fault.at;
  return undefined;
}

/** Where a fault's schedule ends (ms from the first injection): its end, or its injection for one held until the run heals it. */
function scheduleEndMs(fault: Fault): number {
  return faultEndMs(fault) ?? fault.at;
}

/**
 * How long a scenario's fault schedule runs (ms from the first injection): the latest
 * schedule end of its faults. Runs in parallel start the longest schedules first, so that
 * no long one starts last.
 */
export function scheduledMs(scenario: Pick<Scenario, "faults">): number {
  return Math.max(0, ...scenario.faults.map(scheduleEndMs));
}

/** Every chain a scenario names (faults, steady state, abort conditions), not in `chains`. */
function unknownChains(doc: ScenarioDocument, chains: LabChainSet): Problem[] {
  const problems: Problem[] = [];
  const lists = { faults: doc.faults, steady_state: doc.steady_state, abort_if: doc.abort_if } as const;
  for (const [list, items] of Object.entries(lists)) {
    (items as ReadonlyArray<{ chain?: unknown }>).forEach((item, i) => {
      const named = item.chain;
      if (typeof named !== "string" || chains.names.includes(named)) return;
      problems.push({
        path: [list, i, "chain"],
        message: `no chain ${named}${suggest(named, chains.names)} in ${chains.from} (its chains: ${chains.names.join(", ")})`,
        code: "FD204",
      });
    });
  }
  return problems;
}

/** Unknown, misspelt or repeated event names in `custom_events` and `expect`. */
function eventProblems(doc: ScenarioDocument): Problem[] {
  const problems: Problem[] = [];
  const push = (path: Problem["path"], message: string, code: Problem["code"]) =>
    problems.push({ path, message, code });
  doc.custom_events.forEach((name, i) => {
    if (isStandardEvent(name)) push(["custom_events", i], `${name} is a standard event already`, "FD207");
    else if (doc.custom_events.indexOf(name) !== i)
      push(["custom_events", i], `"${name}" is listed twice`, "FD207");
  });
  const allowed = [...ALERT_EVENTS, ...doc.custom_events];
  for (const list of ["detection", "response", "mitigation", "required"] as const) {
    (doc.expect[list] ?? []).forEach((name, i) => {
      const sender = EVENT_NAME.test(name) ? null : SENDER_ALERT_KEY.exec(name);
      if (sender && formatByName(sender[1]!) === undefined) {
        const formats = INTAKE_FORMATS.map((f) => f.name);
        push(
          ["expect", list, i],
          `unknown sender "${sender[1]}"${suggest(sender[1]!, formats)} in "${name}": a sender's alert is <format>:<alert name>, with format one of ${formats.join(", ")}`,
          "FD208",
        );
      } else if (!sender && !allowed.includes(name)) {
        push(
          ["expect", list, i],
          `unknown event "${name}"${suggest(name, allowed)}: use one of the standard events (${ALERT_EVENTS.join(", ")}) or declare it in custom_events`,
          "FD208",
        );
      } else if (doc.expect[list]!.indexOf(name) !== i)
        push(["expect", list, i], `"${name}" is listed twice`, "FD207");
    });
  }
  return problems;
}

/**
 * Validates an already parsed YAML file as a scenario, for a lab of `chains` (the
 * embedded lab's unless given).
 */
export function scenarioFrom(
  src: YamlFile,
  map: SystemsMap,
  chains: LabChainSet = EMBEDDED_CHAINS,
): Scenario {
  const doc = validateAgainst(src, scenarioSchema, "scenario", {
    time_factor: "replay_compression",
  }) as ScenarioDocument;
  const problems: Problem[] = unknownChains(doc, chains);
  const push = (path: Problem["path"], message: string, code: Problem["code"]) =>
    problems.push({ path, message, code });
  const known = [...map.systems.keys()];

  doc.targets.forEach((target, i) => {
    if (!map.systems.has(target)) {
      push(
        ["targets", i],
        `unknown system "${target}"${suggest(target, known)} (not in ${map.file})`,
        "FD204",
      );
    } else if (doc.targets.indexOf(target) !== i)
      push(["targets", i], `"${target}" is listed twice`, "FD207");
  });
  const radius = problems.length === 0 ? blastRadius(map, doc.targets) : undefined;

  const ids = new Map<string, number>();
  doc.faults.forEach((fault, i) => {
    const def = faultDefinition(fault.type)!;
    for (const problem of def.check?.(fault as never, chains) ?? [])
      push(["faults", i, ...problem.path], problem.message, "FD210");
    if (fault.id !== undefined) {
      const first = ids.get(fault.id);
      if (first !== undefined)
        push(["faults", i, "id"], `duplicate id "${fault.id}" (also faults[${first}])`, "FD207");
      else ids.set(fault.id, i);
    }
    for (const system of def.systems) {
      if (!map.systems.has(system)) {
        push(
          ["faults", i, "type"],
          `${fault.type} acts on ${system}, which ${map.file} does not list`,
          "FD204",
        );
      } else if (radius !== undefined && !radius.includes(system)) {
        push(
          ["faults", i, "type"],
          `${fault.type} acts on ${system}, outside the blast radius of targets [${doc.targets.join(", ")}]: add ${system} to targets`,
          "FD210",
        );
      }
    }
    // Two faults of one type on one target would heal each other.
    const end = (f: Fault) => faultEndMs(f) ?? Number.POSITIVE_INFINITY;
    for (let j = 0; j < i; j++) {
      const other = doc.faults[j]!;
      if (other.type !== fault.type || def.target(other as never) !== def.target(fault as never)) continue;
      if (fault.at < Math.max(end(other), other.at + 1) && other.at < Math.max(end(fault), fault.at + 1)) {
        push(
          ["faults", i, "at"],
          `overlaps faults[${j}]: both ${fault.type} on ${def.target(fault as never)}`,
          "FD210",
        );
      }
    }
    if (doc.max_duration !== undefined) {
      const finish = scheduleEndMs(fault);
      if (finish > doc.max_duration) {
        const field = fault.for !== undefined ? "for" : "at";
        push(
          ["faults", i, field],
          `ends at ${formatDuration(finish)}, past max_duration ${formatDuration(doc.max_duration)}`,
          "FD206",
        );
      }
    }
  });

  problems.push(...eventProblems(doc));

  const rto = radius === undefined ? undefined : rtoFor(map, doc.targets);
  let previous: [Phase, number] | undefined;
  for (const phase of PHASES) {
    const limit = doc.expect.within[phase];
    if (limit === undefined) continue;
    const path = ["expect", "within", phase];
    if ((phase === "response" || phase === "mitigation") && doc.expect[phase] === undefined) {
      push(path, `no expect.${phase} events to time`, "FD210");
    }
    if (rto !== undefined && limit > rto.rtoMs) {
      push(
        path,
        `${formatDuration(limit)} is looser than the RTO ${formatDuration(rto.rtoMs)} (tier ${rto.tier})`,
        "FD210",
      );
    }
    if (previous !== undefined && limit < previous[1]) {
      push(
        path,
        `${formatDuration(limit)} is tighter than within.${previous[0]} (${formatDuration(previous[1])}): limits are cumulative`,
        "FD210",
      );
    }
    if (doc.max_duration !== undefined && limit > doc.max_duration) {
      push(
        path,
        `${formatDuration(limit)} is past max_duration ${formatDuration(doc.max_duration)}`,
        "FD206",
      );
    }
    previous = [phase, limit];
  }

  throwFirst(src, problems);
  return {
    ...doc,
    faults: doc.faults.map(
      (fault) =>
        (faultDefinition(fault.type)!.forLab?.(fault as never, chains) as unknown as Fault | undefined) ??
        fault,
    ),
    file: src.file,
    sha256: createHash("sha256").update(src.text).digest("hex"),
    tier: rto!.tier,
    rtoMs: rto!.rtoMs,
    blastRadius: rto!.blastRadius,
  };
}
