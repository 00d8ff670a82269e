/**
 * The incident room's page: one self-contained HTML document (no script, style or font from
 * elsewhere), rendered on the server, with a labelled form per step. It works without
 * JavaScript; a few lines of inline script refresh the live parts (alerts, assessment,
 * timeline) every few seconds and remember who you are.
 */
import { IMMEDIATE_ACTIONS, SEVERITIES } from "./incident-form.ts";
import type { RoomState } from "./steps.ts";

const esc = (text: unknown) =>
  String(text ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#7a1020;color:#fff;padding:12px 20px}header h1{margin:0;font-size:20px}
main{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:16px;padding:16px 20px}
section{background:#fff;border:1px solid #d7dbe0;border-radius:6px;padding:12px 14px;margin-bottom:16px;min-width:0}
h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #e3e6ea;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
form{margin:0 0 14px;padding:0 0 12px;border-bottom:1px dashed #d7dbe0}
label{display:block;font-size:13px;margin:6px 0 2px;font-weight:600}
input[type=text],select,textarea{width:100%;box-sizing:border-box;font:inherit;padding:4px 6px}
textarea{min-height:54px}.check{font-weight:400}button{margin-top:8px;font:inherit;padding:5px 12px;cursor:pointer}
.done{color:#0a6b2d;font-weight:600}.todo{color:#8a5a00}.sev-critical,.sev-high{color:#a3001b;font-weight:600}
.steps span{display:inline-block;margin-right:10px}.muted{color:#5d6670;font-size:13px}
`;

/** The room's page for `state`; `nonce` lets the inline script run under the room's CSP. */
export function roomPage(state: RoomState, nonce: string): string {
  const title = state.title ? `GameDay ${state.title}` : "GameDay";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Incident room: ${esc(title)}</title><style>${STYLE}</style></head>
<body data-ended="${state.ended ? "true" : "false"}">
<header><h1>Incident room: ${esc(title)}</h1>
<div id="live-status">${statusLine(state)}</div></header>
<main>
<div>
<section id="live-alerts" aria-labelledby="alerts-h"><h2 id="alerts-h">Alerts received</h2>${alertsTable(state)}</section>
<section id="live-assessment" aria-labelledby="assess-h"><h2 id="assess-h">Live assessment</h2>${assessmentBlock(state)}</section>
<section id="live-timeline" aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2>${timelineTable(state)}</section>
</div>
<section id="live-steps" aria-labelledby="act-h"><h2 id="act-h">Your steps</h2>${state.ended ? "<p>The drill has ended: the room takes no more steps.</p>" : forms(state)}</section>
</main>
<script nonce="${esc(nonce)}">${SCRIPT}</script>
</body></html>`;
}

function statusLine(state: RoomState): string {
  const step = (done: boolean, text: string) =>
    `<span class="${done ? "done" : "todo"}">${done ? "&#10003;" : "&#9675;"} ${esc(text)}</span>`;
  const d = state.done;
  return `<div class="steps">${[
    step(d.acknowledged, "acknowledged"),
    step(d.assessed, "assessed"),
    step(d.communicated, "incident alert sent"),
    step(d.updated, "updates"),
    step(d.mitigated, "mitigated"),
    step(d.resolved, "resolved"),
  ].join(
    "",
  )}</div><div class="muted">${state.pagedAt ? `first page ${esc(state.pagedAt)}` : "nobody paged yet"}${state.ended ? " &middot; the drill has ended" : ""}</div>`;
}

function alertsTable(state: RoomState): string {
  if (state.alerts.length === 0) return `<p class="muted">No alert yet.</p>`;
  const rows = state.alerts
    .map(
      (a) =>
        `<tr><td>${esc(a.at.slice(11, 19))}</td><td class="sev-${esc(a.severity ?? "")}">${esc(a.name)}</td><td>${esc(a.severity ?? "")}</td><td>${esc([a.system, a.chain].filter(Boolean).join(" / "))}</td><td>${esc(a.summary)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>UTC</th><th>alert</th><th>severity</th><th>where</th><th>what</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function assessmentBlock(state: RoomState): string {
  const a = state.assessment;
  if (!a)
    return `<p class="muted">${esc(state.assessmentError ? `Not available: ${state.assessmentError}` : "Reading the lab...")}</p>`;
  const n = (v: number | null, digits: number) => (v === null ? "n/a" : v.toFixed(digits));
  const chains = a.chains
    .map((c) =>
      c.error
        ? `<tr><td>${esc(c.name)}</td><td colspan="5">unreachable: ${esc(c.error)}</td></tr>`
        : `<tr><td>${esc(c.name)}</td><td>${n(c.collateralRatio, 4)}</td><td>${n(c.baseFeeGwei, 2)}</td><td>${esc(c.pendingTransactions ?? "n/a")}</td><td>${esc(c.head ?? "n/a")}</td><td>${esc(c.provider ?? "")}${c.mintingPaused ? " (minting paused)" : ""}</td></tr>`,
    )
    .join("");
  const oracles = a.oracles
    .map(
      (o) =>
        `<tr><td>${esc(o.pair)}</td><td>${n(o.median, 4)}</td><td>${(o.maxDeviation * 100).toFixed(2)}%</td><td>${esc(
          Object.entries(o.sources)
            .map(([k, v]) => `${k} ${v}`)
            .join(", "),
        )}</td></tr>`,
    )
    .join("");
  const health = a.health ? esc(a.health.status) : "no answer";
  return `<p>Severity <strong class="sev-${esc(a.severity)}">${esc(a.severity.toUpperCase())}</strong> &middot; health ${health} &middot; redemption backlog ${esc(a.redemptionBacklog ?? "n/a")} &middot; <span class="muted">read ${esc(a.at.slice(11, 19))} UTC</span></p>
<table><caption class="muted">Collateral ratio, gas and pending transactions</caption><thead><tr><th>chain</th><th>ratio</th><th>gas gwei</th><th>pending</th><th>head</th><th>provider</th></tr></thead><tbody>${chains}</tbody></table>
<table><caption class="muted">Oracle prices and their spread</caption><thead><tr><th>pair</th><th>median</th><th>max deviation</th><th>sources</th></tr></thead><tbody>${oracles}</tbody></table>`;
}

function timelineTable(state: RoomState): string {
  if (state.timeline.length === 0) return `<p class="muted">Nothing yet.</p>`;
  const rows = state.timeline
    .map(
      (e) =>
        `<tr><td>${esc(e.at.slice(11, 19))}</td><td>${esc(e.kind)}</td><td>${esc(e.who ?? "")}</td><td>${esc(e.summary)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>UTC</th><th>event</th><th>who</th><th>what</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function whoField(state: RoomState, id: string): string {
  const options = state.team
    .map((m) => `<option value="${esc(m.name)}">${esc(m.name)} (${esc(m.role.replace("_", " "))})</option>`)
    .join("");
  return `<label for="${id}-who">You are</label><select id="${id}-who" name="who" class="who">${options}</select>`;
}

function simpleForm(
  state: RoomState,
  step: string,
  title: string,
  button: string,
  note: "none" | "optional" | "required",
): string {
  const noteField =
    note === "none"
      ? ""
      : `<label for="${step}-note">${note === "required" ? "What was done" : "Note (optional)"}</label><textarea id="${step}-note" name="note"${note === "required" ? " required" : ""}></textarea>`;
  return `<form id="${step}" method="post" action="/act/${step}"><h3>${esc(title)}</h3>${whoField(state, step)}${noteField}<button type="submit">${esc(button)}</button></form>`;
}

function forms(state: RoomState): string {
  const t = state.template;
  const field = (name: string, label: string, value: string, area = false) =>
    `<label for="communicate-${name}">${esc(label)}</label>${
      area
        ? `<textarea id="communicate-${name}" name="${name}">${esc(value)}</textarea>`
        : `<input type="text" id="communicate-${name}" name="${name}" value="${esc(value)}">`
    }`;
  const severity = SEVERITIES.map(
    (s) => `<option value="${s}"${s === t.severity ? " selected" : ""}>${s.toUpperCase()}</option>`,
  ).join("");
  const checks = Object.entries(IMMEDIATE_ACTIONS)
    .map(
      ([key, text]) =>
        `<label class="check" for="communicate-${key}"><input type="checkbox" id="communicate-${key}" name="actions" value="${key}"> ${esc(text)}</label>`,
    )
    .join("");
  const communicate = `<form id="communicate" method="post" action="/act/communicate"><h3>Send the incident alert</h3>${whoField(state, "communicate")}
<input type="hidden" name="form" value="1">
<label for="communicate-severity">Severity</label><select id="communicate-severity" name="severity">${severity}</select>
${field("time", "Time (UTC)", t.time)}${field("system", "System", t.system)}${field("impact", "Impact", t.impact, true)}${field("status", "Current status", t.status)}
<fieldset><legend>Immediate actions taken</legend>${checks}</fieldset>
${field("nextSteps", "Next steps", t.nextSteps, true)}${field("owner", "Owner", t.owner)}${field("timeline", "Timeline", t.timeline)}
<button type="submit">Send the incident alert</button></form>`;
  return [
    simpleForm(state, "acknowledge", "Acknowledge the page", "Acknowledge", "none"),
    simpleForm(state, "assess", "Immediate assessment", "Assessment done", "optional"),
    communicate,
    simpleForm(state, "update", "Status update", "Post the update", "required"),
    simpleForm(state, "mitigate", "Mitigation", "Mitigation in place", "required"),
    simpleForm(state, "resolve", "Resolution", "Mark resolved", "required"),
  ].join("\n");
}

/** A short page for a refused request (wrong token, a step the room did not take). */
export function errorPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Incident room</title><style>${STYLE}</style></head><body><header><h1>Incident room</h1></header><main><section><p role="alert">${esc(message)}</p><p><a href="/">Back to the room</a></p></section></main></body></html>`;
}

/** How often an open page refreshes its live parts, ms. */
export const REFRESH_MS = 2_000;

// Refreshes the live parts from the room's own page, and keeps the "You are" choice across forms.
const SCRIPT = `
(function(){
  var KEY='firedrill-room-who';
  function who(){var v=localStorage.getItem(KEY);document.querySelectorAll('select.who').forEach(function(s){if(v)s.value=v;s.addEventListener('change',function(){localStorage.setItem(KEY,s.value);document.querySelectorAll('select.who').forEach(function(o){o.value=s.value;});});});}
  var timer;
  function refresh(){fetch('/',{credentials:'same-origin',cache:'no-store'}).then(function(r){return r.ok?r.text():null;}).then(function(html){
    if(!html)return;var doc=new DOMParser().parseFromString(html,'text/html');
    var ended=doc.body.getAttribute('data-ended')==='true';
    ['live-status','live-alerts','live-assessment','live-timeline'].concat(ended?['live-steps']:[]).forEach(function(id){var a=document.getElementById(id),b=doc.getElementById(id);if(a&&b)a.innerHTML=b.innerHTML;});
    // The room closes soon after the drill ends: nothing more to ask it.
    if(ended)clearInterval(timer);
  }).catch(function(){});}
  who();if(document.body.getAttribute('data-ended')!=='true')timer=setInterval(refresh,${REFRESH_MS});
})();`;
