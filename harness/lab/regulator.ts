/**
 * The regulator endpoint: an HTTP sink where compliance reports are filed. Every report
 * is kept on disk so that a drill's filings can be shown to an auditor.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { redactDeep } from "../redact.ts";
import { type JsonServer, serveJson } from "./http.ts";

export interface FiledReport {
  id: string;
  receivedAt: string;
  report: unknown;
}

/** Starts the regulator on 127.0.0.1; reports go to `dir`. */
export async function startRegulator(dir: string, port = 0): Promise<JsonServer> {
  mkdirSync(dir, { recursive: true });
  let count = readdirSync(dir).filter((f) => f.endsWith(".json")).length;
  return serveJson(
    "regulator",
    {
      "GET /health": () => ({ status: 200, body: { ok: true } }),
      "POST /reports": ({ body }) => {
        if (typeof body !== "object" || body === null || Array.isArray(body)) {
          return { status: 400, body: { error: "a report is a JSON object" } };
        }
        count += 1;
        const filed: FiledReport = {
          id: `REG-${String(count).padStart(6, "0")}`,
          receivedAt: new Date().toISOString(),
          report: redactDeep(body),
        };
        writeFileSync(join(dir, `${filed.id}.json`), JSON.stringify(filed, null, 2));
        return { status: 201, body: { id: filed.id, received_at: filed.receivedAt } };
      },
      "GET /reports": () => ({ status: 200, body: { reports: listFiledReports(dir) } }),
    },
    port,
  );
}

/** Every report filed in `dir`, oldest first. */
export function listFiledReports(dir: string): FiledReport[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as FiledReport);
}
