/**
 * A GameDay's people, as the runner sees them (harness/runner/people.ts): the first
 * injection pages the first responder; nobody acknowledging within the limit pages the
 * next; responders act in the incident room (room.ts) or from a terminal; every step is a
 * `human.*` event with who did it; at the end their steps are judged against the playbook's
 * limits.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatDuration } from "../duration.ts";
import { sleep } from "../process.ts";
import { registerSecret } from "../redact.ts";
import {
  type Gameday,
  HUMAN_STEPS,
  type HumanStep,
  type JournalDraft,
  type TimelineEvent,
  type Verdict,
} from "../runner/journal.ts";
import type { People, RunView } from "../runner/people.ts";
import { assess } from "../stack/assess.ts";
import { type IncidentForm, incidentAlertText, template } from "./incident-form.ts";
import { REFRESH_MS } from "./page.ts";
import { Pager } from "./pager.ts";
import { openRoom, type Room, type RoomListen } from "./room.ts";
import { type RoomState, STEP_EVENT, type Step, type StepInput, StepRefused } from "./steps.ts";
import type { PageChannel, PageMessage, PageOutcome, Responder, Severity, Team } from "./types.ts";

/** The limits the human verdicts use, ms. */
export interface HumanLimits {
  acknowledge: number;
  assessment: number;
  communication: number;
  updatesEvery: number;
}

export interface GamedayOptions {
  team: Team;
  limits: HumanLimits;
  /** Keep the scenario's name from the responders until the end. */
  blind: boolean;
  listen: RoomListen;
  /** The most the drill waits after the automated recovery for a responder to resolve the incident, ms. */
  waitMs: number;
  /** Write a post-mortem draft even when every target was met. */
  postmortem: boolean;
  /** The MTTR target: a drill over it gets a post-mortem draft. */
  mttrTargetMs: number;
  log: (line: string) => void;
  /** Pager retries, ms (tests shorten them). */
  pageRetryForMs?: number;
  /** Where the room's link with its token is written (mode 600) for responders on this machine. */
  roomFile: string;
}

const SHOWN = /^(alert\.received|page\.|human\.)/;

export class GamedayPeople implements People {
  readonly #o: GamedayOptions;
  #run: RunView | undefined;
  #room: Room | undefined;
  readonly #pager: Pager;
  #pagedAt: number | null = null;
  /** The responder paged last (an index into the team). */
  #paged = -1;
  #escalation: NodeJS.Timeout | undefined;
  #nobodyLeft = false;
  #ended = false;
  #incidentAlert: Gameday["incident_alert"] = null;
  readonly #updates: Gameday["updates"] = [];
  #resolution: Gameday["resolution"] = null;
  #assessment: RoomState["assessment"] = null;
  #assessmentError: string | null = null;
  #assessTimer: NodeJS.Timeout | undefined;
  /** Wakes `settle` when the incident is resolved or nobody is left. */
  #wake: (() => void) | undefined;

  constructor(options: GamedayOptions) {
    this.#o = options;
    this.#pager = new Pager({
      onOutcome: (outcome) => this.#outcome(outcome),
      log: options.log,
      ...(options.pageRetryForMs === undefined ? {} : { retryForMs: options.pageRetryForMs }),
    });
  }

  async open(run: RunView): Promise<void> {
    this.#run = run;
    this.#room = await openRoom(this.#o.listen, {
      state: () => this.state(),
      step: (step, input) => this.step(step, input),
    });
    // The token is a secret like any other: it goes to the pages and to a file only the user reads.
    registerSecret(this.#room.token);
    mkdirSync(dirname(this.#o.roomFile), { recursive: true });
    writeFileSync(this.#o.roomFile, `${this.#room.urlWithToken}\n`, { mode: 0o600 });
    this.#o.log(`incident room: ${this.#room.url} (its link with the token: ${this.#o.roomFile})`);
    this.#refreshAssessment();
  }

  event(event: TimelineEvent): void {
    if (event.kind === "fault.injected" && this.#pagedAt === null && this.#run) this.#pageNext("page");
  }

  /** Pages the next responder in the team's order, and escalates again if nobody acknowledges in time. */
  #pageNext(kind: "page" | "escalation"): void {
    const next = this.#paged + 1;
    const responder = this.#o.team.responders[next];
    if (responder === undefined) {
      this.#nobodyLeft = true;
      this.#run?.emit({
        kind: "note",
        summary: `nobody acknowledged within ${formatDuration(this.#o.limits.acknowledge)} of the last page: no responder left to escalate to`,
      });
      this.#wake?.();
      return;
    }
    this.#paged = next;
    if (this.#pagedAt === null) this.#pagedAt = Date.now();
    this.#send(responder.name, responder.page, kind, this.#pageSummary(kind, responder));
    this.#escalation = setTimeout(() => {
      if (!this.#acknowledged() && !this.#ended) this.#pageNext("escalation");
    }, this.#o.limits.acknowledge);
    this.#escalation.unref();
  }

  #pageSummary(kind: "page" | "escalation", responder: Responder): string {
    const alerts = this.#run?.timeline.filter((e) => e.kind === "alert.received").map((e) => e.name) ?? [];
    const what = alerts.length > 0 ? [...new Set(alerts)].join(", ") : "a fire drill is under way";
    const title = this.#title();
    return kind === "escalation"
      ? `GameDay ${title}: escalated to ${responder.name} (${responder.role}): nobody acknowledged within ${formatDuration(this.#o.limits.acknowledge)}; ${what}`
      : `GameDay ${title}: ${responder.name} (${responder.role}), you are paged: ${what}`;
  }

  #title(): string {
    const s = this.#run?.scenario;
    if (!s) return "";
    return this.#o.blind ? `(tier ${s.tier})` : `${s.name} (tier ${s.tier})`;
  }

  #severity(): Severity {
    return this.#run?.scenario.tier === 1 ? "critical" : "high";
  }

  #send(to: string, channel: PageChannel, kind: PageMessage["kind"], summary: string, text?: string): void {
    if (!this.#run || !this.#room) return;
    this.#pager.send(to, channel, {
      kind,
      summary,
      ...(text === undefined ? {} : { text }),
      severity: this.#severity(),
      roomUrl: this.#room.urlWithToken,
      incident: this.#run.incident,
      at: Date.now(),
    });
  }

  #outcome(o: PageOutcome): void {
    if (!this.#run) return;
    this.#run.emit({
      kind: o.ok ? "page.sent" : "page.failed",
      atMs: o.at,
      who: o.to,
      summary: o.ok
        ? `${o.kind} to ${o.to} by ${o.channel}${o.attempts > 1 ? ` (after ${o.attempts} attempts)` : ""}`
        : `${o.kind} to ${o.to} by ${o.channel} not delivered after ${o.attempts} attempts: ${o.error ?? "no answer"}`,
      details: {
        channel: o.channel,
        message: o.kind,
        attempts: o.attempts,
        first_attempt_at: new Date(o.firstAttemptAt).toISOString(),
        ...(o.status === undefined ? {} : { status: o.status }),
        ...(o.error === undefined ? {} : { error: o.error }),
      },
    });
  }

  #acknowledged(): boolean {
    return this.#steps("acknowledged").length > 0;
  }

  #steps(step: HumanStep): TimelineEvent[] {
    return (this.#run?.timeline ?? []).filter((e) => e.kind === `human.${step}`);
  }

  /** A responder's step, from the room or a terminal. */
  step(step: Step, input: StepInput): TimelineEvent | StepRefused {
    if (this.#ended || !this.#run)
      return new StepRefused(409, "the drill has ended: the room takes no more steps");
    const who = this.#o.team.responders.find((r) => r.name.toLowerCase() === input.who.trim().toLowerCase());
    if (!who)
      return new StepRefused(
        400,
        `"${input.who}" is not on the team: one of ${this.#o.team.responders.map((r) => r.name).join(", ")}`,
      );
    const note = input.note?.trim() ?? "";
    if (note.length > 4000) return new StepRefused(400, "the note is over 4000 characters");
    if ((step === "update" || step === "resolve" || step === "mitigate") && note === "")
      return new StepRefused(400, `${step}: say what was done in a note`);
    const now = Date.now();
    let summary: string;
    let text: string | undefined;
    if (step === "communicate") {
      const form = { ...this.#template(), ...input.form };
      text = incidentAlertText(form, formatDuration(this.#o.limits.updatesEvery));
      summary = `${who.name} sent the incident alert (${form.severity.toUpperCase()})`;
      this.#incidentAlert = { at: new Date(now).toISOString(), by: who.name, text };
      for (const c of this.#o.team.communications)
        this.#send("communications", c, "incident_alert", `Incident alert: ${form.impact}`, text);
    } else if (step === "update") {
      text = note;
      summary = `${who.name} posted a status update`;
      this.#updates.push({ at: new Date(now).toISOString(), by: who.name, text });
      for (const c of this.#o.team.communications)
        this.#send("communications", c, "update", `Status update from ${who.name}`, text);
    } else if (step === "resolve") {
      summary = `${who.name} marked the incident resolved`;
      this.#resolution = { at: new Date(now).toISOString(), by: who.name, text: note };
      for (const c of this.#o.team.communications)
        this.#send("communications", c, "resolved", `Resolved: ${note.slice(0, 200)}`, note);
      // PagerDuty closes its incident on a resolve to the same key.
      for (const r of this.#o.team.responders.slice(0, this.#paged + 1))
        if (r.page.kind === "pagerduty")
          this.#send(r.name, r.page, "resolved", `Resolved by ${who.name}`, note);
    } else {
      summary =
        step === "acknowledge"
          ? `${who.name} acknowledged the page`
          : step === "assess"
            ? `${who.name} completed the immediate assessment`
            : `${who.name} marked mitigation in place`;
    }
    this.#run.emit({
      kind: `human.${STEP_EVENT[step]}`,
      atMs: now,
      who: who.name,
      summary,
      details: { role: who.role, ...(note ? { note } : {}) },
    });
    if (step === "acknowledge") clearTimeout(this.#escalation);
    if (step === "resolve") this.#wake?.();
    return this.#run.timeline.at(-1)!;
  }

  #template(): IncidentForm {
    return template(this.#run!, this.#severity(), this.#o.blind);
  }

  /** Refreshes the live assessment every few seconds while the room is open. */
  #refreshAssessment(): void {
    const run = this.#run;
    if (!run || this.#ended) return;
    const port = new URL(run.sutUrl).port;
    assess({ FIREDRILL_LAB: run.labFile, FIREDRILL_SUT_PORT: port })
      .then((a) => {
        this.#assessment = a;
        this.#assessmentError = null;
      })
      .catch((error: Error) => {
        this.#assessmentError = error.message;
      })
      .finally(() => {
        if (this.#ended) return;
        this.#assessTimer = setTimeout(() => this.#refreshAssessment(), 3_000);
        this.#assessTimer.unref();
      });
  }

  state(): RoomState {
    const run = this.#run;
    const timeline = run?.timeline ?? [];
    const done = Object.fromEntries(HUMAN_STEPS.map((s) => [s, this.#steps(s).length > 0])) as Record<
      HumanStep,
      boolean
    >;
    return {
      title: this.#title(),
      blind: this.#o.blind,
      startedAt: timeline[0]?.at ?? new Date().toISOString(),
      pagedAt: this.#pagedAt === null ? null : new Date(this.#pagedAt).toISOString(),
      ended: this.#ended,
      team: this.#o.team.responders.map((r) => ({ name: r.name, role: r.role })),
      alerts: timeline
        .filter((e) => e.kind === "alert.received")
        .map((e) => ({
          at: e.at,
          name: e.name ?? "",
          severity: e.severity ?? null,
          system: e.system ?? null,
          chain: e.chain ?? null,
          summary: e.summary,
        })),
      timeline: timeline
        .filter((e) => SHOWN.test(e.kind))
        .map((e) => ({ at: e.at, kind: e.kind, who: e.who ?? null, summary: e.summary })),
      done,
      assessment: this.#assessment,
      assessmentError: this.#assessmentError,
      template: run ? this.#template() : template(undefined, "high", true),
    };
  }

  settle(signal: AbortSignal): Promise<void> {
    if (this.#pagedAt === null || this.#resolution !== null || this.#nobodyLeft || signal.aborted)
      return Promise.resolve();
    this.#o.log(
      `waiting for a responder to resolve the incident in the room (at most ${formatDuration(this.#o.waitMs)})`,
    );
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#run?.emit({
          kind: "note",
          summary: `nobody marked the incident resolved within ${formatDuration(this.#o.waitMs)} of the recovery`,
        });
        done();
      }, this.#o.waitMs);
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  verdicts(firstInjectionMs: number | null): Verdict[] {
    if (this.#pagedAt === null || firstInjectionMs === null) return [];
    return humanVerdicts(this.#run?.timeline ?? [], this.#pagedAt, this.#o.limits, Date.now());
  }

  wantsPostmortem(draft: JournalDraft): boolean {
    return (
      this.#o.postmortem ||
      draft.verdicts.some((v) => !v.passed) ||
      (draft.mttr_ms !== null && draft.mttr_ms > this.#o.mttrTargetMs)
    );
  }

  journal(postmortem: string | null): Gameday {
    return {
      team: this.#o.team.responders.map((r) => ({ name: r.name, role: r.role })),
      blind: this.#o.blind,
      room: this.#room?.url ?? null,
      paged_at: this.#pagedAt === null ? null : new Date(this.#pagedAt).toISOString(),
      incident_alert: this.#incidentAlert,
      updates: [...this.#updates],
      resolution: this.#resolution,
      limits_ms: {
        acknowledge: this.#o.limits.acknowledge,
        assessment: this.#o.limits.assessment,
        communication: this.#o.limits.communication,
        updates_every: this.#o.limits.updatesEvery,
      },
      postmortem,
    };
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#escalation);
    clearTimeout(this.#assessTimer);
    this.#wake?.();
    await this.#pager.close(5_000);
    // A page open in a browser learns at its next refresh that the drill has ended, and stops
    // asking; the room stays up that long when a page was looking at it lately.
    if (this.#room && Date.now() - this.#room.lastSeen() < 10_000) {
      const seen = this.#room.lastSeen();
      const deadline = Date.now() + REFRESH_MS * 1.5;
      while (this.#room.lastSeen() === seen && Date.now() < deadline) await sleep(50);
    }
    await this.#room?.close();
    // The link dies with the room; a newer GameDay's link is left alone.
    try {
      if (this.#room && readFileSync(this.#o.roomFile, "utf8").trim() === this.#room.urlWithToken)
        rmSync(this.#o.roomFile, { force: true });
    } catch {
      // Already gone.
    }
  }
}

/**
 * The human verdicts: acknowledged, assessed and communicated within their limits of the
 * first page; status updates no further apart than their limit from the incident alert to
 * the resolution (or to `endMs` while unresolved); and the incident marked resolved.
 */
export function humanVerdicts(
  timeline: readonly TimelineEvent[],
  pagedAtMs: number,
  limits: HumanLimits,
  endMs: number,
): Verdict[] {
  const first = (kind: string) => {
    const e = timeline.find((x) => x.kind === kind);
    return e === undefined ? null : Date.parse(e.at) - pagedAtMs;
  };
  const within = (name: string, kind: string, limit: number, what: string): Verdict => {
    const measured = first(kind);
    const who = timeline.find((x) => x.kind === kind)?.who;
    return {
      name: `${name} within ${formatDuration(limit)}`,
      kind: "human",
      passed: measured !== null && measured <= limit,
      reason:
        measured === null
          ? `nobody ${what}`
          : `${who ?? "a responder"} ${what} ${formatDuration(Math.max(0, Math.round(measured)))} after the first page${measured > limit ? `, ${formatDuration(Math.round(measured - limit))} late` : ""}`,
      limit,
      measured: measured === null ? null : Math.max(0, Math.round(measured)),
      unit: "ms",
    };
  };
  const verdicts = [
    within("acknowledged", "human.acknowledged", limits.acknowledge, "acknowledged"),
    within("assessment", "human.assessed", limits.assessment, "completed the assessment"),
    within("communication", "human.communicated", limits.communication, "sent the incident alert"),
  ];
  verdicts.push(updatesVerdict(timeline, limits.updatesEvery, endMs));
  const resolved = timeline.find((e) => e.kind === "human.resolved");
  verdicts.push({
    name: "resolved by a responder",
    kind: "human",
    passed: resolved !== undefined,
    reason:
      resolved === undefined
        ? "nobody marked the incident resolved"
        : `${resolved.who ?? "a responder"} marked it resolved ${formatDuration(Math.max(0, Date.parse(resolved.at) - pagedAtMs))} after the first page`,
    limit: null,
    measured: resolved === undefined ? null : Math.max(0, Date.parse(resolved.at) - pagedAtMs),
    unit: "ms",
  });
  return verdicts;
}

function updatesVerdict(timeline: readonly TimelineEvent[], limit: number, endMs: number): Verdict {
  const name = `updates at most every ${formatDuration(limit)}`;
  const alert = timeline.find((e) => e.kind === "human.communicated");
  if (alert === undefined)
    return {
      name,
      kind: "human",
      passed: false,
      reason: "no incident alert was sent, so no updates followed one",
      limit,
      measured: null,
      unit: "ms",
    };
  const resolved = timeline.find((e) => e.kind === "human.resolved");
  const marks = [
    Date.parse(alert.at),
    ...timeline.filter((e) => e.kind === "human.updated").map((e) => Date.parse(e.at)),
  ].filter((t) => t >= Date.parse(alert.at));
  const end = resolved ? Date.parse(resolved.at) : endMs;
  marks.sort((a, b) => a - b);
  let longest = 0;
  for (const [i, t] of marks.entries()) longest = Math.max(longest, (marks[i + 1] ?? end) - t);
  const updates = marks.length - 1;
  return {
    name,
    kind: "human",
    passed: longest <= limit,
    reason: `${updates} update${updates === 1 ? "" : "s"} after the incident alert; the longest silence ${formatDuration(Math.round(longest))}${resolved ? " (until the resolution)" : " (unresolved at the end)"}`,
    limit,
    measured: Math.round(longest),
    unit: "ms",
  };
}
