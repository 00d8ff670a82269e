/**
 * Rendering 100 journals into a trend report (target: under 10 s): `firedrill report`
 * reading, validating and rendering every journal as HTML with the index and its trend,
 * against two anchors measured in the same run: rendering one journal, and a JSON
 * round trip of the same 100 journals.
 *
 *   node bench/report.ts [count]
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Io } from "../harness/io.ts";
import { command } from "../harness/report/command.ts";
import { renderIndexHtml, renderJournalHtml } from "../harness/report/html.ts";
import { makeJournalSeries, writeJournalFiles } from "../harness/testing/journals.ts";

const count = Number(process.argv[2] ?? 100);
const TARGET_MS = 10_000;

const dir = await mkdtemp(join(tmpdir(), "firedrill-bench-report-"));
try {
  const journals = makeJournalSeries(count);
  const files = await writeJournalFiles(join(dir, "journals"), journals);
  const quiet: Io = { out: () => {}, err: () => {}, debug: false };

  // Warm-up: the first ECharts render loads and compiles the library.
  renderJournalHtml(journals[0]!);

  const time = async (fn: () => unknown, runs = 1): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < runs; i++) await fn();
    return (performance.now() - start) / runs;
  };

  const jsonMs = await time(async () => {
    for (const f of files) JSON.parse(JSON.stringify(JSON.parse(await readFile(f, "utf8"))));
  }, 3);
  const oneMs = await time(() => renderJournalHtml(journals[1]!), 5);
  const indexMs = await time(
    () => renderIndexHtml(journals.map((j) => ({ journal: j, href: `${j.id}.html` }))),
    3,
  );
  let code = -1;
  const fullMs = await time(async () => {
    code = await command(
      [
        join(dir, "journals"),
        "--verify",
        join(dir, "journals"),
        "--format",
        "html,md,junit",
        "--out",
        join(dir, "out"),
      ],
      quiet,
    );
  });
  if (code !== 0) throw new Error(`firedrill report exited ${code}`);

  const line = (label: string, ms: number): string =>
    `${label.padEnd(58)} ${(ms / 1000).toFixed(3).padStart(8)} s`;
  console.log(`report bench: ${count} journals (${process.version}, ${process.platform})`);
  console.log(line("anchor: JSON read+parse+stringify of every journal", jsonMs));
  console.log(line("anchor: one journal rendered to HTML", oneMs));
  console.log(line("index page with the trend charts only", indexMs));
  console.log(line(`full: report --verify --format html,md,junit (${count} + index)`, fullMs));
  console.log(
    `full render / one journal: ${(fullMs / oneMs).toFixed(1)}x (${count + 1} pages; ~${count + 1}x expected)`,
  );
  console.log(`full render / JSON round trip: ${(fullMs / jsonMs).toFixed(1)}x`);
  console.log(
    `target < ${TARGET_MS / 1000} s: ${fullMs < TARGET_MS ? "met" : "MISSED"} (${((100 * fullMs) / TARGET_MS).toFixed(0)} % of it)`,
  );
  if (fullMs >= TARGET_MS) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
