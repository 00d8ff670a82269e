/**
 * `firedrill gameday`: an unannounced drill run with people. The first injection pages the
 * first responder of team.yml (escalating down the list when nobody acknowledges); they
 * work the incident in the incident room (or with `firedrill gameday ack|assess|...` from a
 * terminal); the drill judges their steps against the playbook's limits beside the
 * automated verdicts, and writes a post-mortem draft when a target was missed.
 */
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { durationProblem, formatDuration, parseDuration } from "../duration.ts";
import { FiredrillError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { ROOM_FILE, SCENARIOS_DIR } from "../paths.ts";
import { postmortemMarkdown } from "../report/postmortem.ts";
import { type Kpis, loadKpis } from "../runner/kpis.ts";
import type { RunResult } from "../runner/run.ts";
import {
  alertsEndpoint,
  DRILL_START_JITTER_MS,
  labChoice,
  OPTIONS,
  pickShipped,
  runAll,
  startJitter,
  sutChoice,
  wholeNumber,
} from "../runner/run-command.ts";
import { loadScenario, type Scenario } from "../runner/scenario.ts";
import { defaultMapPath, loadSystemsMap } from "../runner/systems-map.ts";
import { GamedayPeople, type HumanLimits } from "./gameday.ts";
import type { RoomListen } from "./room.ts";
import { type StepCommand, stepCommand } from "./step-command.ts";
import { consoleTeam, loadTeam } from "./team.ts";

const USAGE = `usage: firedrill gameday [scenario.yml] [--team team.yml] [--blind] [--listen HOST:PORT] [--wait DURATION]
                         [--postmortem] [--kpis kpis.yml] [--room-file FILE] [--seed N] [--tier N] [--journal-dir DIR] [--junit FILE]
                         [--sut "<command>" | --sut-url URL] [--start-jitter DURATION]
       firedrill gameday ack|assess|communicate|update|mitigate|resolve --room URL --as NAME [--note TEXT] ...
         (firedrill gameday communicate --help for the incident alert's fields)`;

const GAMEDAY_OPTIONS = {
  ...OPTIONS,
  team: { type: "string" },
  blind: { type: "boolean", default: false },
  listen: { type: "string" },
  wait: { type: "string" },
  postmortem: { type: "boolean", default: false },
  kpis: { type: "string" },
  "room-file": { type: "string" },
} as const;

/** How long a GameDay waits after the recovery for a responder to mark the incident resolved, unless told. */
const DEFAULT_WAIT_MS = 30 * 60_000;
const MAX_WAIT_MS = 24 * 60 * 60_000;

const DEFAULT_TARGETS = {
  acknowledge: 5 * 60_000,
  assessment: 2 * 60_000,
  communication: 5 * 60_000,
  updates_every: 30 * 60_000,
  mttr: 15 * 60_000,
};

/** `firedrill gameday`. */
export async function command(args: string[], io: Io): Promise<number> {
  const [first] = args;
  if (first !== undefined && /^(ack|acknowledge|assess|communicate|update|mitigate|resolve)$/.test(first))
    return stepCommand(first as StepCommand, args.slice(1), io);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw usageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw usageError(`gameday runs one scenario\n${USAGE}`);
  if (values.parallel !== undefined) throw usageError("gameday runs one scenario: --parallel is for run");
  // Everything is checked before anything starts.
  const seed = wholeNumber("seed", values.seed) ?? Math.floor(Math.random() * 2 ** 31);
  const tier = wholeNumber("tier", values.tier, 9);
  const jitter = startJitter(values["start-jitter"], DRILL_START_JITTER_MS);
  const listen = roomListen(values.listen);
  const waitMs = waitOption(values.wait);
  const map = loadSystemsMap(values.map ?? defaultMapPath(positionals[0]));
  const lab = labChoice(values);
  const team = values.team === undefined ? consoleTeam() : loadTeam(values.team);
  const kpis = loadKpis(values.kpis ?? join(SCENARIOS_DIR, "kpis.yml"), map);
  sutChoice(values);
  alertsEndpoint(values);
  const scenario =
    positionals[0] !== undefined
      ? loadScenario(positionals[0], map, lab.chains)
      : pickShipped(map, lab, seed, tier);
  if (positionals[0] !== undefined && tier !== undefined)
    throw usageError("--tier picks among the shipped scenarios: give a scenario or a tier, not both");
  const limits = humanLimits(kpis, scenario);
  io.out(
    values.blind
      ? `firedrill gameday: seed ${seed}; the scenario stays hidden until the end`
      : `firedrill gameday: seed ${seed}: ${scenario.name} (tier ${scenario.tier})`,
  );
  io.out(
    `  team: ${team.responders.map((r) => `${r.name} (${r.role}, ${r.page.kind})`).join(", ")}; limits: acknowledge ${formatDuration(limits.acknowledge)}, assessment ${formatDuration(limits.assessment)}, incident alert ${formatDuration(limits.communication)}, updates every ${formatDuration(limits.updatesEvery)}`,
  );
  if (listen.explicit && !/^(127\.|::1$|localhost$)/.test(listen.host))
    io.err(`firedrill: the incident room listens on ${listen.host}: its token is all that keeps others out`);
  const mttr = kpis.response_targets?.mttr ?? DEFAULT_TARGETS.mttr;
  return runAll([scenario], map, values, io, seed, jitter, lab, 1, {
    people: () =>
      new GamedayPeople({
        team,
        limits,
        blind: values.blind,
        listen,
        waitMs,
        postmortem: values.postmortem,
        mttrTargetMs: mttr,
        log: (line) => io.err(`  ${line}`),
        roomFile: resolve(values["room-file"] ?? ROOM_FILE),
      }),
    after: writePostmortem,
  });
}

function parse(args: string[]) {
  return parseArgs({ args, options: GAMEDAY_OPTIONS, allowPositionals: true, strict: true });
}

/** The limits the people are held to: the KPI file's response targets, scaled only when it says so. */
export function humanLimits(kpis: Kpis, scenario: Scenario): HumanLimits {
  const t = { ...DEFAULT_TARGETS, ...kpis.response_targets };
  const scale = kpis.response_targets?.scale_with_replay_compression ? scenario.replay_compression : 1;
  return {
    acknowledge: t.acknowledge / scale,
    assessment: t.assessment / scale,
    communication: t.communication / scale,
    updatesEvery: t.updates_every / scale,
  };
}

/** `--listen HOST:PORT`: where the room listens; loopback on a free port without it. */
export function roomListen(text: string | undefined): RoomListen {
  if (text === undefined) return { host: "127.0.0.1", port: 0, explicit: false };
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port > 65_535)
    throw usageError(`--listen: expected HOST:PORT (e.g. 0.0.0.0:9800), got "${text}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port, explicit: true };
}

function waitOption(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS;
  const problem = durationProblem(text);
  if (problem !== undefined) throw usageError(`--wait: ${problem}`);
  const ms = parseDuration(text);
  if (ms > MAX_WAIT_MS) throw usageError(`--wait: at most ${formatDuration(MAX_WAIT_MS)}, got ${text}`);
  return ms;
}

/** Writes the post-mortem draft the journal names, next to it. */
function writePostmortem(result: RunResult, io: Io): void {
  const name = result.journal.gameday?.postmortem;
  if (!name) return;
  const file = join(dirname(result.path), name);
  try {
    writeFileSync(file, postmortemMarkdown(result.journal));
  } catch (error) {
    throw new FiredrillError("FD511", `could not write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  io.out(`  post-mortem draft ${file}`);
}
