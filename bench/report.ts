/**
 * Rendering a folder of years of journals into a trend report (target: under 10 s for
 * 1,000 journals once they have been rendered before, as a team's reports folder is after
 * each gate or drill): `firedrill report --verify` over a folder that has grown by one
 * journal since its last rendering, which checks the whole chain, reads and validates every
 * journal, renders the new journal's pages and the index with its trend, and keeps every
 * other page. Measured in the same run: the anchors (a JSON round trip of every journal;
 * one journal rendered to HTML), the first rendering of the folder, and the index alone.
 *
 *   node bench/report.ts [--journals 1000]
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Io } from "../harness/io.ts";
import { command } from "../harness/report/command.ts";
import { renderIndexHtml, renderJournalHtml } from "../harness/report/html.ts";
import { makeJournalSeries, writeJournalFiles } from "../harness/testing/journals.ts";

const { values, positionals } = parseArgs({
  options: { journals: { type: "string" } },
  allowPositionals: true,
});
const count = Number(values.journals ?? positionals[0] ?? 1000);
if (!Number.isInteger(count) || count < 2) throw new Error("--journals: a whole number of at least 2");
const TARGET_MS = 10_000;

const dir = await mkdtemp(join(tmpdir(), "firedrill-bench-report-"));
try {
  // One more than `count`: the last is the drill that ran since the first rendering.
  const series = makeJournalSeries(count + 1);
  const journalsDir = join(dir, "journals");
  const out = join(dir, "out");
  const files = await writeJournalFiles(journalsDir, series.slice(0, count));
  let lines: string[] = [];
  const io: Io = { out: (l) => lines.push(l), err: () => {}, debug: false };

  // Warm-up: the first chart render loads and compiles the library.
  renderJournalHtml(series[0]!);

  const time = async (fn: () => unknown, runs = 1): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < runs; i++) await fn();
    return (performance.now() - start) / runs;
  };
  const report = async (): Promise<string> => {
    lines = [];
    const code = await command(
      [journalsDir, "--verify", journalsDir, "--format", "html,md,junit", "--out", out],
      io,
    );
    if (code !== 0) throw new Error(`firedrill report exited ${code}: ${lines.join("\n")}`);
    return lines.find((l) => l.startsWith("report: wrote")) ?? "";
  };

  const jsonMs = await time(async () => {
    for (const f of files) JSON.parse(JSON.stringify(JSON.parse(await readFile(f, "utf8"))));
  }, 3);
  const oneMs = await time(() => renderJournalHtml(series[1]!), 5);
  const indexMs = await time(
    () => renderIndexHtml(series.slice(0, count).map((j) => ({ journal: j, href: `${j.id}.html` }))),
    2,
  );
  let firstLine = "";
  const firstMs = await time(async () => {
    firstLine = await report();
  });
  const pagesAfterFirst = (await readdir(out)).length;

  await writeJournalFiles(journalsDir, series);
  let againLine = "";
  const againMs = await time(async () => {
    againLine = await report();
  });
  const rewritten = Number(/wrote (\d+) file/.exec(againLine)?.[1] ?? Number.NaN);
  // The new journal's three pages and the three index files, nothing else.
  if (rewritten !== 6) throw new Error(`expected 6 files written again, got: ${againLine}`);

  const line = (label: string, ms: number): string =>
    `${label.padEnd(66)} ${(ms / 1000).toFixed(3).padStart(8)} s`;
  console.log(`report bench: ${count} journals (${process.version}, ${process.platform})`);
  console.log(line("anchor: JSON read+parse+stringify of every journal", jsonMs));
  console.log(line("anchor: one journal rendered to HTML", oneMs));
  console.log(line(`index page with the trend charts of ${count} journals`, indexMs));
  console.log(line(`first rendering: report --verify --format html,md,junit (${count})`, firstMs));
  console.log(`  ${firstLine} (${pagesAfterFirst} files in the folder)`);
  console.log(line(`again, one journal more (${count + 1}, chain checked in full)`, againMs));
  console.log(`  ${againLine}`);
  console.log(`first rendering / one journal: ${(firstMs / oneMs).toFixed(1)}x (${count + 1} pages)`);
  console.log(
    `again / one journal: ${(againMs / oneMs).toFixed(1)}x; again / JSON round trip: ${(againMs / jsonMs).toFixed(1)}x`,
  );
  console.log(
    `target < ${TARGET_MS / 1000} s for ${count} journals rendered again: ${againMs < TARGET_MS ? "met" : "MISSED"} (${((100 * againMs) / TARGET_MS).toFixed(0)} % of it)`,
  );
  if (againMs >= TARGET_MS) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
