/**
 * docs/sut-contract.md: what a system under test gets from firedrill and must give back.
 * The variables, the alert format, the signature and the receiver's answers are generated
 * from the code that builds, signs and checks them (harness/docs/contract-sources.ts); the
 * meanings are kept here, and the generator refuses to run when a name has none.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../duration.ts";
import { bugError } from "../errors.ts";
import {
  alertSchema,
  CHAIN_NAMES,
  ENV,
  INTAKE_FORMATS,
  KPI_RULES,
  type LabInfo,
  MAX_ALERT_BODY_BYTES,
  MAX_AMOUNT,
  MAX_GATEWAY_BODY_BYTES,
  PROVIDERS,
  ReplayGuard,
  runnerEnvironment,
  SEVERITIES,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_MS,
  SOURCE_NAMES,
  signWebhook,
  sutEnvironment,
  verifyWebhook,
} from "./contract-sources.ts";
import { eventTable } from "./events.ts";
import { anchor, code, fenced, generatedNotice, page, table } from "./markdown.ts";
import { jsonSchemaOf, keyRows } from "./schema.ts";

/** The repository root. */
const ROOT = join(import.meta.dirname, "..", "..");

/** The minimal clients quoted on the page; the test suite runs both against a real receiver. */
export const CLIENTS = { typescript: "examples/send-alert.ts", shell: "examples/send-alert.sh" } as const;

const PLACEHOLDER_URL = "http://127.0.0.1:<port>";

/** What each variable means; `FIREDRILL_RPC_<CHAIN>_<PROVIDER>` stands for the nine RPC variables. */
const VARIABLE_MEANINGS: Record<string, string> = {
  FIREDRILL_LAB:
    "Path of the lab's `lab.json`: every endpoint, chain id, contract address and account of the lab.",
  "FIREDRILL_RPC_<CHAIN>_<PROVIDER>":
    "JSON-RPC of one RPC provider of one chain, through Toxiproxy: where `rpc_outage` and `rpc_latency` strike. Read a chain through its providers in order (primary, secondary, emergency) to survive them.",
  FIREDRILL_ORACLE_URLS:
    "`name=url` of every price source, comma-separated. Each answers `GET /price/ETH-USD` and `GET /price/USDC-USD` with `{pair, price, updatedAt, source}`, and `GET /prices` with all of them.",
  FIREDRILL_REGULATOR_URL:
    "Where compliance reports are filed: `POST` a JSON object; the answer is 201 with `{id, received_at}`.",
  FIREDRILL_ALERT_WEBHOOK: "Where the stack posts every alert and action, signed ([below](#alerts)).",
  FIREDRILL_WEBHOOK_SECRET:
    "HMAC key of the webhook signature. Random for each run, unless set in the runner's own environment.",
  FIREDRILL_GATEWAY_TOKEN:
    "Bearer token the gateway demands on its write routes. Random for each run, unless set in the runner's own environment.",
  FIREDRILL_SUT_PORT: "Port on 127.0.0.1 where the stack serves `GET /health` and its gateway.",
};

const RPC_VARIABLE = /^FIREDRILL_RPC_[A-Z]+_[A-Z]+$/;

/** The variables exactly as the runner builds them, for a lab whose every URL is a placeholder. */
function environmentRows(): string[][] {
  const perProvider = Object.fromEntries(PROVIDERS.map((provider) => [provider, PLACEHOLDER_URL]));
  const lab = {
    chains: Object.fromEntries(CHAIN_NAMES.map((chain) => [chain, { rpc: perProvider }])),
    oracles: { sources: Object.fromEntries(SOURCE_NAMES.map((source) => [source, PLACEHOLDER_URL])) },
    regulator: { url: PLACEHOLDER_URL },
  } as unknown as LabInfo;
  const fromLab = sutEnvironment(lab, "<lab dir>/lab.json");
  const fromRun = runnerEnvironment(
    { webhookUrl: `${PLACEHOLDER_URL}/alerts`, webhookSecret: "<secret>", gatewayToken: "<token>" },
    0,
  );
  const rows = (env: Record<string, string>, from: string) =>
    Object.entries(env).map(([name, value]) => {
      const rpc = RPC_VARIABLE.test(name);
      const meaning = VARIABLE_MEANINGS[rpc ? "FIREDRILL_RPC_<CHAIN>_<PROVIDER>" : name];
      if (meaning === undefined)
        throw bugError(`harness/docs/sut-contract.ts: variable ${name} has no meaning in VARIABLE_MEANINGS`);
      const shown = name === "FIREDRILL_SUT_PORT" ? "<port>" : value;
      const [chain, provider] = name.slice("FIREDRILL_RPC_".length).toLowerCase().split("_");
      const shownMeaning = rpc
        ? `the ${provider} RPC provider of ${chain}, through Toxiproxy (below)`
        : meaning;
      return [code(name), code(shown), from, shownMeaning];
    });
  return [...rows(fromLab, "lab"), ...rows(fromRun, "run")];
}

const ALERT_FIELD_MEANINGS: Record<string, string> = {
  event:
    "A [standard event](#standard-events), or one of the stack's own that a scenario declares in `custom_events`.",
  severity: "How severe, most severe first in the list of values.",
  system: "The system of `scenarios/systems-map.yml` the alert is about.",
  chain: "The chain concerned, if any.",
  at: "When the stack raised it. Recorded only: phase times are taken when the receiver gets the alert.",
  details: "Anything else worth keeping; recorded in the journal.",
};

function alertFieldTable(): string {
  const node = jsonSchemaOf(alertSchema);
  for (const key of Object.keys(node.properties ?? {})) {
    const property = node.properties![key]!;
    const meaning = ALERT_FIELD_MEANINGS[key];
    if (meaning === undefined)
      throw bugError(
        `harness/docs/sut-contract.ts: alert field ${key} has no meaning in ALERT_FIELD_MEANINGS`,
      );
    property.description = meaning;
  }
  const rows = keyRows(node, "alert");
  return table(
    ["field", "type", "required", "meaning"],
    rows.map((row) => [code(row.key), row.type, row.presence === "**required**" ? "yes" : "no", row.meaning]),
  );
}

/** A fixed alert, secret and time: the worked example of the signature, checked by the receiver's own code. */
const EXAMPLE = {
  secret: "example-secret",
  t: 1_700_000_000_000,
  alert: {
    event: "RPC_FAILOVER",
    severity: "high",
    system: "rpc_providers",
    chain: "ethereum",
    at: "2023-11-14T22:13:20.000Z",
    details: { from: "primary", to: "secondary" },
  },
} as const;

function signatureExample(): { body: string; header: string } {
  const body = JSON.stringify(EXAMPLE.alert);
  alertSchema.parse(EXAMPLE.alert);
  const header = signWebhook(EXAMPLE.secret, body, EXAMPLE.t);
  const verdict = verifyWebhook(EXAMPLE.secret, header, body, EXAMPLE.t, new ReplayGuard());
  if (!verdict.ok) throw bugError(`the example signature does not verify: ${verdict.reason}`);
  return { body, header };
}

/** Why the receiver refuses a delivery, each case run through the receiver's own check. */
function refusalRows(body: string, header: string): string[][] {
  const { secret, t } = EXAMPLE;
  const v1 = header.slice(header.indexOf("v1=") + 3);
  const refuse = (given: string | undefined, raw = body, seen = new ReplayGuard()) => {
    const verdict = verifyWebhook(secret, given, raw, t, seen);
    if (verdict.ok) throw bugError(`a delivery the page calls refused was accepted: ${given}`);
    return code(`401 {"error":"${verdict.reason}"}`);
  };
  const replayed = new ReplayGuard();
  verifyWebhook(secret, header, body, t, replayed);
  const tolerance = formatDuration(SIGNATURE_TOLERANCE_MS);
  return [
    [`no ${code(SIGNATURE_HEADER)} header`, refuse(undefined)],
    ["`t` missing or not a whole number", refuse(`t=soon,v1=${v1}`)],
    ["no `v1=` part", refuse(`t=${t}`)],
    [
      `\`t\` more than ${tolerance} before or after the receiver's clock`,
      refuse(signWebhook(secret, body, t - SIGNATURE_TOLERANCE_MS - 1)),
    ],
    [
      "a `v1` that is not the HMAC of `<t>.<raw body>` (another secret, a changed body)",
      refuse(header, `${body} `),
    ],
    ["a `t` and `v1` the receiver accepted before", refuse(header, body, replayed)],
  ];
}

const METRICS_HEADING = code("GET /metrics");

interface Route {
  route: string;
  token: boolean;
  request: string;
  answers: string;
  usedBy: string;
}

/** The ops gateway as the harness and the load script use it (the reference stack's harness/stack/gateway.ts). */
const ROUTES: readonly Route[] = [
  {
    route: "GET /health",
    token: false,
    request: "",
    answers: "2xx while the stack is up (the reference stack: 200 or 503 with `{status, components}`)",
    usedBy:
      "the runner, which waits for a 2xx before the drill (30 s for a stack it starts, 10 s for `--sut-url`); probes `gateway_ok`, `gateway_failing`",
  },
  {
    route: "GET /metrics",
    token: false,
    request: "",
    answers: "Prometheus text",
    usedBy: `the KPI snapshot at the end of every drill ([below](#${anchor(METRICS_HEADING)}))`,
  },
  {
    route: "POST /mint",
    token: true,
    request: '`{"amount":"1000.00","recipient":"0x…"}`; `Idempotency-Key` optional',
    answers: "200 with `id`, `chain`, `tx_hash`; 422 reverted; 503 no chain could mint",
    usedBy: "load profiles (a 200 with a string `id` is a success)",
  },
  {
    route: "POST /redeem",
    token: true,
    request:
      '`{"amount":"50.00","holder":"0x…","collateral_type":"USDC"}`, `pay_to` and `chain` optional; `Idempotency-Key` required',
    answers: "200 paid, 202 accepted and queued, 422 failed; each with the redemption's `id`",
    usedBy: "`redemption_run`; load profiles",
  },
  {
    route: "GET /redemptions/:id",
    token: true,
    request: "",
    answers: "200 with `status`: `queued`, `sending`, `settled` or `failed`; 404 unknown",
    usedBy: "load profiles: a redemption answered 202 succeeds once `settled`",
  },
  {
    route: "POST /reports",
    token: true,
    request: '`{"report":"incident_report","deadline_ms":60000}`, both optional',
    answers: "202: the report is being filed",
    usedBy: "`regulatory_pressure`, the regulator's demand (a 2xx counts as delivered)",
  },
];

function clientSection(): string {
  const ts = readFileSync(join(ROOT, CLIENTS.typescript), "utf8");
  const sh = readFileSync(join(ROOT, CLIENTS.shell), "utf8");
  return page([
    "## Minimal clients",
    `Two clients that post one signed alert and nothing else; the test suite runs both against the runner's own receiver. ${code(CLIENTS.typescript)} needs Node 22.18 or later (which runs TypeScript as it is) and no package:`,
    fenced("ts", ts),
    `${code(CLIENTS.shell)} needs \`curl\` and \`openssl\`:`,
    fenced("sh", sh),
  ]);
}

export function renderSutContractPage(): string {
  const { body, header } = signatureExample();
  const tolerance = formatDuration(SIGNATURE_TOLERANCE_MS);
  const kpiRows = KPI_RULES.map((rule) => [
    code(rule.metric),
    code(rule.key),
    rule.description,
    rule.combine === "min" ? "the lowest" : "the highest",
  ]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return page([
    generatedNotice(
      "the code that builds the SUT environment, signs and checks alerts (harness/docs/contract-sources.ts) and the examples/ clients",
    ),
    "# The system-under-test contract",
    "What a stack gets from firedrill, and must give back, to be drilled. The reference monitoring stack ([`harness/stack/`](../harness/stack/README.md)) is written to this contract, and so is [`harness/stack/example-sut.mjs`](../harness/stack/example-sut.mjs), a 60-line stack of its own.",
    "At the least, a stack serves `GET /health` on `127.0.0.1:$FIREDRILL_SUT_PORT` and posts its alerts, signed, to `$FIREDRILL_ALERT_WEBHOOK`: phase times come only from those alerts. The gateway routes are needed only by the scenarios and load profiles that use them, and `/metrics` only for the KPI snapshot.",
    "## Environment",
    '`firedrill run --sut "<command>"` starts the stack with these variables added to the runner\'s own environment, and stops it after the run. Those from the lab are the same for every run on one lab, and `firedrill lab env` prints them for a lab started with `firedrill lab up --detach`; those from the run are new for each run.',
    table(["variable", "value", "from", "meaning"], environmentRows()),
    `${code("FIREDRILL_RPC_<CHAIN>_<PROVIDER>")}: ${VARIABLE_MEANINGS["FIREDRILL_RPC_<CHAIN>_<PROVIDER>"]}`,
    "`firedrill run --sut-url URL` attaches to a stack that is already running instead: the runner passes it nothing, uses `FIREDRILL_WEBHOOK_SECRET` and `FIREDRILL_GATEWAY_TOKEN` from its own environment when they are set there, and listens for alerts on a port it picks for each run, which an attached stack cannot learn: its alerts then reach no phase. Use `--sut` for a drill timed by the stack's alerts.",
    "## Alerts",
    `Every alert and action leaves the stack as one \`POST\` of a JSON object to \`$FIREDRILL_ALERT_WEBHOOK\`, with the header ${code(SIGNATURE_HEADER)}. Fields other than these are ignored; the body is at most ${MAX_ALERT_BODY_BYTES / 1024} KiB.`,
    alertFieldTable(),
    `Severities, most severe first: ${SEVERITIES.map(code).join(", ")}.`,
    "### Standard events",
    "Scenarios mark their phases with these names ([`scenarios.md`](scenarios.md#standard-events)); a stack may post others.",
    eventTable(),
    "### Signature",
    `${code(`${SIGNATURE_HEADER}: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`)}`,
    [
      "- `t` is the time of signing in Unix milliseconds.",
      "- `v1` is the lower-case hex HMAC-SHA256, keyed with `$FIREDRILL_WEBHOOK_SECRET`, of `t`, a dot, and the raw body exactly as sent: sign the bytes you send, not an object you serialize again.",
      "- Several `v1=` parts may be given (while a secret changes, say): the delivery passes when one of them matches.",
    ].join("\n"),
    `With the secret ${code(EXAMPLE.secret)}, \`t\` ${EXAMPLE.t} and this raw body (one line, exactly as sent):`,
    fenced("text", body),
    "the header is:",
    fenced("", `${SIGNATURE_HEADER}: ${header}`),
    "### What the receiver answers",
    `The receiver checks a delivery in this order: the method, the size, the signature, then the JSON. It refuses a \`t\` more than ${tolerance} before or after its own clock, and accepts each signature once: the pair of \`t\` and \`v1\` identifies a delivery.`,
    table(
      ["delivery", "answer"],
      [
        ["signed and of the format above", code('202 {"ok":true}')],
        ["any method but `POST`", "405"],
        [`a body over ${MAX_ALERT_BODY_BYTES / 1024} KiB`, "413"],
        ...refusalRows(body, header),
        ["signed, but not an alert of the format above", "400"],
      ],
    ),
    [
      "- Retry a delivery that got no answer or a 5xx with the same body and the same header: if the first attempt got through, the retry is refused as a replay (401) instead of counted twice.",
      "- A new alert needs a new signature: two alerts with the same body signed in the same millisecond are one delivery.",
      "- Phase times are taken when the receiver gets an alert; an alert received before the first injection reaches no phase. Post at once: a drill's detection time includes any delay in sending.",
      `- A monitoring tool that cannot sign this way posts its own format instead, to ${INTAKE_FORMATS.map((f) => code(`$${ENV.alertWebhook}${f.path.slice("/alerts".length)}`)).join(", ")}, mapped onto these events by the run's alert mapping: see [alert-intake.md](alert-intake.md).`,
    ].join("\n"),
    "## Gateway",
    `Served on \`127.0.0.1:$FIREDRILL_SUT_PORT\`. Routes marked with a token need \`Authorization: Bearer $FIREDRILL_GATEWAY_TOKEN\`. Amounts are decimal strings of fdUSD (\`"1000.00"\`), at most ${MAX_AMOUNT}; addresses are 0x hex.`,
    table(
      ["route", "token", "request body", "answers", "used by"],
      ROUTES.map((r) => [code(r.route), r.token ? "yes" : "no", r.request, r.answers, r.usedBy]),
    ),
    `Errors, as the reference stack answers them: 401 a missing or wrong token; 400 \`{"error":"invalid request","field","message"}\` naming the field; 413 a body over ${MAX_GATEWAY_BODY_BYTES / 1024} KiB; 409 an \`Idempotency-Key\` used again with a different body; 404 an unknown route or redemption.`,
    `### ${METRICS_HEADING}`,
    "At the end of every drill the runner reads `GET /metrics` (Prometheus text format) once and records in the journal each KPI that `scenarios/kpis.yml` gives a limit, with the value of its metric: empty when the stack does not serve the metric, and no KPI at all when `/metrics` does not answer with a 2xx status. Labels are ignored: when a metric has several series, the KPI takes the value listed. KPIs are recorded, not judged.",
    table(["metric", "KPI", "what it measures", "of several series"], kpiRows),
    clientSection(),
  ]);
}
