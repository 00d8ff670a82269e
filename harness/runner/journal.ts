/**
 * The journal: one JSON document per run, the only input of every report. It is the
 * contract between the runner (which writes it) and the reports (which read it, maybe
 * years later), so it is versioned, validated, written atomically and tamper-evident.
 *
 * Tamper evidence: every journal carries the SHA-256 of its own canonical form (sorted
 * keys, no whitespace, without `integrity.sha256`) and the hash, file name and sequence
 * number of the journal written before it in the same directory. A `HEAD` file records
 * the last one, so that removing the newest journal is noticed too. This is evidence,
 * not proof: someone who rewrites every later journal and the head can hide an edit.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { FiredrillError, inputError } from "../errors.ts";
import { isAlive, sleep } from "../process.ts";
import { redactDeep } from "../redact.ts";

/**
 * The journal format this firedrill writes. Version 1 journals (whose `replay_compression` was called
 * `time_factor`, and which lack `lab.clock_speedup`) are still read and verified.
 */
export const JOURNAL_VERSION = 2;
/** Journal files in a directory end with this. */
export const JOURNAL_SUFFIX = ".journal.json";
/** The file recording the newest journal of a directory. */
export const HEAD_FILE = "HEAD.journal-chain";

const isoMs = z.iso.datetime({ precision: 3 });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits");
const ms = z.number().nonnegative();
const details = z.record(z.string(), z.unknown());
const tier = z.number().int().positive();

export const EVENT_KINDS = [
  "fault.injected",
  "fault.healed",
  "fault.proof",
  "alert.received",
  /** An authentic alert from a team's own monitoring that maps onto no event: counted for nothing. */
  "alert.unmapped",
  "phase.reached",
  "probe.ok",
  "probe.failed",
  "load.started",
  "load.ended",
  "note",
  /** GameDay: a page, an escalation, the incident alert or an update went out to a responder or channel. */
  "page.sent",
  /** GameDay: a page could not be delivered (after its retries). */
  "page.failed",
  /** GameDay: a responder's step, from the incident room or its terminal commands. */
  "human.acknowledged",
  "human.assessed",
  "human.communicated",
  "human.updated",
  "human.mitigated",
  "human.resolved",
] as const;

/** The steps a responder records during a GameDay, in the playbook's order. */
export const HUMAN_STEPS = [
  "acknowledged",
  "assessed",
  "communicated",
  "updated",
  "mitigated",
  "resolved",
] as const;
export type HumanStep = (typeof HUMAN_STEPS)[number];

export const PHASES = ["detection", "response", "mitigation", "recovery"] as const;

export const TimelineEventSchema = z.object({
  /** Wall-clock time of the event. */
  at: isoMs,
  /** Milliseconds since the first injection; negative before it (steady state, load start). */
  t_ms: z.number(),
  kind: z.enum(EVENT_KINDS),
  /** Short human text, e.g. `oracle_outage on chainlink injected`. */
  summary: z.string(),
  /** Index into `faults` for fault.* events. */
  fault: z.number().int().nonnegative().optional(),
  /** Alert event name (`ORACLE_STALE`), probe name or phase name. */
  name: z.string().optional(),
  severity: z.enum(["critical", "high", "medium", "low"]).optional(),
  system: z.string().optional(),
  chain: z.string().optional(),
  /** GameDay: the responder who did a `human.*` step, or to whom a `page.*` went. */
  who: z.string().optional(),
  details: details.optional(),
});

export const FaultRecordSchema = z.object({
  /** The fault's `id` in the scenario, when it has one. */
  id: z.string().optional(),
  type: z.string(),
  params: details,
  /** The fault's own `describe()`. */
  description: z.string(),
  /** Schedule from the scenario, in lab milliseconds after the start of the fault window. */
  scheduled_at_ms: ms,
  scheduled_for_ms: ms.nullable(),
  injected_at: isoMs.nullable(),
  healed_at: isoMs.nullable(),
  /** What was observed to show the fault took effect (the next base fee, the proxy refusing...). */
  proof: z
    .object({
      ok: z.boolean(),
      at: isoMs,
      summary: z.string(),
      observed: details,
    })
    .nullable(),
});

export const VerdictSchema = z.object({
  name: z.string(),
  kind: z.enum(["rto", "phase", "invariant", "budget", "steady_state", "human"]),
  passed: z.boolean(),
  reason: z.string(),
  /** The limit as a number in `unit`, or a text for qualitative limits; null when none. */
  limit: z.union([z.number(), z.string()]).nullable(),
  measured: z.union([z.number(), z.string()]).nullable(),
  unit: z.string().optional(),
});

export const InvariantSchema = z.object({
  name: z.string(),
  passed: z.boolean(),
  detail: z.string(),
  observed: details.optional(),
});

export const LoadScenarioSchema = z.object({
  /** k6 scenario name, e.g. `mint`, `redeem`. */
  name: z.string(),
  requests: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  rps: z.number().nonnegative(),
  success_rate: z.number().min(0).max(1),
  p50_ms: ms,
  p95_ms: ms,
  p99_ms: ms,
  max_ms: ms,
  budgets: z.array(
    z.object({
      /** e.g. `p95_ms`, `success_rate`. */
      metric: z.string(),
      /** k6 threshold expression, e.g. `p(95)<30000`. */
      threshold: z.string(),
      limit: z.number(),
      measured: z.number(),
      passed: z.boolean(),
    }),
  ),
  /** Latency histogram: `counts[i]` requests took less than `bounds_ms[i]` (and at least the bound before); the last count is above the last bound. */
  histogram: z
    .object({ bounds_ms: z.array(ms), counts: z.array(z.number().int().nonnegative()) })
    .refine(
      (h) => h.counts.length === h.bounds_ms.length + 1,
      "counts must have one more entry than bounds_ms",
    ),
});

export const LoadSummarySchema = z.object({
  profile: z.string(),
  engine: z.enum(["k6", "embedded"]),
  started_at: isoMs,
  ended_at: isoMs,
  scenarios: z.array(LoadScenarioSchema),
});

export const KpiSchema = z.object({
  name: z.string(),
  value: z.number().nullable(),
  unit: z.string(),
  /** `threshold` is an alert level, `target` an objective. */
  kind: z.enum(["threshold", "target"]),
  limit: z.number(),
  /** How the value must compare with the limit to be fine. */
  direction: z.enum(["at_least", "at_most"]),
  ok: z.boolean().nullable(),
  description: z.string().optional(),
});

export const IntegritySchema = z.object({
  algorithm: z.literal("sha256"),
  /** SHA-256 of the canonical journal without this field. */
  sha256: sha256Hex,
  /** Position in the directory's chain, from 1. */
  sequence: z.number().int().positive(),
  /** The journal before this one in the same directory; null for the first. */
  previous: z
    .object({ file: z.string(), sha256: sha256Hex, sequence: z.number().int().positive() })
    .nullable(),
});

const sent = z.object({ at: isoMs, by: z.string(), text: z.string() });

export const GamedaySchema = z.object({
  /** The responders, in escalation order. */
  team: z.array(z.object({ name: z.string(), role: z.enum(["incident_lead", "communications", "on_call"]) })),
  /** True when the scenario's name was kept from the responders until the end. */
  blind: z.boolean(),
  /** The incident room's address (without its token); null when none was served. */
  room: z.string().nullable(),
  /** When the first page went out: the human limits count from it. */
  paged_at: isoMs.nullable(),
  /** The incident alert as a responder sent it; null when none was sent. */
  incident_alert: sent.nullable(),
  /** The status updates, in order. */
  updates: z.array(sent),
  /** The responder's resolution note; null when nobody marked the incident resolved. */
  resolution: sent.nullable(),
  /** The limits the human verdicts used, ms (after any scaling by the replay compression). */
  limits_ms: z.object({
    acknowledge: ms,
    assessment: ms,
    communication: ms,
    updates_every: ms,
  }),
  /** The post-mortem draft written next to the journal; null when none was. */
  postmortem: z.string().nullable(),
});

const journalShape = {
  version: z.literal([1, JOURNAL_VERSION]),
  /** Unique, sortable, file-name safe: `20261125T225610123Z-oracle-failure-s42`. */
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  scenario: z.object({
    name: z.string(),
    /** Path of the scenario file, relative to the project. */
    file: z.string(),
    /** SHA-256 of the scenario file's bytes. */
    sha256: sha256Hex,
    description: z.string(),
    targets: z.array(z.string()),
    /** The tightest tier among the targets. */
    tier,
  }),
  seed: z.number().int(),
  /** Seconds of the real incident one drill second stands for (1 = not a compressed replay). */
  replay_compression: z.number().positive(),
  /**
   * The delay drawn from the seed between the steady state and the first injection, and
   * the most it could have been; absent or null when the run had none.
   */
  start_jitter: z.object({ max_ms: ms, drawn_ms: ms }).nullable().optional(),
  status: z.enum(["completed", "failed", "aborted", "interrupted"]),
  /** True when the steady state did not hold again after the faults were healed. */
  deviated: z.boolean(),
  started_at: isoMs,
  ended_at: isoMs,
  /** Wall-clock time of the first injection; null when no fault was injected. */
  first_injection_at: isoMs.nullable(),
  versions: z.object({
    firedrill: z.string(),
    node: z.string(),
    anvil: z.string(),
    toxiproxy: z.object({ kind: z.enum(["embedded", "real"]), version: z.string() }),
    k6: z.string().nullable(),
    stack: z.object({ name: z.string(), version: z.string() }),
  }),
  lab: z.object({
    chains: z.array(
      z.object({
        name: z.string(),
        chain_id: z.number().int(),
        block_time_ms: ms,
        providers: z.array(z.string()),
        fork: z.string().nullable(),
      }),
    ),
    sources: z.array(z.string()),
    /** How many times faster than real time the lab's feed heartbeats ran; absent before version 2. */
    clock_speedup: z.number().positive().nullable().optional(),
  }),
  systems: z.object({
    touched: z.array(
      z.object({
        name: z.string(),
        tier,
        rto_seconds: z.number().positive(),
        /** `target` when the scenario names it, `dependent` when it depends on a target (blast radius). */
        via: z.enum(["target", "dependent"]),
      }),
    ),
    /** The RTO that applied: the tightest among the systems touched. */
    rto_seconds: z.number().positive(),
    /** The system whose RTO applied. */
    rto_system: z.string(),
  }),
  timeline: z.array(TimelineEventSchema),
  faults: z.array(FaultRecordSchema),
  /** Milliseconds from the first injection until each phase was reached; null when it was not. */
  phases: z.object({
    detection_ms: ms.nullable(),
    response_ms: ms.nullable(),
    mitigation_ms: ms.nullable(),
    recovery_ms: ms.nullable(),
  }),
  /** Phase limits from the scenario's `within`, in milliseconds; null when the RTO alone applies. */
  phase_limits_ms: z.object({
    detection: ms.nullable(),
    response: ms.nullable(),
    mitigation: ms.nullable(),
    recovery: ms.nullable(),
  }),
  /** Time to recover, first injection to recovery; null when not recovered. */
  mttr_ms: ms.nullable(),
  verdicts: z.array(VerdictSchema),
  invariants: z.array(InvariantSchema),
  load: LoadSummarySchema.nullable(),
  kpis: z.array(KpiSchema),
  /** The incident alert, the BCP's template filled in (Markdown). */
  alert: z.object({ severity: z.enum(["critical", "high", "medium", "low"]), text: z.string() }),
  remediation: z.array(z.object({ step: z.string(), owner: z.string(), due: z.string(), done: z.boolean() })),
  /** Notes the runner wants an auditor to read (why it deviated, what was skipped). */
  notes: z.array(z.string()),
  /** A GameDay's people: who was on the team, what they sent, and the limits they were held to; absent for a drill without people. */
  gameday: GamedaySchema.optional(),
};

export const JournalDraftSchema = z.object(journalShape);
export const JournalSchema = z.object({ ...journalShape, integrity: IntegritySchema });

export type TimelineEvent = z.infer<typeof TimelineEventSchema>;
export type FaultRecord = z.infer<typeof FaultRecordSchema>;
export type Verdict = z.infer<typeof VerdictSchema>;
export type Invariant = z.infer<typeof InvariantSchema>;
export type LoadScenario = z.infer<typeof LoadScenarioSchema>;
export type LoadSummary = z.infer<typeof LoadSummarySchema>;
export type Kpi = z.infer<typeof KpiSchema>;
export type Integrity = z.infer<typeof IntegritySchema>;
/** A journal as the runner builds it, before it is written. */
export type JournalDraft = z.infer<typeof JournalDraftSchema>;
/** A journal as written, with its integrity record. */
export type Journal = z.infer<typeof JournalSchema>;
export type Phase = (typeof PHASES)[number];
export type Gameday = z.infer<typeof GamedaySchema>;

/** A file-name safe, sortable journal id. */
export function journalId(startedAt: string, scenarioName: string, seed: number): string {
  const stamp = startedAt.replace(/[-:]/g, "").replace(".", "");
  const name = scenarioName.replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 60);
  return `${stamp}-${name}-s${seed}`;
}

/** JSON with object keys sorted and no whitespace: the form the hash is taken over. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** A version 1 journal as it was written, for its hash: `replay_compression` was `time_factor`. */
function asVersion1(body: JournalDraft): Record<string, unknown> {
  const { replay_compression, ...rest } = body;
  return { ...rest, time_factor: replay_compression };
}

/** SHA-256 (hex) of a journal's canonical form without `integrity.sha256`. */
export function journalHash(
  journal: JournalDraft & { integrity?: Omit<Integrity, "sha256"> & { sha256?: string } },
): string {
  const { integrity, ...body } = journal;
  const rest = body.version === 1 ? asVersion1(body) : body;
  const hashed =
    integrity === undefined
      ? rest
      : {
          ...rest,
          integrity: {
            algorithm: integrity.algorithm,
            sequence: integrity.sequence,
            previous: integrity.previous,
          },
        };
  return createHash("sha256").update(canonicalJson(hashed)).digest("hex");
}

const SECRET_KEY =
  /(secret|password|passphrase|private_?key|mnemonic|authorization|api_?key|_token$|Token$)/i;

/** A copy with every string redacted and every value under a secret-looking key replaced. */
export function redactJournal<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
        out[k] =
          SECRET_KEY.test(k) && (typeof inner === "string" || typeof inner === "number")
            ? "<redacted>"
            : walk(inner);
      }
      return out;
    }
    return v;
  };
  return redactDeep(walk(value)) as T;
}

interface Head {
  file: string;
  sha256: string;
  sequence: number;
}

/**
 * Writes a journal into `dir` atomically (temp file, fsync, rename, fsync of the
 * directory), redacted, validated and chained to the directory's previous journal.
 * Returns the journal as written and its path.
 */
export async function writeJournal(
  dir: string,
  draft: JournalDraft,
): Promise<{ journal: Journal; path: string }> {
  const clean = redactJournal(draft);
  const parsed = JournalDraftSchema.safeParse(clean);
  if (!parsed.success) {
    throw new FiredrillError(
      "FD502",
      `journal ${draft.id} does not match the journal schema: ${formatIssues(parsed.error)}`,
    );
  }
  try {
    return await writeChained(dir, parsed.data);
  } catch (error) {
    if (error instanceof FiredrillError) throw error;
    throw new FiredrillError(
      "FD510",
      `could not write journal ${draft.id} into ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function writeChained(
  dir: string,
  data: z.output<typeof JournalDraftSchema>,
): Promise<{ journal: Journal; path: string }> {
  const release = await lockDir(dir);
  try {
    const head = await readHead(dir);
    const file = `${data.id}${JOURNAL_SUFFIX}`;
    const integrityBase = {
      algorithm: "sha256" as const,
      sequence: head === null ? 1 : head.sequence + 1,
      previous: head,
    };
    const sha256 = journalHash({ ...data, integrity: integrityBase });
    const journal: Journal = { ...data, integrity: { ...integrityBase, sha256 } };
    const path = join(dir, file);
    await writeAtomic(path, `${JSON.stringify(journal, null, 2)}\n`, true);
    await writeAtomic(
      join(dir, HEAD_FILE),
      `${JSON.stringify({ file, sha256, sequence: journal.integrity.sequence })}\n`,
      false,
    );
    return { journal, path };
  } finally {
    await release();
  }
}

async function writeAtomic(path: string, text: string, exclusive: boolean): Promise<void> {
  if (exclusive) {
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new FiredrillError("FD236", `journal ${path} already exists; journal ids must be unique`);
  }
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const dirHandle = await open(join(path, ".."), "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** A lock file so that two runs writing into one directory chain their journals in turn. */
async function lockDir(dir: string, timeoutMs = 10_000): Promise<() => Promise<void>> {
  const lock = join(dir, ".journal.lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lock, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(await readFile(lock, "utf8").catch(() => ""));
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new FiredrillError("FD330", `${lock} is held by process ${owner}`);
      await sleep(20);
    }
  }
}

async function readHead(dir: string): Promise<Head | null> {
  let text: string;
  try {
    text = await readFile(join(dir, HEAD_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const head = z
    .object({ file: z.string(), sha256: sha256Hex, sequence: z.number().int().positive() })
    .safeParse(raw);
  if (!head.success) throw new FiredrillError("FD235", `${join(dir, HEAD_FILE)} is damaged`);
  return head.data;
}

function formatIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join("; ");
}

/**
 * Parses journal text; throws an FD23x input error naming `file` and what is wrong
 * (not JSON, truncated, newer format version, not a journal).
 */
export function parseJournal(text: string, file: string): Journal {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const trimmed = text.trimEnd();
    if (
      trimmed.startsWith("{") &&
      (/end of (JSON )?input|Unterminated/i.test(message) || !trimmed.endsWith("}"))
    ) {
      throw inputError(
        "FD231",
        { file },
        `truncated: the JSON ends early after ${text.length} bytes (${message})`,
      );
    }
    throw inputError("FD230", { file }, `not JSON: ${message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw inputError("FD233", { file }, "not a firedrill journal: expected a JSON object");
  }
  const version = (raw as { version?: unknown }).version;
  if (typeof version === "number" && version > JOURNAL_VERSION) {
    throw inputError(
      "FD232",
      { file },
      `journal format version ${version} is newer than this firedrill reads (${JOURNAL_VERSION}); upgrade firedrill`,
    );
  }
  const parsed = JournalSchema.safeParse(version === 1 ? fromVersion1(raw as Record<string, unknown>) : raw);
  if (!parsed.success) {
    throw inputError("FD233", { file }, `not a valid firedrill journal: ${formatIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** A version 1 journal in today's field names (see `asVersion1` for the way back). */
function fromVersion1(raw: Record<string, unknown>): Record<string, unknown> {
  const { time_factor, ...rest } = raw;
  return { ...rest, replay_compression: time_factor };
}

/** Reads and parses one journal file (see `parseJournal`). */
export async function readJournal(file: string): Promise<Journal> {
  return parseJournal(await readJournalText(file), file);
}

async function readJournalText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw inputError(
      "FD234",
      { file },
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** The journal files of `dir`, in name order (a journal's name starts with its time). */
export async function journalFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.endsWith(JOURNAL_SUFFIX))
    .sort()
    .map((n) => join(dir, n));
}

/** A journal read from its file, with the SHA-256 of the file's bytes. */
export interface JournalFile {
  file: string;
  journal: Journal;
  fileSha256: string;
}

/** Reads journal files, keeping those read and the input error of each that could not be. */
export async function readJournals(
  files: readonly string[],
): Promise<{ journals: JournalFile[]; errors: FiredrillError[] }> {
  const journals: JournalFile[] = [];
  const errors: FiredrillError[] = [];
  for (const file of files) {
    try {
      const text = await readJournalText(file);
      const fileSha256 = createHash("sha256").update(text).digest("hex");
      journals.push({ file, journal: parseJournal(text, file), fileSha256 });
    } catch (error) {
      if (!(error instanceof FiredrillError)) throw error;
      errors.push(error);
    }
  }
  return { journals, errors };
}

/** True when the run completed and every verdict passed: the drill passed. */
export function journalPassed(journal: Journal): boolean {
  return journal.status === "completed" && journal.verdicts.every((v) => v.passed);
}

/** True when a journal's recorded hash matches its content. */
export function journalHashMatches(journal: Journal): boolean {
  return journalHash(journal) === journal.integrity.sha256;
}

export interface ChainProblem {
  /** The journal file concerned (a removed one is named by its file name). */
  file: string;
  kind: "edited" | "removed" | "unreadable" | "out_of_chain";
  message: string;
}

export interface ChainReport {
  dir: string;
  /** Journals found and intact, in chain order. */
  verified: string[];
  problems: ChainProblem[];
}

/**
 * Checks every journal of `dir` against its own hash and the chain: an edited journal,
 * a removed one (including the newest, through the head file) and an unreadable one are
 * each named.
 */
export async function verifyJournalDir(dir: string): Promise<ChainReport> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(JOURNAL_SUFFIX)).sort();
  const problems: ChainProblem[] = [];
  const entries: Array<{ file: string; journal: Journal; intact: boolean }> = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const journal = parseJournal(await readFile(path, "utf8"), path);
      const intact = journalHashMatches(journal);
      if (!intact) {
        problems.push({
          file: name,
          kind: "edited",
          message: `${name} was changed after it was written: its content no longer matches its SHA-256 ${journal.integrity.sha256.slice(0, 12)}…`,
        });
      }
      entries.push({ file: name, journal, intact });
    } catch (error) {
      const what = (error instanceof Error ? error.message : String(error)).replace(`${path}: `, "");
      problems.push({
        file: name,
        kind: "unreadable",
        message: `${name} was changed and cannot be read: ${what}`,
      });
    }
  }
  const bySequence = new Map<number, (typeof entries)[number]>();
  for (const entry of entries) {
    const seq = entry.journal.integrity.sequence;
    if (bySequence.has(seq)) {
      problems.push({
        file: entry.file,
        kind: "out_of_chain",
        message: `${entry.file} claims position ${seq} in the chain, already held by ${bySequence.get(seq)!.file}`,
      });
      continue;
    }
    bySequence.set(seq, entry);
  }
  const unreadable = new Set(problems.filter((p) => p.kind === "unreadable").map((p) => p.file));
  for (const entry of [...bySequence.values()].sort(
    (a, b) => a.journal.integrity.sequence - b.journal.integrity.sequence,
  )) {
    const prev = entry.journal.integrity.previous;
    if (prev === null) {
      if (entry.journal.integrity.sequence !== 1) {
        problems.push({
          file: entry.file,
          kind: "out_of_chain",
          message: `${entry.file} has no predecessor but is number ${entry.journal.integrity.sequence}`,
        });
      }
      continue;
    }
    const before = bySequence.get(prev.sequence);
    if (before === undefined || before.file !== prev.file) {
      if (!unreadable.has(prev.file) && !names.includes(prev.file)) {
        problems.push({
          file: prev.file,
          kind: "removed",
          message: `${prev.file} (number ${prev.sequence}, recorded by ${entry.file}) was removed`,
        });
      }
    } else if (before.journal.integrity.sha256 !== prev.sha256 && before.intact) {
      problems.push({
        file: prev.file,
        kind: "edited",
        message: `${prev.file} was rewritten: ${entry.file} recorded its SHA-256 as ${prev.sha256.slice(0, 12)}…`,
      });
    }
  }
  let head: Head | null = null;
  try {
    head = await readHead(dir);
  } catch (error) {
    problems.push({
      file: HEAD_FILE,
      kind: "edited",
      message: error instanceof Error ? error.message : String(error),
    });
  }
  if (head !== null) {
    const newest = bySequence.get(head.sequence);
    if (!names.includes(head.file)) {
      problems.push({
        file: head.file,
        kind: "removed",
        message: `${head.file} (number ${head.sequence}, the newest) was removed`,
      });
    } else if (
      newest !== undefined &&
      newest.file === head.file &&
      newest.journal.integrity.sha256 !== head.sha256 &&
      newest.intact
    ) {
      problems.push({
        file: head.file,
        kind: "edited",
        message: `${head.file} was rewritten: the head recorded another SHA-256`,
      });
    }
    for (const entry of entries) {
      if (entry.journal.integrity.sequence > head.sequence) {
        problems.push({
          file: entry.file,
          kind: "out_of_chain",
          message: `${entry.file} is not part of the recorded chain (it is after the head)`,
        });
      }
    }
  } else if (entries.length > 0) {
    problems.push({
      file: HEAD_FILE,
      kind: "removed",
      message: `${HEAD_FILE} is missing: the newest journal cannot be checked`,
    });
  }
  const bad = new Set(problems.map((p) => p.file));
  const verified = [...bySequence.values()]
    .sort((a, b) => a.journal.integrity.sequence - b.journal.integrity.sequence)
    .map((e) => e.file)
    .filter((f) => !bad.has(f));
  return { dir, verified, problems };
}

/**
 * Adds the integrity record to a draft as `writeJournal` would, without redacting or
 * writing it (for tests and tools that build journal directories themselves).
 */
export function sealJournal(draft: JournalDraft, previous: Integrity["previous"]): Journal {
  const integrityBase = {
    algorithm: "sha256" as const,
    sequence: previous === null ? 1 : previous.sequence + 1,
    previous,
  };
  const sha256 = journalHash({ ...draft, integrity: integrityBase });
  return { ...draft, integrity: { ...integrityBase, sha256 } };
}

/** The file name a journal is written under. */
export function journalFileName(journal: Pick<Journal, "id">): string {
  return basename(`${journal.id}${JOURNAL_SUFFIX}`);
}
