/**
 * `firedrill alerts check alerts.yml payload.json --format F`: what a delivery of a team's
 * own monitoring would become in a drill, alert by alert, without running one. The
 * payload's credentials are not checked: a drill does that against its own secret.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { MalformedDelivery } from "../contract/intake/format.ts";
import { formatByName, INTAKE_FORMATS, senderAlertKey } from "../contract/intake/index.ts";
import { inputError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { loadAlertMap, mapAlert } from "./alert-map.ts";
import { defaultMapPath, loadSystemsMap } from "./systems-map.ts";

const NAMES = INTAKE_FORMATS.map((f) => f.name).join("|");
const USAGE = `usage: firedrill alerts check <alerts.yml> <payload.json> --format ${NAMES} [--map FILE]`;

export async function command(args: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw usageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [verb, mappingFile, payloadFile, ...extra] = positionals;
  if (verb !== "check" || mappingFile === undefined || payloadFile === undefined || extra.length > 0) {
    throw usageError(USAGE);
  }
  if (values.format === undefined) throw usageError(`--format is required\n${USAGE}`);
  const format = formatByName(values.format);
  if (format === undefined) throw usageError(`--format: expected one of ${NAMES}, got "${values.format}"`);
  const alertMap = loadAlertMap(mappingFile, loadSystemsMap(values.map ?? defaultMapPath()));
  const body = readPayload(payloadFile);
  let alerts: ReturnType<typeof format.parse>;
  try {
    alerts = format.parse(body);
  } catch (error) {
    if (error instanceof MalformedDelivery) {
      throw inputError("FD237", { file: payloadFile }, `not a ${format.name} delivery: ${error.message}`);
    }
    throw error;
  }
  io.out(`${payloadFile}: ${alerts.length} ${format.name} alert${alerts.length === 1 ? "" : "s"}`);
  for (const alert of alerts) {
    const fired = alert.firedAt === undefined ? "" : `, fired ${alert.firedAt}`;
    const mapped = mapAlert(alertMap, format.name, alert);
    // A firing alert also counts for a scenario that names it as the sender's own alert.
    const named =
      alert.status === "firing"
        ? `; a scenario's expect may name it "${senderAlertKey(format.name, alert.name)}"`
        : "";
    io.out(
      mapped.mapped
        ? `  "${alert.name}" (${alert.status}${fired}) -> ${mapped.event} (${mapped.severity}) on ${mapped.system}${mapped.chain === null ? "" : `, ${mapped.chain}`}  [rule ${mapped.rule + 1}]${named}`
        : `  "${alert.name}" (${alert.status}${fired}) -> no event: ${mapped.reason}${named}`,
    );
  }
  return 0;
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      format: { type: "string" },
      map: { type: "string" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

function readPayload(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw inputError(
      "FD200",
      { file },
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw inputError("FD237", { file }, `not JSON: ${(error as Error).message}`);
  }
}
