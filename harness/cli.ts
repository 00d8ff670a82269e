/**
 * `firedrill <verb>`: parses the verb, calls one module, maps errors to exit codes.
 * Every verb module exports `command(args, io)` and returns an exit status.
 */
import { type ErrorCode, exitCodeFor, FiredrillError } from "./errors.ts";
import { type Io, processIo } from "./io.ts";

export type Command = (args: string[], io: Io) => Promise<number>;

const VERBS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  drill: {
    summary: "drill [--seed N] [--tier N]: an unannounced fire drill, a scenario picked at random",
    load: () => import("./runner/drill-command.ts"),
  },
  run: {
    summary:
      "run <scenario.yml...> [--junit FILE] [--sut CMD | --sut-url URL]: drill scenarios, gate on verdicts",
    load: () => import("./runner/run-command.ts"),
  },
  lab: {
    summary: "lab up | status | env | down: the local chains, oracles, regulator and proxies",
    load: () => import("./lab/command.ts"),
  },
  validate: {
    summary: "validate <files...>: check scenarios, systems maps and KPI files",
    load: () => import("./runner/validate-command.ts"),
  },
  alerts: {
    summary:
      "alerts check <alerts.yml> <payload.json> --format F: what a monitor's delivery becomes in a drill",
    load: () => import("./runner/alerts-command.ts"),
  },
  gameday: {
    summary:
      "gameday [scenario.yml] [--team team.yml] [--blind]: a drill with people: pages, an incident room, human verdicts",
    load: () => import("./gameday/command.ts"),
  },
  programme: {
    summary: "programme status|next [programme.yml]: what is due and overdue, the resilience score",
    load: () => import("./runner/programme-command.ts"),
  },
  map: {
    summary: "map [--check] [--json]: tiers, RTOs and the blast radius of every system",
    load: () => import("./runner/map-command.ts"),
  },
  report: {
    summary:
      "report <journal|dir...> [--format html,pdf,md,junit,json,postmortem] [--out dir] [--verify dir]",
    load: () => import("./report/command.ts"),
  },
  load: {
    summary: "load [--profile P] [--engine k6|embedded] [--target URL]: mint/redeem load against budgets",
    load: () => import("./loadgen/command.ts"),
  },
  stack: {
    summary: "stack serve: the reference monitoring stack (the default system under test)",
    load: () => import("./stack/command.ts"),
  },
  assess: {
    summary: "assess [--json]: the emergency assessment screen of a running lab and stack",
    load: () => import("./stack/assess-command.ts"),
  },
  proxy: {
    summary: "proxy serve: the embedded Toxiproxy-compatible server",
    load: () => import("./proxy/command.ts"),
  },
};

const USAGE = [
  "usage: firedrill <verb> [options]   (--debug shows stack traces, --help on any verb)",
  "",
  ...Object.entries(VERBS).map(([verb, { summary }]) => `  ${verb.padEnd(9)} ${summary}`),
  "",
  "exit: 0 every verdict passed, 1 a verdict failed, 2 bad input, 3 the lab or the system under test",
  "      could not be brought up, 4 firedrill itself failed (a bug, or it could not write its journal",
  "      or reports), 130 interrupted; error codes: docs/errors.md",
];

/** An error without a code is one firedrill did not expect: a bug. */
const UNEXPECTED: ErrorCode = "FD500";

/** Runs the CLI and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const args = argv.filter((a) => a !== "--debug");
  const io = processIo(debug);
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    for (const line of USAGE) io.out(line);
    return verb === undefined ? 2 : 0;
  }
  const entry = VERBS[verb];
  if (entry === undefined) {
    io.err(`firedrill: unknown verb "${verb}" (FD100)`);
    for (const line of USAGE) io.err(line);
    return 2;
  }
  try {
    const { command } = await entry.load();
    return await command(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

/** Prints an error as one line (plus child output where there is some) and returns its exit status. */
export function reportError(error: unknown, io: Io): number {
  if (error instanceof FiredrillError) {
    io.err(`firedrill: ${error.message} (${error.code})`);
    for (const line of error.details) io.err(`  | ${line}`);
    if (io.debug && error.stack) io.err(error.stack);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(
    `firedrill: internal error: ${message} (${UNEXPECTED})${io.debug ? "" : " (run with --debug for the stack trace)"}`,
  );
  if (io.debug && error instanceof Error && error.stack) io.err(error.stack);
  return exitCodeFor(UNEXPECTED);
}
