/**
 * docs/scenarios.md: the scenario file format, from the schemas that validate it (scenario,
 * probes, every fault's parameters), the standard events, and a shipped scenario worked
 * through.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration, MAX_DURATION_MS } from "../duration.ts";
import { bugError } from "../errors.ts";
import { FAULTS, type Fault, type FaultDefinition } from "../faults/index.ts";
import { probeName } from "../runner/probe-check.ts";
import { abortCondition, steadyStateProbe } from "../runner/probes.ts";
import { faultEndMs, parseScenario, scenarioSchema } from "../runner/scenario.ts";
import { loadSystemsMap, SHIPPED_MAP } from "../runner/systems-map.ts";
import { EVENT_MEANINGS } from "./contract-sources.ts";
import { eventTable } from "./events.ts";
import { anchor, code, fenced, generatedNotice, page, table } from "./markdown.ts";
import { jsonSchemaOf, keyRows, keyTable, type SchemaNode } from "./schema.ts";

/** The repository root. */
const ROOT = join(import.meta.dirname, "..", "..");

/** The shipped scenario quoted and explained at the end of the page. */
export const WORKED_EXAMPLE = "scenarios/oracle-failure.yml";

const WINDOW: Record<FaultDefinition["window"], string> = {
  required: "required: the fault holds this long, then it is healed",
  optional:
    "optional: without it, the fault acts once and stays in effect until every other fault has ended, then it is healed with them",
  none: "not allowed: the fault is instantaneous",
};

const HEADINGS = {
  keys: "Keys",
  expect: "`expect`",
  within: "`expect.within`",
  steady: "Steady-state probes",
  abort: "Abort conditions",
  faults: "Faults",
  events: "Standard events",
  durations: "Durations",
} as const;
const link = (heading: string, text = heading) => `[${text}](#${anchor(heading)})`;

function property(node: SchemaNode, key: string): SchemaNode {
  const found = node.properties?.[key];
  if (found === undefined) throw bugError(`the scenario schema has no key "${key}"`);
  return found;
}

function probeSections(
  node: SchemaNode,
  level: string,
): { name: string; description: string; body: string }[] {
  return (node.oneOf ?? []).map((option) => {
    const name = String(property(option, "probe").const);
    if (option.description === undefined) throw bugError(`probe ${name} has no description`);
    const rows = keyRows(option, `probe ${name}`, { skip: ["probe"] });
    return {
      name,
      description: option.description,
      body: page([
        `${level} ${code(name)}`,
        option.description,
        rows.length === 0 ? "No other key." : keyTable(rows),
      ]),
    };
  });
}

function faultSections(): { summary: string; details: string[] } {
  const rows: string[][] = [];
  const details: string[] = [];
  for (const def of FAULTS as readonly FaultDefinition[]) {
    const params = jsonSchemaOf(def.params);
    if (params.description === undefined) throw bugError(`fault ${def.type}: its params have no description`);
    rows.push([
      link(def.type, code(def.type)),
      params.description,
      def.window === "none" ? "not allowed" : def.window,
      def.systems.map(code).join(", "),
    ]);
    const keys = keyRows(params, `fault ${def.type}`);
    details.push(
      page([
        `### ${code(def.type)}`,
        params.description,
        `\`for\`: ${WINDOW[def.window]}. Acts on ${def.systems.map(code).join(" and ")}: ${def.systems.length === 1 ? "it" : "each"} must be in the blast radius of the targets.`,
        keys.length === 0 ? "No parameters of its own." : keyTable(keys),
      ]),
    );
  }
  return {
    summary: table(["fault", "what it does", "`for`", "acts on"], rows),
    details,
  };
}

function timeline(fault: Fault): string {
  const def = (FAULTS as readonly FaultDefinition[]).find((d) => d.type === fault.type)!;
  const end = faultEndMs(fault);
  const span =
    end === undefined
      ? `from +${formatDuration(fault.at)} until every other fault has ended`
      : end === fault.at
        ? `at +${formatDuration(fault.at)}`
        : `from +${formatDuration(fault.at)} to +${formatDuration(end)}`;
  return `${fault.id === undefined ? code(fault.type) : `${code(fault.id)} (${code(fault.type)})`}, ${span}: ${def.describe(fault as never)}.`;
}

/** The shipped scenario, quoted whole and walked through key by key, from what validation makes of it. */
function workedExample(): string {
  const text = readFileSync(join(ROOT, WORKED_EXAMPLE), "utf8");
  const map = loadSystemsMap(SHIPPED_MAP);
  const s = parseScenario(WORKED_EXAMPLE, text, map);
  const phases = (["detection", "response", "mitigation"] as const).map((phase) => {
    const events = s.expect[phase];
    const limit = s.expect.within[phase];
    const when = limit === undefined ? `the RTO (${formatDuration(s.rtoMs)})` : formatDuration(limit);
    if (events === undefined) return `${phase} is not timed (no events listed)`;
    const by =
      events.length === 1 ? code(events[0]!) : `the first of ${events.map(code).join(", ")} to arrive`;
    return `${phase} is reached by ${by}, within ${when}`;
  });
  const recovery = s.expect.within.recovery ?? s.rtoMs;
  const eventMeanings = [
    ...new Set([...s.expect.detection, ...(s.expect.response ?? []), ...(s.expect.mitigation ?? [])]),
  ].map((event) => {
    const known = EVENT_MEANINGS[event as keyof typeof EVENT_MEANINGS];
    return `${code(event)}: ${known === undefined ? "a custom event" : known.meaning}`;
  });
  const bullets = [
    `${code("name")} names the drill in the journal and the report${s.description === undefined ? "" : `; ${code("description")} is the impact line of the incident alert`}.`,
    `${code(`targets: [${s.targets.join(", ")}]`)}: with every system that depends on ${s.targets.length === 1 ? "it" : "them"}, the blast radius is ${s.blastRadius.length} systems (${s.blastRadius.map(code).join(", ")}). The tightest RTO among them is ${formatDuration(s.rtoMs)} (tier ${s.tier}): the drill fails if the steady state takes longer than that to hold again.`,
    `${code("steady_state")}: before the first fault, and again after the faults are healed, these must all hold: ${s.steady_state.map((p) => code(probeName(p))).join("; ")}.`,
    `${code("faults")}, counted from the start of the faults:\n${s.faults.map((f) => `  - ${timeline(f as Fault)}`).join("\n")}`,
    `${code("expect")}: ${phases.join("; ")}; recovery, every steady-state probe holding again, within ${formatDuration(recovery)}. The events: ${eventMeanings.join("; ")}.`,
    s.abort_if.length === 0
      ? undefined
      : `${code("abort_if")}: the run heals every fault and ends as \`aborted\` as soon as ${s.abort_if.map((p) => code(probeName(p))).join(" or ")} trips.`,
    s.max_duration === undefined
      ? undefined
      : `${code(`max_duration: ${formatDuration(s.max_duration)}`)}: every fault ends, and every \`within\` limit falls, before then; validation checks it.`,
  ].filter((line) => line !== undefined);
  return page([
    `## A worked example: ${code(WORKED_EXAMPLE)}`,
    `The shipped scenario, whole (\`firedrill run ${WORKED_EXAMPLE}\` drills it):`,
    fenced("yaml", text),
    "What validation makes of it, key by key:",
    bullets.map((line) => `- ${line}`).join("\n"),
  ]);
}

export function renderScenariosPage(): string {
  const root = jsonSchemaOf(scenarioSchema);
  const expect = property(root, "expect");
  const within = property(expect, "within");
  const faultItem = property(root, "faults").items?.oneOf?.[0];
  if (faultItem === undefined) throw bugError("the scenario schema has no fault");
  const common = keyRows(faultItem, "fault", {
    skip: Object.keys(FAULTS[0].params.shape),
    types: { type: "a fault type below", for: "duration, > 0s" },
    presence: { type: "**required**", for: "see each fault" },
  });
  const faults = faultSections();
  const steady = probeSections(jsonSchemaOf(steadyStateProbe), "###");
  const abort = probeSections(jsonSchemaOf(abortCondition), "###");

  return page([
    generatedNotice(
      "the schemas in harness/runner/scenario.ts, harness/runner/probes.ts and harness/faults/, and the standard events",
    ),
    "# Scenario files",
    "A scenario is a YAML file that says what to break, when, what must hold before and after, and which alerts of the system under test mark detection, response and mitigation. `firedrill validate <file>` checks one without running anything; `firedrill run <file>` drills it. A scenario is validated in full, against `scenarios/systems-map.yml` too, before anything runs; a problem reads `file:line field: what is wrong (FDxxx)` and exits 2.",
    `Shipped scenarios are in \`scenarios/\`; [\`bcp.md\`](bcp.md) says which part of the BCP each one drills. ${link(`A worked example: ${code(WORKED_EXAMPLE)}`, "The last section")} walks through one.`,
    `## ${HEADINGS.keys}`,
    keyTable(
      keyRows(root, "scenario", {
        types: {
          steady_state: `list of ${link(HEADINGS.steady, "steady-state probes")}, at least 1`,
          abort_if: `list of ${link(HEADINGS.abort, "abort conditions")}`,
          faults: `list of ${link(HEADINGS.faults, "faults")}, at least 1`,
          expect: `mapping, ${link(HEADINGS.expect, "below")}`,
          max_duration: link(HEADINGS.durations, "duration"),
        },
      }),
    ),
    `### ${HEADINGS.expect}`,
    keyTable(
      keyRows(expect, "expect", {
        types: { within: `mapping, ${link(HEADINGS.within, "below")}` },
      }),
    ),
    `Event names are UPPER_SNAKE_CASE: the ${link(HEADINGS.events, "standard events")}, or names declared in \`custom_events\`. A phase is reached only by an alert received after the first injection. Phases are monotonic: an alert that reaches a later phase also reaches every earlier phase not reached yet.`,
    `### ${HEADINGS.within}`,
    keyTable(keyRows(within, "expect.within")),
    `## ${HEADINGS.durations}`,
    `A duration is a string with a unit: \`500ms\`, \`10s\`, \`15m\`, \`2h\`, \`1d\`, or a sum such as \`1h30m\`. A number without a unit is an error, and so is anything longer than ${formatDuration(MAX_DURATION_MS)}. Durations are wall-clock time of the drill: \`replay_compression\` never scales them.`,
    "## Rules across keys",
    [
      "- A fault `id` is optional; the ids given are unique.",
      "- Every system a fault acts on (listed with each fault below) must be in the blast radius of `targets`, so that the RTO the drill is judged by covers what it breaks.",
      "- Two faults of the same type on the same target (the same chain, provider, source or asset) must not overlap in time.",
      "- With `max_duration`, every fault ends by then.",
      "- No event is listed twice in one list of `expect`, and `custom_events` holds no standard event.",
    ].join("\n"),
    `## ${HEADINGS.steady}`,
    "`steady_state` lists probes that must all hold before the first fault, and all hold again, after the faults are healed, for the system to count as recovered. Each entry has a `probe` key naming its kind:",
    table(
      ["probe", "holds when"],
      steady.map((p) => [link(p.name, code(p.name)), p.description]),
    ),
    ...steady.map((p) => p.body),
    `## ${HEADINGS.abort}`,
    "`abort_if` lists safety stops, checked until the last fault ends: when one trips, every fault is healed and the run ends as `aborted` (exit 1). Each entry has a `probe` key naming its kind:",
    table(
      ["probe", "trips when"],
      abort.map((p) => [link(p.name, code(p.name)), p.description]),
    ),
    ...abort.map((p) => p.body),
    `## ${HEADINGS.faults}`,
    "Each entry of `faults` has a `type` and the parameters of that type. Every fault proves it took effect with a measurement and is healed, with proof, however the run ends. Keys every fault has:",
    keyTable(common),
    faults.summary,
    ...faults.details,
    `## ${HEADINGS.events}`,
    "Scenarios mark phases with these event names (`expect`); the system under test posts them as signed alerts ([`sut-contract.md`](sut-contract.md)). A stack may post others, which a scenario declares in `custom_events` before expecting them.",
    eventTable(),
    workedExample(),
  ]);
}
