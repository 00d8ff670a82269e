/**
 * The HTML report: one self-contained file per journal (styles inline, charts as inline
 * SVG, no script, no font or image fetched), readable on screen and on A4 paper, and an
 * index page with the trend across drills when several journals are rendered.
 */

import { formatDuration } from "../duration.ts";
import {
  type Gameday,
  type Journal,
  journalHashMatches,
  journalPassed,
  redactJournal,
} from "../runner/journal.ts";
import {
  byScenario,
  histogramChart,
  latencyChart,
  mttrTrendChart,
  passRateTrendChart,
  phaseChart,
  scoreChart,
  timelineChart,
} from "./charts.ts";
import {
  esc,
  fmtMaybeMs,
  fmtMs,
  fmtValue,
  missedBy,
  outcome,
  peopleStep,
  peopleText,
  peopleTimeline,
  phaseSources,
  ROLE_LABELS,
  redactMarkup,
  shortHash,
  tPlus,
  tPlusAt,
  verdictUnit,
  verdictValue,
} from "./format.ts";
import { postmortemMarkdown } from "./postmortem.ts";
import { overallScore, scoreHistory, systemScores } from "./score.ts";

const CSS = `
:root{--ok:#047857;--ok-bg:#ecfdf5;--bad:#b91c1c;--bad-bg:#fef2f2;--warn:#b45309;--warn-bg:#fffbeb;--ink:#111827;--mute:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);margin:0;background:#f9fafb}
main{max-width:960px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:14px;margin:14px 0 6px}
p{margin:4px 0}.mute{color:var(--mute)}.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.verdict{border-radius:10px;padding:16px 20px;margin:8px 0 16px;border:2px solid}
.verdict.pass{background:var(--ok-bg);border-color:var(--ok);color:var(--ok)}
.verdict.fail{background:var(--bad-bg);border-color:var(--bad);color:var(--bad)}
.verdict.halt{background:var(--warn-bg);border-color:var(--warn);color:var(--warn)}
.verdict .big{font-size:30px;font-weight:800;letter-spacing:.04em}
.verdict .why{color:var(--ink);margin-top:6px}
.verdict ul{margin:6px 0 0 18px;padding:0;color:var(--ink)}
.stats{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:10px 0}
.stat{border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.stat .k{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--mute)}
.stat .v{font-size:20px;font-weight:700}
.stat .s{font-size:11px;color:var(--mute)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:12.5px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f3f4f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:var(--ok);font-weight:700}.bad{color:var(--bad);font-weight:700}
.pill{display:inline-block;border-radius:999px;padding:0 8px;font-size:11px;font-weight:700;border:1px solid}
.pill.ok{background:var(--ok-bg)}.pill.bad{background:var(--bad-bg)}
.t1{color:#b91c1c}.t2{color:#b45309}.t3{color:#1d4ed8}
.chart svg{max-width:100%;height:auto;display:block}
.two{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;margin:8px 0}
pre{white-space:pre-wrap;background:#f3f4f6;border-radius:6px;padding:10px;margin:6px 0}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:4px 0}dl.kv dt{color:var(--mute)}dl.kv dd{margin:0}
a{color:#1d4ed8}
footer{margin-top:30px;color:var(--mute);font-size:11px}
@page{size:A4;margin:12mm 11mm}
@media print{body{background:#fff;font-size:11.5px}main{max-width:none;padding:0}
 .pagebreak{break-before:page}.card,.chart,.verdict,.stats,tr,dl{break-inside:avoid}h2,h3{break-after:avoid}
 a{color:inherit;text-decoration:none}.noprint{display:none}}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>${body}</main></body></html>
`;
}

const pill = (ok: boolean | null, yes = "pass", no = "FAIL"): string =>
  ok === null
    ? `<span class="mute">—</span>`
    : `<span class="pill ${ok ? "ok" : "bad"}">${ok ? yes : no}</span>`;

function kv(rows: Array<[string, string]>): string {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

function stat(key: string, value: string, sub: string): string {
  return `<div class="stat"><div class="k">${esc(key)}</div><div class="v">${esc(value)}</div><div class="s">${esc(sub)}</div></div>`;
}

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ""}>${esc(h)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`,
    )
    .join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

export interface JournalPageOptions {
  /** Link back to the index page, when there is one. */
  indexHref?: string;
  /** Result of the directory chain check for this journal, when `--verify` ran. */
  chain?: "verified" | "problem" | "not checked";
}

/** The full report of one journal as a self-contained HTML document (redacted). */
export function renderJournalHtml(original: Journal, options: JournalPageOptions = {}): string {
  const hashOk = journalHashMatches(original);
  const journal = redactJournal(original);
  const o = outcome(journal);
  const parts: string[] = [];
  if (options.indexHref)
    parts.push(`<p class="noprint"><a href="${esc(options.indexHref)}">← all drills</a></p>`);
  parts.push(
    ...headline(journal, o, hashOk, options),
    ...drillSection(journal),
    ...systemsSection(journal),
    ...phasesAndVerdicts(journal),
  );
  if (journal.load !== null) parts.push(...loadSection(journal.load));
  parts.push(
    ...invariantsAndKpis(journal),
    ...faultsSection(journal),
    ...responseSections(journal),
    ...postmortemSection(journal),
    ...integritySection(journal, hashOk, options),
    ...eventsSection(journal),
  );
  return redactMarkup(page(`${o.label}: ${journal.scenario.name} (${journal.started_at})`, parts.join("\n")));
}

/** The title, the verdict with what failed, and the key figures. */
function headline(
  journal: Journal,
  o: ReturnType<typeof outcome>,
  hashOk: boolean,
  options: JournalPageOptions,
): string[] {
  const cls =
    journal.status === "aborted" || journal.status === "interrupted" ? "halt" : o.passed ? "pass" : "fail";
  const rtoMs = journal.systems.rto_seconds * 1000;
  const p = journal.phases;
  return [
    `<h1>Resilience drill: ${esc(journal.scenario.name)}</h1>`,
    `<p class="mute">${esc(journal.scenario.description)}</p>`,
    hashOk && options.chain !== "problem"
      ? ""
      : `<div class="verdict fail" id="tamper"><b>Integrity warning:</b> ${hashOk ? "the journal chain check reported a problem with this journal" : "this journal's content does not match its SHA-256; it was changed after it was written"}. See Integrity below.</div>`,
    `<div class="verdict ${cls}" id="verdict"><div class="big">${o.label}</div>`,
    `<div class="why">${esc(o.sentence)}; run ${esc(journal.status)}${journal.deviated ? ", <b>steady state deviated</b>" : ""}.</div>`,
    o.failed.length > 0
      ? `<ul>${o.failed.map((v) => `<li><b>${esc(v.name)}</b>: ${esc(v.reason)}</li>`).join("")}</ul>`
      : "",
    `</div>`,
    `<div class="stats">`,
    stat("MTTR", fmtMaybeMs(journal.mttr_ms), `first injection to recovery`),
    stat(
      "RTO applied",
      fmtMs(rtoMs),
      `${journal.systems.rto_system} (tier ${tierOf(journal, journal.systems.rto_system)})`,
    ),
    stat("Detection", fmtMaybeMs(p.detection_ms), limitText(journal.phase_limits_ms.detection)),
    stat(
      "RTO used",
      journal.mttr_ms === null ? "—" : `${((100 * journal.mttr_ms) / rtoMs).toFixed(1)} %`,
      journal.mttr_ms !== null && journal.mttr_ms <= rtoMs ? "within the RTO" : "not within the RTO",
    ),
    `</div>`,
  ];
}

/** What was drilled: scenario, seed, replay compression, versions, lab. */
function drillSection(journal: Journal): string[] {
  return [
    `<section><h2>Drill</h2>`,
    kv([
      [
        "Scenario",
        `${esc(journal.scenario.name)} <span class="mute">(${esc(journal.scenario.file)}, sha256 <span class="mono">${esc(shortHash(journal.scenario.sha256))}</span>)</span>`,
      ],
      ["Targets", esc(journal.scenario.targets.join(", "))],
      [
        "Seed",
        `<span class="mono">${journal.seed}</span> <span class="mono mute">firedrill run ${esc(journal.scenario.file)} --seed ${journal.seed}${journal.start_jitter ? ` --start-jitter ${esc(formatDuration(journal.start_jitter.max_ms))}` : ""}</span>`,
      ],
      [
        "Start jitter",
        journal.start_jitter
          ? `first injection ${fmtMs(journal.start_jitter.drawn_ms)} after the steady state held (drawn from the seed, at most ${fmtMs(journal.start_jitter.max_ms)})`
          : "none: the first injection came as soon as the steady state held",
      ],
      [
        "Replay compression",
        journal.replay_compression === 1
          ? "1 (not a compressed replay)"
          : `${journal.replay_compression}x: one drill second stands for ${journal.replay_compression} seconds of the real incident (measured times are wall-clock)`,
      ],
      [
        "Lab clock",
        journal.lab.clock_speedup == null
          ? "not recorded"
          : `feed heartbeats ${journal.lab.clock_speedup}x faster than real time`,
      ],
      [
        "Started",
        `${esc(journal.started_at)} <span class="mute">ended ${esc(journal.ended_at)} (${fmtMs(Date.parse(journal.ended_at) - Date.parse(journal.started_at))})</span>`,
      ],
      [
        "Versions",
        esc(
          `firedrill ${journal.versions.firedrill} · node ${journal.versions.node} · anvil ${journal.versions.anvil} · toxiproxy ${journal.versions.toxiproxy.kind} ${journal.versions.toxiproxy.version}${journal.versions.k6 ? ` · k6 ${journal.versions.k6}` : ""} · ${journal.versions.stack.name} ${journal.versions.stack.version}`,
        ),
      ],
      [
        "Lab",
        esc(
          `${journal.lab.chains.map((c) => `${c.name} (${c.chain_id}${c.fork ? `, fork ${c.fork}` : ""})`).join(", ")}; price sources ${journal.lab.sources.join(", ")}`,
        ),
      ],
      ["Journal", `<span class="mono">${esc(journal.id)}</span>`],
    ]),
    `</section>`,
  ];
}

/** Every system the scenario touches, with its tier and RTO. */
function systemsSection(journal: Journal): string[] {
  const rtoMs = journal.systems.rto_seconds * 1000;
  return [
    `<section><h2>Systems touched (blast radius)</h2>`,
    table(
      ["system", "tier", "RTO", "why touched"],
      [...journal.systems.touched]
        .sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name))
        .map((s) => [
          s.name === journal.systems.rto_system ? `<b>${esc(s.name)}</b> ← RTO applied` : esc(s.name),
          `<span class="t${s.tier}">tier ${s.tier}</span>`,
          fmtMs(s.rto_seconds * 1000),
          s.via === "target" ? "target of the scenario" : "depends on a target",
        ]),
      [2],
    ),
    `<p class="mute">The RTO of the run is the tightest among the targets and every system that depends on them: ${fmtMs(rtoMs)}.</p></section>`,
  ];
}

/** The timeline and phase charts, the phase table and every verdict. */
function phasesAndVerdicts(journal: Journal): string[] {
  return [
    `<section class="pagebreak"><h2>Timeline</h2><div class="chart">${timelineChart(journal)}</div></section>`,
    ...(journal.gameday === undefined ? [] : peopleSection(journal, journal.gameday)),
    `<section><h2>Phases and MTTR</h2><div class="chart">${phaseChart(journal)}</div>`,
    phaseTable(journal),
    `</section>`,
    `<section><h2>Verdicts</h2>`,
    table(
      ["", "verdict", "kind", "limit", "measured", "reason"],
      journal.verdicts.map((v) => [
        pill(v.passed),
        esc(v.name),
        esc(v.kind),
        esc(verdictValue(v, "limit")),
        esc(verdictValue(v, "measured")),
        esc(v.reason),
      ]),
    ),
    `</section>`,
  ];
}

/** The load that ran through the faults: a row per scenario, latency and histograms. */
function loadSection(load: NonNullable<Journal["load"]>): string[] {
  return [
    `<section class="pagebreak"><h2>Load (${esc(load.profile)}, ${esc(load.engine)})</h2>`,
    table(
      ["scenario", "requests", "rps", "success", "p50", "p95", "p99", "max", "budgets"],
      load.scenarios.map((s) => [
        esc(s.name),
        String(s.requests),
        s.rps.toFixed(1),
        `${(s.success_rate * 100).toFixed(2)} %`,
        fmtMs(s.p50_ms),
        fmtMs(s.p95_ms),
        fmtMs(s.p99_ms),
        fmtMs(s.max_ms),
        s.budgets.map((b) => `${pill(b.passed)} <span class="mono">${esc(b.threshold)}</span>`).join("<br>"),
      ]),
      [1, 2, 3, 4, 5, 6, 7],
    ),
    `<div class="two"><div class="chart">${latencyChart(load.scenarios)}</div>`,
    load.scenarios.map((s) => `<div class="chart">${histogramChart(s)}</div>`).join(""),
    `</div></section>`,
  ];
}

/** Invariants, and the KPIs at the end of the drill. */
function invariantsAndKpis(journal: Journal): string[] {
  return [
    `<section${journal.load === null ? ' class="pagebreak"' : ""}><h2>Invariants</h2>`,
    table(
      ["", "invariant", "detail"],
      journal.invariants.map((i) => [pill(i.passed, "holds", "BROKEN"), esc(i.name), esc(i.detail)]),
    ),
    `</section><section><h2>KPIs at the end of the drill</h2>`,
    table(
      ["", "KPI", "value", "limit", "kind", "description"],
      journal.kpis.map((k) => [
        pill(k.ok, "ok", "OFF"),
        esc(k.name),
        esc(k.value === null ? "—" : `${k.value} ${k.unit}`),
        esc(`${k.direction === "at_least" ? "≥" : "≤"} ${k.limit} ${k.unit}`),
        esc(k.kind),
        esc(k.description ?? ""),
      ]),
      [2, 3],
    ),
    `</section>`,
  ];
}

/** Each fault, with the proof that it took effect. */
function faultsSection(journal: Journal): string[] {
  return [
    `<section class="pagebreak"><h2>Faults and the proof they took effect</h2>`,
    journal.faults
      .map(
        (f, i) =>
          `<div class="card"><h3>F${i + 1} ${esc(f.type)} ${pill(f.proof?.ok ?? null, "proven", "NOT PROVEN")}</h3>` +
          `<p>${esc(f.description)}</p>` +
          kv([
            ["Parameters", `<span class="mono">${esc(JSON.stringify(f.params))}</span>`],
            [
              "Scheduled",
              esc(
                `at ${fmtMs(f.scheduled_at_ms)}${f.scheduled_for_ms === null ? "" : ` for ${fmtMs(f.scheduled_for_ms)}`}`,
              ),
            ],
            ["Injected", esc(f.injected_at ?? "not injected")],
            ["Healed", esc(f.healed_at ?? "not healed")],
            [
              "Proof",
              f.proof === null
                ? "none recorded"
                : `${esc(f.proof.summary)} <span class="mute">at ${esc(f.proof.at)}</span><br><span class="mono">${esc(JSON.stringify(f.proof.observed))}</span>`,
            ],
          ]) +
          `</div>`,
      )
      .join(""),
    `</section>`,
  ];
}

/**
 * A GameDay's people, beside the automated timeline: the team, the pages and the
 * responders' steps, the human verdicts, and what they sent. Every name and text is the
 * responders' own input: all of it is escaped, and the room's address is text, not a link.
 */
function peopleSection(journal: Journal, g: Gameday): string[] {
  const limits = g.limits_ms;
  const human = journal.verdicts.filter((v) => v.kind === "human");
  return [
    `<section id="people"><h2>People (GameDay)</h2>`,
    kv([
      [
        "Team",
        g.team.length === 0
          ? `<span class="mute">nobody</span>`
          : `<ol>${g.team.map((m) => `<li><b>${esc(m.name)}</b> <span class="mute">${esc(ROLE_LABELS[m.role])}</span></li>`).join("")}</ol>`,
      ],
      [
        "Scenario",
        g.blind ? "blind: kept from the responders until the end of the drill" : "known to the responders",
      ],
      ["Paged at", g.paged_at === null ? "nobody was paged" : esc(whenText(journal, g.paged_at))],
      ["Incident room", g.room === null ? "none served" : `<span class="mono">${esc(g.room)}</span>`],
      [
        "Limits",
        esc(
          `acknowledge ${fmtMs(limits.acknowledge)} · assessment ${fmtMs(limits.assessment)} · incident alert ${fmtMs(limits.communication)} · updates every ${fmtMs(limits.updates_every)} (from the first page)`,
        ),
      ],
    ]),
    `<h3>Human timeline</h3>`,
    table(
      ["t", "step", "who", "what"],
      peopleTimeline(journal).map((e) => [
        esc(tPlus(e.t_ms)),
        e.kind === "page.failed" ? `<span class="bad">${esc(peopleStep(e))}</span>` : esc(peopleStep(e)),
        esc(e.who ?? "—"),
        esc(peopleText(e)),
      ]),
      [0],
    ),
    human.length === 0
      ? ""
      : table(
          ["", "human target", "limit", "measured", "missed by", "reason"],
          human.map((v) => {
            const by = missedBy(v);
            return [
              pill(v.passed),
              esc(v.name),
              esc(verdictValue(v, "limit")),
              esc(verdictValue(v, "measured")),
              by === null ? "" : esc(fmtValue(by, verdictUnit(v))),
              esc(v.reason),
            ];
          }),
        ),
    ...sentHtml(
      journal,
      "Incident alert as sent",
      g.incident_alert === null ? [] : [g.incident_alert],
      "not sent",
    ),
    ...sentHtml(journal, "Status updates", g.updates, "none"),
    ...sentHtml(
      journal,
      "Resolution",
      g.resolution === null ? [] : [g.resolution],
      "nobody marked the incident resolved",
    ),
    `</section>`,
  ];
}

/** `2026-11-02T03:00:04.512Z (t+2.1 s)`. */
function whenText(journal: Journal, at: string): string {
  const t = tPlusAt(journal, at);
  return t === null ? at : `${at} (${t})`;
}

/** Messages a responder sent (the incident alert, updates, the resolution), each as preformatted text. */
function sentHtml(
  journal: Journal,
  title: string,
  messages: ReadonlyArray<{ at: string; by: string; text: string }>,
  none: string,
): string[] {
  if (messages.length === 0) return [`<h3>${esc(title)}</h3><p class="mute">${esc(none)}</p>`];
  return [
    `<h3>${esc(title)}</h3>`,
    ...messages.map(
      (m) =>
        `<div class="card"><p>by <b>${esc(m.by)}</b> <span class="mute">at ${esc(whenText(journal, m.at))}</span></p><pre>${esc(m.text)}</pre></div>`,
    ),
  ];
}

/** The post-mortem draft (Markdown, as text), for a GameDay. */
function postmortemSection(journal: Journal): string[] {
  const g = journal.gameday;
  if (g === undefined) return [];
  return [
    `<section class="pagebreak" id="postmortem"><h2>Post-mortem draft</h2>`,
    `<p class="mute">${g.postmortem === null ? "" : `Written next to the journal as <span class="mono">${esc(g.postmortem)}</span>. `}The same Markdown comes from <span class="mono">firedrill report &lt;journal&gt; --format postmortem</span>. The team fills in the root cause, what went well and wrong, and the action items.</p>`,
    `<pre>${esc(postmortemMarkdown(journal))}</pre>`,
    `</section>`,
  ];
}

/** The incident alert, the remediation plan and the notes. */
function responseSections(journal: Journal): string[] {
  return [
    `<section><h2>Incident alert</h2><pre>${esc(journal.alert.text)}</pre></section>`,
    `<section><h2>Remediation plan</h2>`,
    table(
      ["", "step", "owner", "due"],
      journal.remediation.map((r) => [
        r.done ? `<span class="ok">✓ done</span>` : `<span class="bad">open</span>`,
        esc(r.step),
        esc(r.owner),
        esc(r.due),
      ]),
    ),
    `</section>`,
    journal.notes.length > 0
      ? `<section><h2>Notes</h2><ul>${journal.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul></section>`
      : "",
  ];
}

/** The journal's hash and its place in the chain. */
function integritySection(journal: Journal, hashOk: boolean, options: JournalPageOptions): string[] {
  return [
    `<section><h2>Integrity</h2>`,
    kv([
      [
        "SHA-256",
        `<span class="mono">${journal.integrity.sha256}</span> ${hashOk ? '<span class="pill ok">matches content</span>' : '<span class="pill bad">DOES NOT MATCH CONTENT</span>'}`,
      ],
      ["Position", `number ${journal.integrity.sequence} in its directory's chain`],
      [
        "Previous",
        journal.integrity.previous === null
          ? "none (first journal)"
          : `<span class="mono">${esc(journal.integrity.previous.file)}</span><br><span class="mono">${journal.integrity.previous.sha256}</span>`,
      ],
      ["Chain check", esc(options.chain ?? "not checked (firedrill report --verify <dir>)")],
    ]),
    `</section>`,
  ];
}

/** Every event of the timeline, and the footer. */
function eventsSection(journal: Journal): string[] {
  return [
    `<section class="pagebreak"><h2>Every event</h2>`,
    table(
      ["t", "kind", "event"],
      journal.timeline.map((e) => [fmtMs(e.t_ms), esc(e.kind), esc(e.summary)]),
      [0],
    ),
    `</section>`,
    `<footer>Rendered by firedrill from journal ${esc(journal.id)} (format ${journal.version}). This report is derived from the journal alone.</footer>`,
  ];
}

function tierOf(journal: Journal, system: string): string {
  return String(journal.systems.touched.find((s) => s.name === system)?.tier ?? "?");
}

function limitText(limit: number | null): string {
  return limit === null ? "no phase limit" : `limit ${fmtMs(limit)}`;
}

function phaseTable(journal: Journal): string {
  const names = ["detection", "response", "mitigation", "recovery"] as const;
  const sources = phaseSources(journal);
  let prev = 0;
  const rows = names.map((name) => {
    const at = journal.phases[`${name}_ms`];
    const limit = journal.phase_limits_ms[name];
    const segment = at === null ? null : at - prev;
    if (at !== null) prev = at;
    const source = name === "recovery" ? undefined : sources[name];
    return [
      esc(name),
      fmtMaybeMs(at),
      fmtMaybeMs(segment),
      name === "recovery"
        ? `<span class="mute">steady-state probes</span>`
        : source === undefined
          ? `<span class="mute">—</span>`
          : `${esc(source.alert)}${source.via === null ? "" : ` <span class="mute">(via ${esc(source.via)})</span>`}`,
      source?.deliveryMs == null ? `<span class="mute">—</span>` : fmtMs(source.deliveryMs),
      limit === null ? `<span class="mute">—</span>` : fmtMs(limit),
      limit === null
        ? at === null
          ? pill(false, "", "not reached")
          : `<span class="mute">n/a</span>`
        : pill(at !== null && at <= limit),
    ];
  });
  const rtoMs = journal.systems.rto_seconds * 1000;
  rows.push([
    "<b>MTTR</b>",
    `<b>${fmtMaybeMs(journal.mttr_ms)}</b>`,
    "",
    "",
    "",
    `RTO ${fmtMs(rtoMs)}`,
    pill(journal.mttr_ms !== null && journal.mttr_ms <= rtoMs),
  ]);
  return `${table(["phase", "reached after", "phase took", "reached by", "of which delivery", "limit", ""], rows, [1, 2, 4, 5])}
<p class="mute">Phases are timed when an alert arrives. "Of which delivery" is how long that alert took from being raised (or fired, at its sender) to its arrival: part of the phase, not added to it.</p>`;
}

export interface IndexEntry {
  journal: Journal;
  /** Relative link to the journal's HTML report. */
  href: string;
}

/** The index of several drills with their trend: MTTR and pass rate over time, per scenario. */
export function renderIndexHtml(original: readonly IndexEntry[], problems: readonly string[] = []): string {
  const entries = original.map((e) => ({ journal: redactJournal(e.journal), href: e.href }));
  const journals = entries.map((e) => e.journal);
  const passedCount = journals.filter(journalPassed).length;
  const rows = [...entries]
    .sort((a, b) => b.journal.started_at.localeCompare(a.journal.started_at))
    .map(({ journal: j, href }) => {
      const o = outcome(j);
      return [
        esc(j.started_at.slice(0, 16).replace("T", " ")),
        `<a href="${esc(href)}">${esc(j.scenario.name)}</a>`,
        `<span class="pill ${o.passed ? "ok" : "bad"}">${o.label}</span>`,
        esc(`${o.total - o.failed.length}/${o.total}`),
        fmtMaybeMs(j.mttr_ms),
        fmtMs(j.systems.rto_seconds * 1000),
        String(j.seed),
      ];
    });
  const perScenario = [...byScenario(journals)].map(([name, list]) => {
    const mttrs = list
      .map((j) => j.mttr_ms)
      .filter((m): m is number => m !== null)
      .sort((a, b) => a - b);
    const median = mttrs.length === 0 ? null : mttrs[Math.floor(mttrs.length / 2)]!;
    const ok = list.filter(journalPassed).length;
    const last = list.at(-1)!;
    return [
      esc(name),
      String(list.length),
      `${((100 * ok) / list.length).toFixed(0)} %`,
      fmtMaybeMs(median),
      fmtMaybeMs(last.mttr_ms),
      fmtMs(last.systems.rto_seconds * 1000),
    ];
  });
  // The score as of the latest drill, so that the same journals always render the same page.
  const asOf = journals
    .map((j) => j.ended_at)
    .sort()
    .at(-1);
  const scores = asOf === undefined ? [] : systemScores(journals, Date.parse(asOf));
  const overall = overallScore(scores);
  const scoreRows = scores.map((s) => [
    esc(s.name),
    String(s.tier),
    s.score.toFixed(1),
    s.last === null ? "—" : esc(s.last.at.slice(0, 16).replace("T", " ")),
    s.last === null ? "—" : `${esc(s.last.scenario)} ${pill(s.last.passed)}`,
    s.last === null ? "—" : fmtMaybeMs(s.last.mttr_ms),
    String(s.drills),
  ]);
  const first = journals.map((j) => j.started_at).sort()[0] ?? "";
  const last =
    journals
      .map((j) => j.started_at)
      .sort()
      .at(-1) ?? "";
  const body = [
    `<h1>Resilience drills: ${journals.length} journals</h1>`,
    `<p class="mute">${esc(first.slice(0, 10))} to ${esc(last.slice(0, 10))}</p>`,
    `<div class="verdict ${passedCount === journals.length ? "pass" : "fail"}" id="verdict"><div class="big">${passedCount}/${journals.length} PASSED</div>`,
    `<div class="why">${((100 * passedCount) / Math.max(1, journals.length)).toFixed(0)} % of drills met every verdict.</div></div>`,
    problems.length > 0
      ? `<div class="verdict fail"><b>Problems</b><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul></div>`
      : "",
    overall === null
      ? ""
      : [
          `<section><h2>Resilience score: ${overall.toFixed(1)} / 100</h2>`,
          `<p class="mute">As of the latest drill (${esc(asOf!.slice(0, 16).replace("T", " "))} UTC). Each system scores its latest drill: 100 for a pass, 50 for a failure, less 25% of that for every 30 days since; the overall score weighs tier 1 systems 3, tier 2 systems 2, others 1. Systems never drilled are not listed here.</p>`,
          `<div class="chart">${scoreChart(scoreHistory(journals))}</div>`,
          table(
            ["system", "tier", "score", "last drilled (UTC)", "last drill", "its MTTR", "drills"],
            scoreRows,
            [1, 2, 5, 6],
          ),
          "</section>",
        ].join("\n"),
    `<section><h2>Trend across drills</h2><div class="chart">${mttrTrendChart(journals)}</div>`,
    `<div class="chart">${passRateTrendChart(journals)}</div></section>`,
    `<section><h2>By scenario</h2>`,
    table(
      ["scenario", "drills", "pass rate", "median MTTR", "last MTTR", "RTO"],
      perScenario,
      [1, 2, 3, 4, 5],
    ),
    `</section><section class="pagebreak"><h2>Every drill</h2>`,
    table(
      ["started (UTC)", "scenario", "verdict", "verdicts passed", "MTTR", "RTO", "seed"],
      rows,
      [3, 4, 5, 6],
    ),
    `</section><footer>Rendered by firedrill from ${journals.length} journals.</footer>`,
  ].join("\n");
  return redactMarkup(page(`Resilience drills: ${passedCount}/${journals.length} passed`, body));
}
