/**
 * One error type for everything firedrill reports to a user, and the catalogue of its codes.
 * A code is stable (it can be searched for in docs/errors.md and in CI logs) and belongs to
 * a family, its first digit, which picks the exit status:
 *   FD1xx usage                                              -> exit 2
 *   FD2xx input files and schemas                            -> exit 2
 *   FD3xx the lab or a system under test could not be brought up -> exit 3
 *   FD4xx a verdict                                          -> exit 1
 *   FD5xx firedrill's own failure: a bug, or it could not write its journal or reports -> exit 4
 * A FiredrillError can only be made with a code of the catalogue (`ErrorCode`).
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;

interface Family {
  prefix: string;
  exit: ExitCode;
  title: string;
  meaning: string;
}

export const FAMILIES = {
  usage: {
    prefix: "FD1",
    exit: 2,
    title: "Usage",
    meaning: "the command line, or a call into firedrill's library, is wrong",
  },
  input: {
    prefix: "FD2",
    exit: 2,
    title: "Input files and schemas",
    meaning:
      "a scenario, systems map, KPI file, load profile, journal or SUT setting is wrong; the message names the file, line and field",
  },
  lab: {
    prefix: "FD3",
    exit: 3,
    title: "Lab and system under test",
    meaning: "the lab or a system under test could not be brought up, or failed underneath a drill",
  },
  verdict: {
    prefix: "FD4",
    exit: 1,
    title: "Verdicts",
    meaning:
      "a check that firedrill was asked to make failed; a failed drill verdict (RTO, phase limit, budget, invariant) is not an error: `run` and `drill` exit 1 and the journal says which verdict failed",
  },
  internal: {
    prefix: "FD5",
    exit: 4,
    title: "firedrill's own failures",
    meaning: "a bug in firedrill, or it could not write its own journal or reports",
  },
} as const satisfies Record<string, Family>;

export type FamilyName = keyof typeof FAMILIES;

interface Entry {
  family: FamilyName;
  exit: ExitCode;
  /** What the code means, in a few words. */
  title: string;
  /** Where it comes from: the commands and inputs that raise it. */
  from: string;
}

/** Every error code firedrill uses. Add a code here before using it; never reuse a retired one. */
export const CATALOGUE = {
  FD100: {
    family: "usage",
    exit: 2,
    title: "bad command line",
    from: "every verb: an unknown verb or option, a missing, malformed or conflicting argument",
  },
  FD101: {
    family: "usage",
    exit: 2,
    title: "not a journal",
    from: "the chai plugin (harness/assert): an assertion such as `meetRto` on a value that is not a journal read with `readJournal()`",
  },
  FD200: {
    family: "input",
    exit: 2,
    title: "file cannot be read",
    from: "run, drill, validate, map, alerts, programme: a scenario, systems map, KPI file, alert mapping, programme or payload that is missing, a directory or unreadable",
  },
  FD201: {
    family: "input",
    exit: 2,
    title: "wrong type or value",
    from: "scenarios, systems maps, KPI files, alert mappings: a value the schema refuses (type, allowed values, format, bounds, an unknown key, an empty file)",
  },
  FD202: {
    family: "input",
    exit: 2,
    title: "YAML syntax error",
    from: "every YAML input",
  },
  FD203: {
    family: "input",
    exit: 2,
    title: "not a duration",
    from: "every duration field and option: a number without a unit, an unknown unit, an empty string",
  },
  FD204: {
    family: "input",
    exit: 2,
    title: "unknown system or tier",
    from: "scenario targets and faults, KPI detectors, alert-mapping rules, systems-map dependencies and tiers, programme tiers and scenarios: a name the systems map (or the programme) does not define; a scenario with no target",
  },
  FD205: {
    family: "input",
    exit: 2,
    title: "dependency cycle",
    from: "systems maps: a system that depends on itself, directly or through others",
  },
  FD206: {
    family: "input",
    exit: 2,
    title: "past `max_duration`",
    from: "scenarios: a fault or a phase limit that ends after the scenario's `max_duration`",
  },
  FD207: {
    family: "input",
    exit: 2,
    title: "listed twice",
    from: "scenarios, systems maps, validate: a target, fault id, event or dependency listed twice, a scenario name used by two files",
  },
  FD208: {
    family: "input",
    exit: 2,
    title: "unknown event",
    from: "scenario expect lists, alert-mapping rules: an event that is neither a standard one nor declared in `custom_events`",
  },
  FD209: {
    family: "input",
    exit: 2,
    title: "unknown fault type",
    from: "scenario faults: a type that no fault defines",
  },
  FD210: {
    family: "input",
    exit: 2,
    title: "value out of range or at odds with another",
    from: "fault parameters, tier RTOs, early warnings, phase limits, a programme tier with no cadence; the SUT environment (`FIREDRILL_*`) of the reference stack",
  },
  FD211: {
    family: "input",
    exit: 2,
    title: "`lab.json` cannot be read",
    from: "the reference stack and assess: the `lab.json` named by `FIREDRILL_LAB` is unreadable or has no chains",
  },
  FD212: {
    family: "input",
    exit: 2,
    title: "not a local development node",
    from: "faults on a fork, `--lab-dir`: a node that is not on this machine or does not answer `anvil_nodeInfo`; nothing that could change state is sent to it",
  },
  FD213: {
    family: "input",
    exit: 2,
    title: "address book entry does not match the chain",
    from: "`deployment.yml` checked against a fork: an address with no code, a proxy with no `aggregator()`, a pair the proxy does not serve",
  },
  FD220: {
    family: "input",
    exit: 2,
    title: "unknown load profile",
    from: "load, run: a profile name or file that does not exist",
  },
  FD221: {
    family: "input",
    exit: 2,
    title: "load profile is not JSON",
    from: "load, run: a profile file that does not parse",
  },
  FD222: {
    family: "input",
    exit: 2,
    title: "invalid load profile",
    from: "load, run: a profile that its schema refuses, or one with no scenario",
  },
  FD223: {
    family: "input",
    exit: 2,
    title: "invalid load threshold",
    from: "load, run: a threshold expression of a profile that k6 would refuse",
  },
  FD224: {
    family: "input",
    exit: 2,
    title: "k6 refused the profile",
    from: "`load --engine k6`: k6 rejected the options made from the profile",
  },
  FD230: {
    family: "input",
    exit: 2,
    title: "journal is not JSON",
    from: "report, readJournal(): a journal file that does not parse",
  },
  FD231: {
    family: "input",
    exit: 2,
    title: "journal is truncated",
    from: "report, readJournal(): a journal whose JSON ends early",
  },
  FD232: {
    family: "input",
    exit: 2,
    title: "journal from a newer firedrill",
    from: "report, readJournal(): a journal format version newer than this firedrill reads",
  },
  FD233: {
    family: "input",
    exit: 2,
    title: "not a firedrill journal",
    from: "report, readJournal(): JSON that the journal schema refuses",
  },
  FD234: {
    family: "input",
    exit: 2,
    title: "journal cannot be read",
    from: "report, programme: a journal file or directory that is missing or unreadable; `--verify` on something that is not a directory; `programme next` over journals it could not all use",
  },
  FD235: {
    family: "input",
    exit: 2,
    title: "journal chain head is damaged",
    from: "run, drill: the journal directory's `HEAD.journal-chain` is not what firedrill wrote, so the next journal cannot be chained",
  },
  FD236: {
    family: "input",
    exit: 2,
    title: "journal id already used",
    from: "run, drill: the journal directory already holds a journal with the same id (start time, scenario and seed)",
  },
  FD237: {
    family: "input",
    exit: 2,
    title: "alert payload not of its format",
    from: "alerts check: a payload file that is not JSON, or not a delivery of the format named by `--format`",
  },
  FD238: {
    family: "input",
    exit: 2,
    title: "team file is not valid",
    from: "gameday: a team.yml with a missing responder, an unknown role, a page that names no channel, or an environment variable it names (`$NAME` in braces) that is not set",
  },
  FD239: {
    family: "input",
    exit: 2,
    title: "incident room refused the step",
    from: "the gameday steps (ack, assess, communicate, update, mitigate, resolve): a wrong or missing room token (401), a step the room does not take (400), or a drill that has ended (409)",
  },
  FD300: {
    family: "lab",
    exit: 3,
    title: "lab component could not be started or reached",
    from: "lab up, run, drill, load, assess: anvil, Toxiproxy, the price sources, the regulator, the keeper, the control server or the system under test",
  },
  FD301: {
    family: "lab",
    exit: 3,
    title: "teardown failed",
    from: "lab down, run, drill: more than one step of a teardown failed; each one is listed",
  },
  FD310: {
    family: "lab",
    exit: 3,
    title: "k6 stopped before its summary",
    from: "`load --engine k6`: k6 was stopped before it wrote its summary",
  },
  FD311: {
    family: "lab",
    exit: 3,
    title: "k6 failed",
    from: "`load --engine k6`: k6 exited with an error of its own (not a threshold)",
  },
  FD320: {
    family: "lab",
    exit: 3,
    title: "fault could not be injected",
    from: "run, drill: the lab or the system under test lacks what a fault needs (the ops gateway, user accounts, a sequencer uptime feed)",
  },
  FD321: {
    family: "lab",
    exit: 3,
    title: "incident room unreachable",
    from: "the gameday steps (ack, assess, communicate, update, mitigate, resolve): nothing answers at the room's address (the drill ended or the address is wrong)",
  },
  FD330: {
    family: "lab",
    exit: 3,
    title: "journal directory locked",
    from: "run, drill: another live firedrill process held the journal directory's lock for 10 s",
  },
  FD331: {
    family: "lab",
    exit: 3,
    title: "transaction on a fork failed",
    from: "faults on a team's contracts: a transaction firedrill sent (taking or giving back a Chainlink proxy, a sequencer status) reverted or was not mined",
  },
  FD340: {
    family: "lab",
    exit: 3,
    title: "reference stack chain operation failed",
    from: "the reference stack (`stack serve`): a transaction not mined in time, a mint held back past its deadline, the stack stopping while it waited; seen in its HTTP answers and logs",
  },
  FD440: {
    family: "verdict",
    exit: 1,
    title: "journal chain broken",
    from: "`report --verify`: a journal was edited, removed or put out of order, or the chain head changed",
  },
  FD500: {
    family: "internal",
    exit: 4,
    title: "internal error",
    from: "every verb: an error that firedrill did not expect and has no code for (a bug); `--debug` shows the stack trace",
  },
  FD501: {
    family: "internal",
    exit: 4,
    title: "internal check failed",
    from: "every verb: something firedrill's own code guarantees did not hold (a bug)",
  },
  FD502: {
    family: "internal",
    exit: 4,
    title: "journal does not match its schema",
    from: "run, drill: firedrill made a journal that its own schema refuses (a bug); nothing is written",
  },
  FD510: {
    family: "internal",
    exit: 4,
    title: "could not write the journal",
    from: "run, drill: the journal directory cannot be written (permissions, a full disk)",
  },
  FD511: {
    family: "internal",
    exit: 4,
    title: "could not write reports",
    from: "report, `run --junit/--summary`, `drill --junit`: an output file cannot be written or printed",
  },
} as const satisfies Record<`FD${number}`, Entry>;

export type ErrorCode = keyof typeof CATALOGUE;

/** True for a code of the catalogue (for codes carried through untyped data, such as zod params). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(CATALOGUE, code);
}

/** Exit status for an error code (see the families above). */
export function exitCodeFor(code: ErrorCode): ExitCode {
  return CATALOGUE[code].exit;
}

export class FiredrillError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  /** Lines of a child process's output, or other context shown under the message. */
  readonly details: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: readonly string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FiredrillError";
    this.code = code;
    this.exitCode = exitCodeFor(code);
    this.details = options.details ?? [];
  }
}

/** Bad usage of the CLI (exit 2). */
export function usageError(message: string): FiredrillError {
  return new FiredrillError("FD100", message);
}

/** An input file that is wrong at a place: `file:line field: what is wrong` (exit 2). */
export function inputError(
  code: ErrorCode,
  where: { file: string; line?: number | undefined; field?: string | undefined },
  what: string,
): FiredrillError {
  const at = where.line === undefined ? where.file : `${where.file}:${where.line}`;
  return new FiredrillError(code, `${at}${where.field ? ` ${where.field}` : ""}: ${what}`);
}

/** A component of the lab that could not be started or reached (exit 3). */
export function labError(component: string, what: string, details: readonly string[] = []): FiredrillError {
  return new FiredrillError("FD300", `${component}: ${what}`, { details });
}

/** Something firedrill's own code guarantees did not hold: a bug, said so in the message (exit 4). */
export function bugError(what: string): FiredrillError {
  return new FiredrillError("FD501", `${what} (a bug in firedrill; run with --debug and report it)`);
}

/** Collects teardown failures so that one failure never stops the rest of the teardown. */
export async function releaseAll(releases: Array<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  while (releases.length > 0) {
    const release = releases.pop()!;
    try {
      await release();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new FiredrillError("FD301", `${errors.length} teardown steps failed`, {
      cause: errors,
      details: errors.map((e) => (e instanceof Error ? e.message : String(e))),
    });
  }
}

/** A Markdown table with its columns padded, as the formatter (biome) lays them out. */
function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const escaped = rows.map((row) => row.map((cell) => cell.replaceAll("|", "\\|")));
  const widths = header.map((h, i) => Math.max(h.length, ...escaped.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...escaped.map(line)];
}

/** docs/errors.md: the families with their exit statuses, then every code. */
export function renderErrorsPage(): string {
  const lines = [
    "<!-- Generated by `npm run docs` from the catalogue in harness/errors.ts. Do not edit by hand: change the catalogue and run `npm run docs`. -->",
    "",
    "# Error codes",
    "",
    "Every error firedrill reports ends with its code, as in `firedrill: scenarios/x.yml:9 faults[0].for: ... (FD203)`.",
    "Bad input is one line, `file:line field: what is wrong`; `--debug` adds the stack trace.",
    "The first digit of a code is its family, and the family sets the exit status.",
    "",
    "## Families",
    "",
    ...markdownTable(
      ["Codes", "Family", "Exit", "Meaning"],
      Object.values(FAMILIES).map((f) => [`${f.prefix}xx`, f.title, String(f.exit), f.meaning]),
    ),
    "",
    "Other exit statuses: 0 every verdict passed, 130 interrupted (every fault healed, journal written).",
  ];
  for (const [name, family] of Object.entries(FAMILIES)) {
    const codes = Object.entries(CATALOGUE).filter(([, entry]) => entry.family === name);
    lines.push("", `## ${family.prefix}xx ${family.title} (exit ${family.exit})`, "");
    lines.push(
      ...markdownTable(
        ["Code", "Meaning", "Where it comes from"],
        codes.map(([code, entry]) => [code, entry.title, entry.from]),
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}
