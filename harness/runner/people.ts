/**
 * The people of a run (a GameDay): what the runner asks of them, without knowing how they
 * are paged or where they act. The GameDay (harness/gameday/) implements it; a drill
 * without people has none.
 */
import type { LabInfo } from "../lab/index.ts";
import type { Gameday, JournalDraft, TimelineEvent, Verdict } from "./journal.ts";
import type { Emit } from "./record.ts";
import type { Scenario } from "./scenario.ts";

export interface RunView {
  scenario: Scenario;
  lab: LabInfo;
  labFile: string;
  sutUrl: string;
  /** The run's timeline so far (read only). */
  timeline: readonly TimelineEvent[];
  /** Puts a `human.*` or `page.*` event on the timeline. */
  emit: Emit;
  /** The run's id, shared by every message of the incident. */
  incident: string;
}

export interface People {
  /** Once the SUT is up: the incident room opens (nobody is paged yet). */
  open(run: RunView): Promise<void>;
  /** Every timeline event as it happens: the first injection pages the first responder. */
  event(event: TimelineEvent): void;
  /**
   * After the automated recovery: waits until a responder marks the incident resolved, or
   * nobody is left to answer, or the wait is over. Returns at once on `signal`.
   */
  settle(signal: AbortSignal): Promise<void>;
  /** The human verdicts, once settled. */
  verdicts(firstInjectionMs: number | null): Verdict[];
  /** Whether a post-mortem draft goes with this journal (a missed target, a failed verdict, or asked for). */
  wantsPostmortem(draft: JournalDraft): boolean;
  /** The journal's `gameday` section; `postmortem` is the draft's file name, or null. */
  journal(postmortem: string | null): Gameday;
  /** Closes the room and gives up pages still retrying; called on every way out. */
  close(): Promise<void>;
}
