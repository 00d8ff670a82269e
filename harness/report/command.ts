/**
 * `firedrill report <journal|dir...> [--format html,pdf,md,junit,json,postmortem] [--out dir] [--verify dir] [--full]`:
 * renders journals into reports, and checks a journal directory's tamper-evident chain. Only
 * the pages whose journal changed since the last rendering into the same folder are
 * rendered again (see cache.ts); the index and its trend always are.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ErrorCode, FiredrillError, inputError, usageError } from "../errors.ts";
import type { Io } from "../io.ts";
import {
  JOURNAL_SUFFIX,
  type JournalFile,
  journalFileName,
  journalFilesIn,
  readJournals,
  redactJournal,
  verifyJournalDir,
} from "../runner/journal.ts";
import { RenderCache } from "./cache.ts";
import { renderIndexHtml, renderJournalHtml } from "./html.ts";
import { junitFromJournal, junitFromJournals } from "./junit.ts";
import { markdownIndex, markdownSummary } from "./markdown.ts";
import { findChromium, openPdfPrinter } from "./pdf.ts";
import { postmortemMarkdown } from "./postmortem.ts";

export const FORMATS = ["html", "pdf", "md", "junit", "json", "postmortem"] as const;
/** --verify's verdict: a journal was changed or removed (exit 1). */
const CHAIN_BROKEN: ErrorCode = "FD440";
export type Format = (typeof FORMATS)[number];

const USAGE = [
  "usage: firedrill report <journal|dir...> [--format html,pdf,md,junit,json,postmortem] [--out dir] [--verify dir] [--full]",
  "",
  "  Renders journals (files, or every *.journal.json of a directory) into reports.",
  "  --format   comma-separated formats (default html); pdf needs Chromium (CHROMIUM_PATH or /usr/bin/chromium)",
  "             postmortem: a post-mortem draft (Markdown) per journal, <journal id>.postmortem.md",
  "  --out      output directory (default reports/rendered)",
  "  --verify   check the journal chain of a directory: exit 1 naming a changed or removed journal",
  "  --full     render every page again; by default a page whose journal, chain check and firedrill",
  "             version are unchanged since the last rendering into --out is kept as it is",
  "",
  "  Several journals also give index.html (trend across drills), index.md and junit.xml.",
  "  Exit: 0 ok, 1 a journal was changed or removed, 2 a journal could not be read (the others still render),",
  "  4 the reports could not be written.",
];

/** Parses `--format`: a comma-separated subset of FORMATS. */
export function parseFormats(text: string): Format[] {
  const wanted = text
    .split(",")
    .map((f) => f.trim().toLowerCase())
    .filter((f) => f !== "");
  const formats: Format[] = [];
  for (const f of wanted) {
    const known = (
      f === "markdown" ? "md" : f === "xml" ? "junit" : f === "post-mortem" ? "postmortem" : f
    ) as Format;
    if (!FORMATS.includes(known))
      throw usageError(`--format: unknown format "${f}" (known: ${FORMATS.join(", ")})`);
    if (!formats.includes(known)) formats.push(known);
  }
  if (formats.length === 0) throw usageError(`--format: name at least one of ${FORMATS.join(", ")}`);
  return formats;
}

async function expand(
  paths: readonly string[],
  io: Io,
): Promise<{ files: string[]; errors: FiredrillError[] }> {
  const files: string[] = [];
  const errors: FiredrillError[] = [];
  for (const path of paths) {
    let isDir = false;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch {
      errors.push(inputError("FD234", { file: path }, "no such file or directory"));
      continue;
    }
    if (!isDir) {
      files.push(path);
      continue;
    }
    const inside = await journalFilesIn(path);
    if (inside.length === 0) io.err(`report: ${path} holds no *${JOURNAL_SUFFIX} files`);
    files.push(...inside);
  }
  return { files, errors };
}

function printError(error: unknown, io: Io): void {
  if (error instanceof FiredrillError) io.err(`firedrill: ${error.message} (${error.code})`);
  else io.err(`firedrill: ${error instanceof Error ? error.message : String(error)}`);
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: "string", default: "html" },
      out: { type: "string", default: join("reports", "rendered") },
      verify: { type: "string" },
      full: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/** The `report` verb. */
export async function command(args: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw usageError(`report: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    for (const line of USAGE) io.out(line);
    return 0;
  }
  const formats = parseFormats(values.format);
  if (positionals.length === 0 && values.verify === undefined) {
    for (const line of USAGE) io.err(line);
    throw usageError("report: name at least one journal (or a directory), or --verify <dir>");
  }

  let chainBroken = false;
  const chainStatus = new Map<string, "verified" | "problem">();
  const problems: string[] = [];
  if (values.verify !== undefined) {
    const dir = values.verify;
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw inputError("FD234", { file: dir }, "--verify needs a directory of journals");
    const chain = await verifyJournalDir(dir);
    for (const file of chain.verified) chainStatus.set(resolve(dir, file), "verified");
    for (const problem of chain.problems) {
      chainStatus.set(resolve(dir, problem.file), "problem");
      io.err(`firedrill: in ${dir}: ${problem.message} (${CHAIN_BROKEN})`);
      problems.push(problem.message);
    }
    chainBroken = chain.problems.length > 0;
    io.out(
      chainBroken
        ? `report: journal chain of ${dir} is BROKEN: ${chain.problems.length} problem(s); ${chain.verified.length} journal(s) intact`
        : `report: journal chain of ${dir} verified: ${chain.verified.length} journal(s), none changed or removed`,
    );
  }

  const { files, errors } = await expand(positionals, io);
  const { journals, errors: unreadable } = await readJournals(files);
  errors.push(...unreadable);
  for (const error of errors) {
    printError(error, io);
    problems.push(error.message);
  }

  if (journals.length > 0) {
    try {
      await render(journals, formats, values.out, values.full, chainStatus, problems, io);
    } catch (error) {
      if (error instanceof FiredrillError) throw error;
      throw new FiredrillError(
        "FD511",
        `could not write reports into ${values.out}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  if (chainBroken) return 1;
  if (errors.length > 0) {
    io.err(
      `report: ${errors.length} journal(s) could not be read${journals.length > 0 ? "; the others were rendered" : ""}`,
    );
    return 2;
  }
  return 0;
}

/** The file one journal's report in `format` is written to, in the output folder. */
function outputName(base: string, format: Format): string {
  switch (format) {
    case "json":
      return journalFileName({ id: base });
    case "junit":
      return `${base}.junit.xml`;
    case "postmortem":
      return `${base}.postmortem.md`;
    default:
      return `${base}.${format}`;
  }
}

async function render(
  journals: readonly JournalFile[],
  formats: readonly Format[],
  outDir: string,
  full: boolean,
  chainStatus: ReadonlyMap<string, "verified" | "problem">,
  problems: readonly string[],
  io: Io,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const cache = await RenderCache.open(outDir, full);
  const n = journals.length;
  const several = n > 1;
  const every = n <= 10 ? 1 : Math.ceil(n / 10);
  const htmlForPdf: Array<{ html: string; out: string; key: string }> = [];
  const written: string[] = [];
  let kept = 0;
  let first: string | undefined;
  const seen = new Set<string>();
  const bases: string[] = [];
  io.err(`report: rendering ${n} journal(s) as ${formats.join(", ")} into ${outDir}`);
  for (const [i, { file, journal, fileSha256 }] of journals.entries()) {
    let base = journal.id;
    for (let k = 2; seen.has(base); k++) base = `${journal.id}-${k}`;
    seen.add(base);
    bases.push(base);
    const chain = chainStatus.get(resolve(file)) ?? "not checked";
    // Each output's name and key; a page whose key is unchanged and still on disk is kept.
    const outputs = formats.map((format) => ({
      format,
      name: outputName(base, format),
      key: RenderCache.key(format, fileSha256, chain, several ? "indexed" : "alone"),
    }));
    first ??= outputs[0]?.name;
    const stale = outputs.filter((o) => !cache.fresh(o.name, o.key));
    kept += outputs.length - stale.length;
    let html: string | undefined;
    for (const { format, name, key } of stale) {
      if (format === "html" || format === "pdf")
        html ??= renderJournalHtml(journal, { ...(several ? { indexHref: "index.html" } : {}), chain });
      if (format === "pdf") {
        htmlForPdf.push({ html: html!, out: name, key });
        continue;
      }
      const text =
        format === "html"
          ? html!
          : format === "md"
            ? markdownSummary(journal)
            : format === "junit"
              ? junitFromJournal(journal)
              : format === "postmortem"
                ? postmortemMarkdown(journal)
                : `${JSON.stringify(redactJournal(journal), null, 2)}\n`;
      await writeFile(join(outDir, name), text);
      cache.wrote(name, key);
      written.push(name);
    }
    if ((i + 1) % every === 0 || i + 1 === n)
      io.err(
        `report: ${i + 1}/${n} rendered (${elapsed()}${kept > 0 ? `; ${kept} file(s) unchanged, kept` : ""})`,
      );
  }
  const wantHtml = formats.includes("html");
  const wantPdf = formats.includes("pdf");
  if (several) {
    const all = journals.map((j) => j.journal);
    if (wantHtml || wantPdf) {
      const entries = journals.map(({ journal }, i) => ({ journal, href: `${bases[i]}.html` }));
      const index = renderIndexHtml(entries, problems);
      if (wantHtml) {
        await writeFile(join(outDir, "index.html"), index);
        written.push("index.html");
      }
      if (wantPdf) htmlForPdf.unshift({ html: index, out: "index.pdf", key: "index" });
    }
    if (formats.includes("md")) {
      await writeFile(join(outDir, "index.md"), markdownIndex(all));
      written.push("index.md");
    }
    if (formats.includes("junit")) {
      await writeFile(join(outDir, "junit.xml"), junitFromJournals(all));
      written.push("junit.xml");
    }
  }
  if (wantPdf) {
    const chromium = findChromium();
    if (chromium === null) {
      io.err(
        "report: PDF skipped: Chromium not found (set CHROMIUM_PATH, or install Debian's: apt-get install -y chromium); the other formats were rendered",
      );
    } else {
      io.err(`report: printing ${htmlForPdf.length} PDF(s) with ${chromium}`);
      const printer = await openPdfPrinter(chromium);
      try {
        for (const [i, { html, out, key }] of htmlForPdf.entries()) {
          await printer.print(html, join(outDir, out));
          cache.wrote(out, key);
          written.push(out);
          io.err(`report: pdf ${i + 1}/${htmlForPdf.length} ${out} (${elapsed()})`);
        }
      } finally {
        await printer.close();
      }
    }
  }
  await cache.save();
  io.out(
    `report: wrote ${written.length} file(s) to ${outDir}${kept > 0 ? ` (${kept} unchanged since the last rendering, kept)` : ""} in ${elapsed()}${several && wantHtml ? `; open ${join(outDir, "index.html")}` : ""}`,
  );
  if (!several && first !== undefined) io.out(`report: ${join(outDir, first)}`);
}
