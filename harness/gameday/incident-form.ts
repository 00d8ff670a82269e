/**
 * The incident alert a responder sends during a GameDay: the playbook's template as a form
 * (severity, UTC time, system, impact, current status, the four immediate actions, next
 * steps with owner and timeline), and the Markdown text it becomes.
 */
import type { RunView } from "../runner/people.ts";
import type { Severity } from "./types.ts";

export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low"];

/** The four immediate actions the playbook asks to confirm, by form key. */
export const IMMEDIATE_ACTIONS = {
  verified: "Primary systems status verified",
  secondary: "Secondary systems activated",
  team: "Team notification sent",
  regulator: "Regulatory notification prepared (if required)",
} as const;
export type ImmediateAction = keyof typeof IMMEDIATE_ACTIONS;

export interface IncidentForm {
  severity: Severity;
  /** UTC, ISO 8601. */
  time: string;
  system: string;
  impact: string;
  status: string;
  actions: ImmediateAction[];
  nextSteps: string;
  owner: string;
  timeline: string;
}

/** The form as the room offers it: filled from what the run has seen so far, for a responder to correct. */
export function template(run: RunView | undefined, severity: Severity, blind: boolean): IncidentForm {
  const alerts = run?.timeline.filter((e) => e.kind === "alert.received") ?? [];
  const names = [...new Set(alerts.map((e) => e.name).filter(Boolean))];
  const systems = [...new Set(alerts.map((e) => e.system).filter(Boolean))];
  const impact =
    names.length > 0
      ? `Monitoring raised ${names.join(", ")}`
      : blind || !run
        ? "Under assessment"
        : (run.scenario.description ?? run.scenario.name);
  return {
    severity,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    system: systems.length > 0 ? `Stablecoin Operations: ${systems.join(", ")}` : "Stablecoin Operations",
    impact,
    status: "Investigating",
    actions: [],
    nextSteps: "",
    owner: "",
    timeline: "",
  };
}

/** Problems with a form a responder filled in; empty when it can be sent. */
export function formProblems(form: Partial<Record<keyof IncidentForm, unknown>>): string[] {
  const problems: string[] = [];
  if (form.severity !== undefined && !SEVERITIES.includes(form.severity as Severity))
    problems.push(`severity: one of ${SEVERITIES.join(", ")}`);
  if (form.time !== undefined && Number.isNaN(Date.parse(String(form.time))))
    problems.push("time: an ISO 8601 UTC time, e.g. 2026-12-04T03:00:00Z");
  if (form.actions !== undefined) {
    const list = Array.isArray(form.actions) ? form.actions : [form.actions];
    for (const a of list)
      if (!Object.hasOwn(IMMEDIATE_ACTIONS, String(a)))
        problems.push(`actions: "${String(a)}" is not one of ${Object.keys(IMMEDIATE_ACTIONS).join(", ")}`);
  }
  for (const key of ["system", "impact", "status", "nextSteps", "owner", "timeline"] as const) {
    const v = form[key];
    if (v !== undefined && (typeof v !== "string" || v.length > 2000))
      problems.push(`${key}: a text of at most 2000 characters`);
  }
  return problems;
}

/** The incident alert as Markdown, in the playbook's template. */
export function incidentAlertText(form: IncidentForm, updatesEvery = "30m"): string {
  const box = (key: ImmediateAction) =>
    `- [${form.actions.includes(key) ? "x" : " "}] ${IMMEDIATE_ACTIONS[key]}`;
  const next = form.nextSteps.trim() || "(none given)";
  return [
    `## INCIDENT ALERT - ${form.severity.toUpperCase()}`,
    `**Time**: ${form.time}`,
    `**System**: ${form.system}`,
    `**Impact**: ${form.impact}`,
    `**Current Status**: ${form.status}`,
    "**Immediate Actions Taken**:",
    ...(Object.keys(IMMEDIATE_ACTIONS) as ImmediateAction[]).map(box),
    "**Next Steps**:",
    `${next} (owner: ${form.owner.trim() || "unassigned"}; timeline: ${form.timeline.trim() || "not given"})`,
    `**Communication Schedule**: Updates every ${updatesEvery} until resolved`,
  ].join("\n");
}
