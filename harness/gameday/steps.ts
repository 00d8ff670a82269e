/** The steps a responder takes in the incident room or from a terminal, and what the room shows. */
import type { HumanStep } from "../runner/journal.ts";
import type { Assessment } from "../stack/assess.ts";
import type { IncidentForm } from "./incident-form.ts";

/** A step a responder takes, with what it carries. */
export type Step = "acknowledge" | "assess" | "communicate" | "update" | "mitigate" | "resolve";
export const STEPS: readonly Step[] = [
  "acknowledge",
  "assess",
  "communicate",
  "update",
  "mitigate",
  "resolve",
];

/** The journal's `human.*` event of each step. */
export const STEP_EVENT: Record<Step, HumanStep> = {
  acknowledge: "acknowledged",
  assess: "assessed",
  communicate: "communicated",
  update: "updated",
  mitigate: "mitigated",
  resolve: "resolved",
};

export interface StepInput {
  who: string;
  note?: string | undefined;
  /** communicate: the incident alert's fields (missing ones from the room's template). */
  form?: Partial<IncidentForm> | undefined;
}

/** Why a step was refused: 400 (bad input) or 409 (the drill has ended). */
export class StepRefused {
  readonly status: 400 | 409;
  readonly message: string;
  constructor(status: 400 | 409, message: string) {
    this.status = status;
    this.message = message;
  }
}

/** What the room shows: what a responder would see in a real incident, never the answer (no fault). */
export interface RoomState {
  title: string;
  blind: boolean;
  startedAt: string;
  pagedAt: string | null;
  ended: boolean;
  team: { name: string; role: string }[];
  alerts: {
    at: string;
    name: string;
    severity: string | null;
    system: string | null;
    chain: string | null;
    summary: string;
  }[];
  timeline: { at: string; kind: string; who: string | null; summary: string }[];
  done: Record<HumanStep, boolean>;
  assessment: Assessment | null;
  assessmentError: string | null;
  template: IncidentForm;
}
