/**
 * The compliance reporter: on a critical incident it builds the BCP's emergency report
 * (system status, collateral snapshot, liabilities, remediation plan, timeline), files it
 * with the regulator with retries until a deadline (REPORT_FILED), falls back to a
 * manual-submission file from a template when the regulator cannot be reached
 * (REPORT_FALLBACK), and always writes a backup copy first.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../process.ts";
import { type Alert, type Alerter, scrub } from "./alerts.ts";

export interface EmergencyReport {
  incident_id: string;
  timestamp: string;
  trigger: { event: string; chain: string | null; details: Record<string, unknown> };
  system_status: Record<string, unknown>;
  collateral_position: Record<string, unknown>;
  outstanding_obligations: Record<string, unknown>;
  remediation_actions: string[];
  timeline: { at: string; event: string; chain: string | null; severity: string }[];
}

export interface ReporterOptions {
  regulatorUrl: string;
  /** Folder for backups and manual submissions. */
  dir: string;
  alerter: Alerter;
  /** Filing deadline, ms. @default 10000 */
  deadlineMs?: number;
  /** Per attempt, ms. @default 2000 */
  attemptTimeoutMs?: number;
  /**
   * After a fallback, how long the reporter keeps trying to file the same report, ms: the
   * manual submission covers the deadline, and the regulator still gets the filing once its
   * endpoint is back. @default 1800000 (30 min)
   */
  refileForMs?: number;
  /** Private keys that must never appear in a report (lower case). */
  keys?: ReadonlySet<string>;
  /** Gathers the report's snapshot sections. */
  snapshot: () => Pick<
    EmergencyReport,
    "system_status" | "collateral_position" | "outstanding_obligations" | "remediation_actions"
  >;
}

export interface FilingResult {
  report: EmergencyReport;
  filed: boolean;
  backupPath: string;
  manualPath?: string;
  attempts: number;
  error?: string;
}

function writeAtomic(path: string, data: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data, { flush: true });
  renameSync(temp, path);
}

/** The manual-submission template, filled in. */
export function manualSubmission(report: EmergencyReport, regulatorUrl: string, error: string): string {
  const lines = [
    `# Emergency incident report — manual submission`,
    ``,
    `The regulator endpoint could not be reached (${error}). Submit this report by hand`,
    `to the regulator's incident desk, and attach the JSON copy that sits next to it.`,
    ``,
    `- **Incident**: ${report.incident_id}`,
    `- **Time (UTC)**: ${report.timestamp}`,
    `- **Trigger**: ${report.trigger.event}${report.trigger.chain ? ` on ${report.trigger.chain}` : ""}`,
    `- **Endpoint tried**: ${regulatorUrl || "(none configured)"}`,
    ``,
    `## System status`,
    "```json",
    JSON.stringify(report.system_status, null, 2),
    "```",
    `## Collateral position`,
    "```json",
    JSON.stringify(report.collateral_position, null, 2),
    "```",
    `## Outstanding obligations`,
    "```json",
    JSON.stringify(report.outstanding_obligations, null, 2),
    "```",
    `## Remediation actions`,
    ...report.remediation_actions.map((a) => `- ${a}`),
    ``,
    `## Timeline`,
    ...report.timeline.map((t) => `- ${t.at} ${t.event} (${t.severity})${t.chain ? ` ${t.chain}` : ""}`),
    ``,
  ];
  return lines.join("\n");
}

export class ComplianceReporter {
  readonly #options: ReporterOptions;
  readonly filings: FilingResult[] = [];
  #inFlight = new Set<Promise<FilingResult>>();
  #refiling = new Set<Promise<void>>();
  #closed = new AbortController();

  constructor(options: ReporterOptions) {
    this.#options = options;
    mkdirSync(join(options.dir, "backup"), { recursive: true });
    mkdirSync(join(options.dir, "manual"), { recursive: true });
  }

  /** Builds and files a report for `trigger` in the background; returns the filing's promise. */
  file(trigger: Alert, deadlineMs?: number): Promise<FilingResult> {
    const p = this.#file(trigger, deadlineMs).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
    return p;
  }

  async #file(trigger: Alert, requestedDeadlineMs?: number): Promise<FilingResult> {
    const { alerter, regulatorUrl, dir } = this.#options;
    // Leave room to write the manual submission before a demanded deadline.
    const deadlineMs = Math.min(
      this.#options.deadlineMs ?? 10_000,
      requestedDeadlineMs === undefined ? Number.POSITIVE_INFINITY : Math.max(100, requestedDeadlineMs * 0.8),
    );
    const attemptTimeoutMs = this.#options.attemptTimeoutMs ?? 2000;
    const id = `INC-${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomUUID().slice(0, 8)}`;
    const report: EmergencyReport = scrub(
      {
        incident_id: id,
        timestamp: new Date().toISOString(),
        trigger: { event: trigger.event, chain: trigger.chain, details: trigger.details },
        ...this.#options.snapshot(),
        timeline: alerter.history
          .slice(-50)
          .map((a) => ({ at: a.at, event: a.event, chain: a.chain, severity: a.severity })),
      },
      this.#options.keys ?? new Set<string>(),
    );
    const body = JSON.stringify(report, null, 2);
    const backupPath = join(dir, "backup", `${id}.json`);
    writeAtomic(backupPath, body);
    const started = Date.now();
    let attempts = 0;
    let error = "no regulator URL configured";
    let delay = 200;
    while (regulatorUrl && Date.now() - started < deadlineMs) {
      attempts++;
      try {
        const {
          ok: filed,
          status,
          text,
        } = await this.#post(
          id,
          body,
          AbortSignal.timeout(Math.min(attemptTimeoutMs, Math.max(1, deadlineMs - (Date.now() - started)))),
        );
        if (filed) {
          const result: FilingResult = { report, filed: true, backupPath, attempts };
          this.filings.push(result);
          alerter.emit("REPORT_FILED", "medium", "compliance_tools", trigger.chain, {
            incidentId: id,
            trigger: trigger.event,
            attempts,
            backup: backupPath,
            receipt: text.slice(0, 200),
          });
          return result;
        }
        error = `HTTP ${status}`;
      } catch (e) {
        error =
          (e as Error).name === "TimeoutError"
            ? `no answer within ${attemptTimeoutMs} ms`
            : (e as Error).message;
      }
      const left = deadlineMs - (Date.now() - started);
      if (left <= 0) break;
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 2000);
    }
    const manualPath = join(dir, "manual", `${id}.md`);
    writeAtomic(manualPath, manualSubmission(report, regulatorUrl, error));
    const result: FilingResult = { report, filed: false, backupPath, manualPath, attempts, error };
    this.filings.push(result);
    alerter.emit("REPORT_FALLBACK", "high", "reporting_systems", trigger.chain, {
      incidentId: id,
      trigger: trigger.event,
      attempts,
      error,
      manualSubmission: manualPath,
      backup: backupPath,
    });
    if (regulatorUrl) {
      const refile = this.#refile(id, body, trigger, manualPath).finally(() => this.#refiling.delete(refile));
      this.#refiling.add(refile);
    }
    return result;
  }

  /** One filing attempt; the report's id is its idempotency key, so a repeat is harmless. */
  async #post(
    id: string,
    body: string,
    signal: AbortSignal,
  ): Promise<{ ok: boolean; status: number; text: string }> {
    const response = await fetch(this.#options.regulatorUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": id },
      body,
      signal,
    });
    const text = await response.text().catch(() => "");
    return { ok: response.ok, status: response.status, text };
  }

  /** Keeps filing a report that fell back until the regulator takes it (same idempotency key). */
  async #refile(id: string, body: string, trigger: Alert, manualPath: string): Promise<void> {
    const { alerter } = this.#options;
    const until = Date.now() + (this.#options.refileForMs ?? 30 * 60_000);
    const stop = this.#closed.signal;
    let delay = 500;
    let attempts = 0;
    while (!stop.aborted && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        stop.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (stop.aborted) return;
      attempts++;
      try {
        const { ok: filed, text } = await this.#post(
          id,
          body,
          AbortSignal.any([stop, AbortSignal.timeout(this.#options.attemptTimeoutMs ?? 2000)]),
        );
        if (filed) {
          alerter.emit("REPORT_FILED", "medium", "compliance_tools", trigger.chain, {
            incidentId: id,
            trigger: trigger.event,
            afterFallback: true,
            attempts,
            manualSubmission: manualPath,
            receipt: text.slice(0, 200),
          });
          return;
        }
      } catch {
        // Still down: try again later.
      }
      delay = Math.min(delay * 2, 5000);
    }
  }

  /** Waits for the filings under way, and stops refiling reports that fell back. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    this.#closed.abort();
    await Promise.allSettled([...this.#refiling]);
  }
}
