/**
 * JUnit XML from journals: one test case per verdict, the reason as the failure message. A
 * test case's class is `firedrill.<scenario>.<kind>`: a GameDay's human verdicts are
 * `firedrill.<scenario>.human`, beside `.rto`, `.phase`, `.invariant`...
 */

import { type Journal, redactJournal } from "../runner/journal.ts";
import { redactMarkup, verdictValue } from "./format.ts";

/** Escapes text for XML content and attributes, dropping characters XML 1.0 forbids. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

function suite(original: Journal): { xml: string; tests: number; failures: number; timeS: number } {
  const j = redactJournal(original);
  const timeS = Math.max(0, (Date.parse(j.ended_at) - Date.parse(j.started_at)) / 1000);
  const failures = j.verdicts.filter((v) => !v.passed).length;
  const cases = j.verdicts.map((v) => {
    const name = xmlEscape(v.name);
    const classname = xmlEscape(`firedrill.${j.scenario.name}.${v.kind}`);
    const detail = xmlEscape(`limit ${verdictValue(v, "limit")}, measured ${verdictValue(v, "measured")}`);
    return v.passed
      ? `    <testcase name="${name}" classname="${classname}" time="0"/>`
      : `    <testcase name="${name}" classname="${classname}" time="0">\n      <failure message="${xmlEscape(v.reason)}" type="${xmlEscape(v.kind)}">${detail}</failure>\n    </testcase>`;
  });
  const props = [
    ["journal", j.id],
    ["seed", String(j.seed)],
    ["status", j.status],
    ["replay_compression", String(j.replay_compression)],
    ["rto_seconds", String(j.systems.rto_seconds)],
    ["mttr_ms", j.mttr_ms === null ? "" : String(j.mttr_ms)],
    ["sha256", j.integrity.sha256],
  ]
    .map(([k, v]) => `      <property name="${xmlEscape(k!)}" value="${xmlEscape(v!)}"/>`)
    .join("\n");
  const xml = [
    `  <testsuite name="${xmlEscape(`firedrill ${j.scenario.name}`)}" tests="${j.verdicts.length}" failures="${failures}" errors="0" skipped="0" time="${timeS.toFixed(3)}" timestamp="${xmlEscape(j.started_at)}">`,
    `    <properties>\n${props}\n    </properties>`,
    ...cases,
    "  </testsuite>",
  ].join("\n");
  return { xml, tests: j.verdicts.length, failures, timeS };
}

/** A JUnit XML document for one journal (one test case per verdict). */
export function junitFromJournal(journal: Journal): string {
  return junitFromJournals([journal]);
}

/** A JUnit XML document with one test suite per journal. */
export function junitFromJournals(journals: readonly Journal[]): string {
  const suites = journals.map(suite);
  const tests = suites.reduce((n, s) => n + s.tests, 0);
  const failures = suites.reduce((n, s) => n + s.failures, 0);
  const time = suites.reduce((n, s) => n + s.timeS, 0);
  return redactMarkup(
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="firedrill" tests="${tests}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n${suites.map((s) => s.xml).join("\n")}\n</testsuites>\n`,
  );
}
