/**
 * The definitions the generated pages are made from: the system-under-test contract in
 * harness/contract/, the names of the lab, and what the runner's receiver accepts. The pages
 * and their tests import them from here only.
 */
import { type SutWiring, sutEnv } from "../contract/env.ts";

export {
  ALERT_EVENTS,
  type AlertEvent,
  alertSchema,
  EVENT_MEANINGS,
  EVENT_NAME,
  SEVERITIES,
} from "../contract/alerts.ts";
export { ENV } from "../contract/env.ts";
export { MAX_AMOUNT, MAX_BODY_BYTES as MAX_GATEWAY_BODY_BYTES } from "../contract/gateway.ts";
export { INTAKE_FORMATS } from "../contract/intake/index.ts";
export {
  ReplayGuard,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_MS,
  signWebhook,
  verifyWebhook,
} from "../contract/webhook.ts";
export { type LabInfo, sutEnvironment } from "../lab/index.ts";
export { CHAIN_NAMES, PROVIDERS, SOURCE_NAMES } from "../names.ts";
export {
  type Alert as ReceivedAlert,
  type AlertSink,
  MAX_BODY as MAX_ALERT_BODY_BYTES,
  startAlertSink,
} from "../runner/alert-sink.ts";
export { RULES as KPI_RULES } from "../runner/kpi-snapshot.ts";

/** The variables a run adds to the lab's part of the SUT environment, as the contract builds them. */
export function runnerEnvironment(wiring: Omit<SutWiring, "port">, port: number): Record<string, string> {
  const endpoints = { labFile: "lab.json", rpc: {}, oracleSources: {}, regulatorUrl: "http://127.0.0.1" };
  const labOnly = sutEnv(endpoints);
  return Object.fromEntries(
    Object.entries(sutEnv(endpoints, { ...wiring, port })).filter(([k]) => !(k in labOnly)),
  );
}
