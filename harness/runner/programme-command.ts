/**
 * `firedrill programme status|next`: the drill programme against the journals. `status`
 * prints, per scenario, when it was last drilled, its result and when it falls due (most
 * overdue first); per system, the last drill, its result and MTTR, and the resilience
 * score; and who is on rotation. `next` starts the drill that is most overdue, as an
 * unannounced drill (`drill`'s start jitter), its journal going with the others.
 *
 * Exit: 0; 1 the journal chain is broken (a journal changed or removed; `next` starts
 * nothing); 2 bad input (the programme, a journal that cannot be read or names a system the
 * map does not have); for `next`, otherwise the drill's own exit code.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../duration.ts";
import { FiredrillError, inputError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { REPORTS_DIR } from "../paths.ts";
import { overallScore, type SystemScore, systemScores } from "../report/score.ts";
import { type Journal, journalFilesIn, readJournals, verifyJournalDir } from "./journal.ts";
import {
  loadProgramme,
  onRotation,
  type Programme,
  programmeStatus,
  type ScenarioStanding,
} from "./programme.ts";
import { DRILL_START_JITTER_MS, command as runCommand } from "./run-command.ts";
import { defaultMapPath, loadSystemsMap, type SystemsMap } from "./systems-map.ts";

const USAGE = `usage: firedrill programme status [programme.yml] [--journals DIR] [--map FILE] [--at TIME] [--json]
       firedrill programme next [programme.yml] [--journals DIR] [--map FILE]
                                [--sut "<command>" | --sut-url URL] [--lab-dir DIR] [--junit FILE]
                                [--alerts alerts.yml] [--start-jitter DURATION]`;

/** Options `next` hands to the drill it starts. */
const RUN_OPTIONS = [
  "sut",
  "sut-url",
  "lab-dir",
  "junit",
  "summary",
  "alerts",
  "alerts-listen",
  "alerts-url",
] as const;

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      journals: { type: "string" },
      map: { type: "string" },
      at: { type: "string" },
      json: { type: "boolean", default: false },
      "start-jitter": { type: "string" },
      ...Object.fromEntries(RUN_OPTIONS.map((o) => [o, { type: "string" as const }])),
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/**
 * The journals of `dir` written with this systems map. Unreadable ones and those of another
 * map are `problems`; the journal chain is checked as `report --verify` checks it, and a
 * journal changed since it was written counts for nothing (`chain` names it).
 */
async function journalsOfMap(
  dir: string,
  map: SystemsMap,
): Promise<{ journals: Journal[]; problems: string[]; chain: string[] }> {
  if (!existsSync(dir)) return { journals: [], problems: [], chain: [] };
  const verified = await verifyJournalDir(dir);
  const edited = new Set(
    verified.problems.filter((p) => p.kind === "edited").map((p) => resolve(dir, p.file)),
  );
  // Unreadable journals are named once, by the read below.
  const chain = verified.problems.filter((p) => p.kind !== "unreadable").map((p) => p.message);
  const read = await readJournals(await journalFilesIn(dir));
  const journals: Journal[] = [];
  const problems = read.errors.map((e) => e.message);
  for (const { file, journal } of read.journals) {
    if (edited.has(resolve(file))) continue;
    const foreign = journal.systems.touched.filter((s) => !map.systems.has(s.name)).map((s) => s.name);
    if (foreign.length > 0)
      problems.push(
        `${file}: names ${foreign.join(", ")}, which ${map.file} does not list (written with another systems map?)`,
      );
    else journals.push(journal);
  }
  return { journals, problems, chain };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
const ago = (ms: number) => formatDuration(Math.round(ms / 3_600_000) * 3_600_000 || 60_000);

function dueText(s: ScenarioStanding, nowMs: number): string {
  if (s.dueAtMs === null) return "OVERDUE (never drilled)";
  if (s.state === "overdue") return `OVERDUE by ${ago(nowMs - s.dueAtMs)}`;
  return `${s.state === "due" ? "due" : "ok"}, in ${ago(s.dueAtMs - nowMs)}`;
}

function statusLines(
  programme: Programme,
  standings: ScenarioStanding[],
  scores: SystemScore[],
  nowMs: number,
): string[] {
  const overdue = standings.filter((s) => s.state === "overdue").length;
  const due = standings.filter((s) => s.state === "due").length;
  const rotation = onRotation(programme, nowMs);
  const overall = overallScore(scores);
  const lines = [
    `programme ${programme.file} at ${day(nowMs)} UTC: ${overdue} overdue, ${due} due soon, ${standings.length - overdue - due} ok` +
      (rotation
        ? `; on rotation: ${rotation.person} until ${day(rotation.untilMs).slice(0, 10)}`
        : programme.rotation
          ? `; the rotation starts ${day(programme.rotation.fromMs).slice(0, 10)}`
          : ""),
    `resilience score ${overall === null ? "-" : overall.toFixed(1)}/100 over ${scores.length} systems (tier-weighted; each system's latest drill, a pass 100 and a failure 50, losing 25% every 30 days)`,
    "",
  ];
  const width = Math.max(8, ...standings.map((s) => s.name.length));
  lines.push(
    `${"scenario".padEnd(width)}  tier  cadence    last drilled      result       due`,
    ...standings.map(
      (s) =>
        `${s.name.padEnd(width)}  ${String(s.tier).padEnd(4)}  ${s.cadence.padEnd(9)}  ${(s.last ? day(Date.parse(s.last.at)) : "never").padEnd(16)}  ${(s.last ? (s.last.passed ? "passed" : s.last.status === "completed" ? "failed" : s.last.status) : "-").padEnd(11)}  ${dueText(s, nowMs)}`,
    ),
    "",
  );
  const sw = Math.max(6, ...scores.map((s) => s.name.length));
  const bw = Math.max(2, ...scores.map((s) => s.last?.scenario.length ?? 1));
  lines.push(
    `${"system".padEnd(sw)}  tier  score  last drilled      ${"by".padEnd(bw)}  result  MTTR`,
    ...scores.map(
      (s) =>
        `${s.name.padEnd(sw)}  ${String(s.tier).padEnd(4)}  ${s.score.toFixed(1).padStart(5)}  ${(s.last ? day(Date.parse(s.last.at)) : "never").padEnd(16)}  ${(s.last?.scenario ?? "-").padEnd(bw)}  ${(s.last ? (s.last.passed ? "passed" : "failed") : "-").padEnd(6)}  ${s.last?.mttr_ms == null ? "-" : formatDuration(s.last.mttr_ms)}`,
    ),
  );
  return lines;
}

export async function command(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args);
  const [sub, file = "programme.yml", ...extra] = positionals;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (sub === undefined) throw usageError(`status or next?\n${USAGE}`);
  if (sub !== "status" && sub !== "next") throw usageError(`unknown programme command "${sub}"\n${USAGE}`);
  if (extra.length > 0) throw usageError(`one programme file at a time, got ${[file, ...extra].join(" ")}`);
  if (!existsSync(file)) throw inputError("FD200", { file }, "no such file (give the programme file)");
  const nowMs = values.at === undefined ? Date.now() : Date.parse(values.at);
  if (!Number.isFinite(nowMs))
    throw usageError(`--at: expected a time such as 2026-12-03T12:00:00Z, got "${values.at}"`);
  const map = loadSystemsMap(values.map ?? defaultMapPath());
  const programme = loadProgramme(file, map);
  const dir = resolve(values.journals ?? REPORTS_DIR);
  const { journals, problems, chain } = await journalsOfMap(dir, map);
  const standings = programmeStatus(programme, journals, nowMs);
  const scores = systemScores(
    journals,
    nowMs,
    [...map.systems].map(([name, s]) => ({ name, tier: s.tier })),
  );
  for (const problem of problems) io.err(`programme: ${problem}`);
  for (const problem of chain) io.err(`programme: journal chain of ${dir}: ${problem}`);

  if (sub === "status") {
    if (values.json)
      io.out(
        JSON.stringify(
          {
            at: new Date(nowMs).toISOString(),
            score: overallScore(scores),
            scenarios: standings,
            systems: scores,
            rotation: onRotation(programme, nowMs) ?? null,
          },
          null,
          2,
        ),
      );
    else for (const line of statusLines(programme, standings, scores, nowMs)) io.out(line);
    // As `report --verify`: a journal changed or removed is exit 1.
    return problems.length > 0 ? 2 : chain.length > 0 ? 1 : 0;
  }

  // next: nothing starts on journals that could not all be read, or on a broken chain.
  if (problems.length > 0)
    throw new FiredrillError(
      "FD234",
      `programme next: ${problems.length} journal(s) could not be used; nothing started`,
    );
  if (chain.length > 0) {
    io.err(`programme next: the journal chain of ${dir} is broken; nothing started`);
    return 1;
  }
  const pick = standings[0];
  if (pick === undefined || pick.state !== "overdue") {
    io.out(
      pick === undefined
        ? "programme next: the programme has no scenario"
        : `programme next: nothing is overdue; next due: ${pick.name} in ${ago(pick.dueAtMs! - nowMs)}`,
    );
    return 0;
  }
  io.out(`programme next: ${pick.name} (tier ${pick.tier}), ${dueText(pick, nowMs)}`);
  const given = values as Record<string, string | boolean | undefined>;
  const forwarded = RUN_OPTIONS.flatMap((o) =>
    typeof given[o] === "string" ? [`--${o}`, given[o] as string] : [],
  );
  return runCommand(
    [
      pick.file,
      "--journal-dir",
      dir,
      "--map",
      map.file,
      "--start-jitter",
      values["start-jitter"] ?? formatDuration(DRILL_START_JITTER_MS),
      ...forwarded,
    ],
    io,
  );
}
