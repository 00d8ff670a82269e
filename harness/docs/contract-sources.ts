/**
 * Where the definitions of the system-under-test contract live today. The generated pages
 * and their tests import them from here only, so that moving a definition changes this
 * file alone.
 */
export { CHAIN_NAMES } from "../lab/config.ts";
export { type LabInfo, PROVIDERS, sutEnvironment } from "../lab/index.ts";
export { SOURCE_NAMES } from "../lab/oracles.ts";
export { ALERT_EVENTS, type AlertEvent, EVENT_NAME, SEVERITIES } from "../runner/alert-events.ts";
export {
  type Alert as ReceivedAlert,
  type AlertSink,
  alertSchema,
  MAX_BODY as MAX_ALERT_BODY_BYTES,
  startAlertSink,
} from "../runner/alert-sink.ts";
export { RULES as KPI_RULES } from "../runner/kpi-snapshot.ts";
export { runnerEnvironment } from "../runner/sut.ts";
export { MAX_AMOUNT, MAX_BODY_BYTES as MAX_GATEWAY_BODY_BYTES } from "../stack/gateway.ts";
export { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_MS, signWebhook, verifyWebhook } from "../stack/webhook.ts";
