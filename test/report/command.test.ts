import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { reportError } from "../../harness/cli.ts";
import type { Io } from "../../harness/io.ts";
import { command } from "../../harness/report/command.ts";
import { phaseSources } from "../../harness/report/format.ts";
import { renderJournalHtml } from "../../harness/report/html.ts";
import { junitFromJournal } from "../../harness/report/junit.ts";
import { markdownSummary } from "../../harness/report/markdown.ts";
import { JOURNAL_SUFFIX } from "../../harness/runner/journal.ts";
import {
  makeJournal,
  makeJournalSeries,
  PLANTED_SECRETS,
  writeJournalFiles,
} from "../../harness/testing/journals.ts";

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), debug: false };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return { code: await command(args, io), out, err };
  } catch (error) {
    return { code: reportError(error, io), out, err };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Checks XML well-formedness: one root, balanced tags, quoted attributes, known entities. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of body.matchAll(token)) {
    if (m[6] !== undefined) throw new Error(`stray "<" at ${m.index}`);
    if (m[5] !== undefined) {
      const text = m[5];
      if (stack.length === 0 && text.trim() !== "") throw new Error("text outside the root element");
      for (const e of text.matchAll(/&([^;\s]*);?/g)) {
        if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+)$/i.test(e[1]!) || !e[0].endsWith(";")) {
          throw new Error(`bad entity ${e[0]}`);
        }
      }
      continue;
    }
    const [, close, name, attrs, selfClose] = m;
    for (const e of (attrs ?? "").matchAll(/&([^;\s"]*);?/g)) {
      if (!/^(amp|lt|gt|quot|apos|#\d+)$/.test(e[1]!) || !e[0].endsWith(";"))
        throw new Error(`bad entity ${e[0]}`);
    }
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.at(-1)}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

describe("firedrill report", function () {
  this.timeout(30_000);
  let dir: string;
  let out: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "firedrill-report-"));
    out = join(dir, "out");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("renders html, md, junit and json for each journal, and an index with the trend", async () => {
    const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(4));
    const r = await run([...files, "--format", "html,md,junit,json", "--out", out]);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const names = await readdir(out);
    expect(names).to.include.members(["index.html", "index.md", "junit.xml"]);
    expect(names.filter((n) => n.endsWith(".html"))).to.have.length(5);
    expect(names.filter((n) => n.endsWith(JOURNAL_SUFFIX))).to.have.length(4);
    const index = await readFile(join(out, "index.html"), "utf8");
    expect(index).to.include("Trend across drills");
    // The score's history, the MTTR trend and the pass rate.
    expect(index).to.match(/<h2>Resilience score: \d+\.\d \/ 100<\/h2>/);
    expect(index.match(/<svg /g)?.length).to.equal(3);
    expect(r.err.some((l) => /4\/4 rendered/.test(l))).to.equal(true);
  });

  it("renders every journal of a directory given as an argument", async () => {
    await writeJournalFiles(join(dir, "j"), makeJournalSeries(3));
    const r = await run([join(dir, "j"), "--out", out]);
    expect(r.code).to.equal(0);
    expect((await readdir(out)).filter((n) => n.endsWith(".html"))).to.have.length(4);
  });

  describe("rendering a folder again", () => {
    /** Name → mtime (ms) of every file in `out`. */
    const stamps = async (): Promise<Map<string, number>> =>
      new Map(
        await Promise.all(
          (await readdir(out)).map(async (n) => [n, (await stat(join(out, n))).mtimeMs] as [string, number]),
        ),
      );
    const wrote = (r: Run): number => Number(/wrote (\d+) file/.exec(r.out.join("\n"))?.[1]);
    const page = (file: string): string => file.split("/").pop()!.replace(JOURNAL_SUFFIX, ".html");

    it("renders only the pages of a journal added since, and the index; the others are kept", async () => {
      const series = makeJournalSeries(5);
      const j = join(dir, "j");
      await writeJournalFiles(j, series.slice(0, 4));
      const args = [j, "--verify", j, "--format", "html,md,junit", "--out", out];
      const first = await run(args);
      expect(first.code, first.err.join("\n")).to.equal(0);
      expect(wrote(first)).to.equal(4 * 3 + 3);
      const before = await stamps();

      const files = await writeJournalFiles(j, series);
      const again = await run(args);
      expect(again.code, again.err.join("\n")).to.equal(0);
      expect(wrote(again)).to.equal(3 + 3);
      expect(again.out.join("\n")).to.match(/12 unchanged since the last rendering, kept/);
      const after = await stamps();
      for (const file of files.slice(0, 4)) expect(after.get(page(file))).to.equal(before.get(page(file)));
      expect(after.has(page(files[4]!))).to.equal(true);
      // The index lists all five.
      const index = await readFile(join(out, "index.html"), "utf8");
      for (const file of files) expect(index).to.include(page(file));
    });

    it("renders again a page whose journal was edited, whose chain check changed, or which was removed", async () => {
      const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(4));
      const args = [...files, "--out", out];
      expect((await run(args)).code).to.equal(0);

      // Edited: the page shows the edit and the broken hash.
      const text = await readFile(files[0]!, "utf8");
      await writeFile(files[0]!, text.replace(/"mttr_ms": \d+/, '"mttr_ms": 1234'));
      // Removed from the output folder.
      await rm(join(out, page(files[1]!)));
      const again = await run(args);
      expect(again.code).to.equal(0);
      expect(wrote(again)).to.equal(2 + 1);
      expect(await readFile(join(out, page(files[0]!)), "utf8")).to.include("DOES NOT MATCH CONTENT");
      expect((await readdir(out)).includes(page(files[1]!))).to.equal(true);

      // The chain check now runs and finds the edit: every page shows its new chain status.
      const verified = await run([...args, "--verify", join(dir, "j")]);
      expect(verified.code).to.equal(1);
      expect(wrote(verified)).to.equal(4 + 1);
      expect(await readFile(join(out, page(files[2]!)), "utf8")).to.include(
        "<dt>Chain check</dt><dd>verified</dd>",
      );
    });

    it("renders everything again with --full, or after a page was rendered alone", async () => {
      const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(3));
      expect(wrote(await run([...files, "--out", out]))).to.equal(3 + 1);
      expect(wrote(await run([...files, "--out", out, "--full"]))).to.equal(3 + 1);
      // A journal rendered alone has no link to an index: a different page.
      const alone = await run([files[0]!, "--out", out]);
      expect(wrote(alone)).to.equal(1);
      expect(alone.out.join("\n")).to.include(page(files[0]!));
      expect(wrote(await run([files[0]!, "--out", out]))).to.equal(0);
      // The others' records survive a rendering of one journal.
      expect(wrote(await run([...files, "--out", out]))).to.equal(1 + 1);
    });

    it("renders everything when the record in the folder is unreadable", async () => {
      const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(2));
      expect(wrote(await run([...files, "--out", out]))).to.equal(3);
      await writeFile(join(out, ".firedrill-report.json"), "{ not json");
      expect(wrote(await run([...files, "--out", out]))).to.equal(3);
      expect(wrote(await run([...files, "--out", out]))).to.equal(1);
    });
  });

  it("--verify passes an intact directory", async () => {
    await writeJournalFiles(join(dir, "j"), makeJournalSeries(3));
    const r = await run(["--verify", join(dir, "j")]);
    expect(r.code).to.equal(0);
    expect(r.out.join("\n")).to.match(/verified: 3 journal/);
  });

  it("--verify exits 1 and names an edited journal", async () => {
    const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(3));
    const text = await readFile(files[1]!, "utf8");
    await writeFile(files[1]!, text.replace(/"mttr_ms": \d+/, '"mttr_ms": 1000'));
    const r = await run([files[1]!, "--verify", join(dir, "j"), "--out", out]);
    expect(r.code).to.equal(1);
    const name = files[1]!.split("/").pop()!;
    expect(r.err.join("\n"))
      .to.include(name)
      .and.to.match(/changed after it was written/);
    const html = await readFile(join(out, name.replace(JOURNAL_SUFFIX, ".html")), "utf8");
    expect(html).to.include("Integrity warning").and.to.include("DOES NOT MATCH CONTENT");
  });

  it("--verify exits 1 and names a removed journal", async () => {
    const files = await writeJournalFiles(join(dir, "j"), makeJournalSeries(3));
    await rm(files[1]!);
    const r = await run(["--verify", join(dir, "j")]);
    expect(r.code).to.equal(1);
    expect(r.err.join("\n"))
      .to.include(files[1]!.split("/").pop()!)
      .and.to.match(/was removed/);
  });

  it("bad journals exit 2 naming the file and what is wrong, and the others still render", async () => {
    const [good] = await writeJournalFiles(join(dir, "j"), [makeJournal({ seed: 5 })]);
    const text = await readFile(good!, "utf8");
    const notJson = join(dir, "notes.journal.json");
    const truncated = join(dir, "cut.journal.json");
    const newer = join(dir, "future.journal.json");
    await writeFile(notJson, "this is not a journal\n");
    await writeFile(truncated, text.slice(0, 2000));
    await writeFile(newer, JSON.stringify({ ...JSON.parse(text), version: 3 }));
    const r = await run([notJson, good!, truncated, newer, join(dir, "missing.journal.json"), "--out", out]);
    expect(r.code).to.equal(2);
    const err = r.err.join("\n");
    expect(err).to.match(/notes\.journal\.json: not JSON/);
    expect(err).to.match(/cut\.journal\.json: truncated/);
    expect(err).to.match(/future\.journal\.json: journal format version 3 is newer/);
    expect(err).to.match(/missing\.journal\.json: no such file/);
    expect(err).not.to.match(/\n\s+at /);
    expect((await readdir(out)).filter((n) => n.endsWith(".html"))).to.have.length(1);
  });

  it("never prints a planted secret, in any format or on the terminal", async () => {
    const journals = [makeJournal({ seed: 1, plantSecrets: true })];
    journals.push(
      makeJournal({
        seed: 2,
        scenario: 1,
        plantSecrets: true,
        startMs: Date.parse("2026-11-03T03:00:00.000Z"),
      }),
    );
    const files = await writeJournalFiles(join(dir, "j"), journals);
    for (const secret of PLANTED_SECRETS) expect(await readFile(files[0]!, "utf8")).to.include(secret);
    const r = await run([...files, "--format", "html,md,junit,json", "--out", out], {
      CHROMIUM_PATH: "/nonexistent",
    });
    expect(r.code).to.equal(0);
    const outputs = await Promise.all((await readdir(out)).map((n) => readFile(join(out, n), "utf8")));
    expect(outputs.length).to.be.greaterThan(8);
    const all = [...outputs, ...r.out, ...r.err].join("\n");
    for (const secret of PLANTED_SECRETS) expect(all, secret).not.to.include(secret);
    expect(all).to.include("<redacted");
  });

  it("JUnit is well-formed with one test case per verdict and the reason as the failure message", () => {
    const journal = makeJournal({ seed: 9, fail: true });
    const xml = junitFromJournal(journal);
    assertWellFormedXml(xml);
    expect(xml.match(/<testcase /g)).to.have.length(journal.verdicts.length);
    const failed = journal.verdicts.filter((v) => !v.passed);
    expect(failed.length).to.be.greaterThan(0);
    expect(xml.match(/<failure /g)).to.have.length(failed.length);
    const escaped = failed[0]!.reason.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    expect(xml).to.include(`message="${escaped}`);
    expect(xml).to.match(new RegExp(`tests="${journal.verdicts.length}" failures="${failed.length}"`));
  });

  it("JUnit stays well-formed when secrets are redacted out of it", () => {
    const journal = makeJournal({ seed: 9, plantSecrets: true });
    journal.verdicts[0]!.passed = false;
    journal.verdicts[0]!.reason = `rpc https://user:${PLANTED_SECRETS[1]}@rpc.example.org failed`;
    const xml = junitFromJournal(journal);
    assertWellFormedXml(xml);
    expect(xml).to.include("https://&lt;redacted&gt;@rpc.example.org");
  });

  it("JUnit stays well-formed with markup in names and reasons", () => {
    const journal = makeJournal({ seed: 9 });
    journal.verdicts[0]!.name = `a <b> & "c" 'd'`;
    journal.verdicts[0]!.passed = false;
    journal.verdicts[0]!.reason = "x < y && z > \u0001w";
    assertWellFormedXml(junitFromJournal(journal));
  });

  it("the Markdown summary leads with the verdict and lists every verdict", () => {
    const journal = makeJournal({ seed: 9, fail: true });
    const md = markdownSummary(journal);
    expect(md.split("\n")[0]).to.match(/^### ❌ FAILED: oracle-failure-during-depeg/);
    for (const v of journal.verdicts) expect(md).to.include(v.name.replace(/\|/g, "\\|"));
  });

  it("skips the PDF with a clear message when Chromium is absent, and still renders the rest", async () => {
    const files = await writeJournalFiles(join(dir, "j"), [makeJournal()]);
    const r = await run([...files, "--format", "html,pdf", "--out", out], {
      CHROMIUM_PATH: join(dir, "no-chromium"),
    });
    expect(r.code).to.equal(0);
    expect(r.err.join("\n")).to.match(/PDF skipped: Chromium not found/);
    const names = await readdir(out);
    expect(names.filter((n) => n.endsWith(".html"))).to.have.length(1);
    expect(names.filter((n) => n.endsWith(".pdf"))).to.have.length(0);
  });

  it("rejects an unknown format as bad usage", async () => {
    const r = await run(["x.journal.json", "--format", "html,docx"]);
    expect(r.code).to.equal(2);
    expect(r.err.join("\n")).to.match(/unknown format "docx".*FD100/);
  });
});

describe("the alert behind each phase, and its delivery", () => {
  it("reads what reached each phase and its delivery delay, from the phase event or the alert's own", () => {
    const journal = makeJournal({ seed: 4 });
    const sources = phaseSources(journal);
    const detection = journal.timeline.find((e) => e.kind === "phase.reached" && e.name === "detection")!;
    const alert = journal.timeline.find(
      (e) =>
        e.kind === "alert.received" && e.t_ms === detection.t_ms && e.name === detection.details?.["alert"],
    )!;
    // The synthetic journal carries the delay on the alert only: the fallback.
    expect(sources.detection).to.deep.equal({
      alert: alert.name,
      via: null,
      deliveryMs: alert.details!["delivery_delay_ms"],
    });
    // A phase event that carries it wins over the alert's.
    detection.details = { ...detection.details, delivery_delay_ms: 19_250, via: "response" };
    expect(phaseSources(journal).detection).to.deep.equal({
      alert: alert.name,
      via: "response",
      deliveryMs: 19_250,
    });
    const html = renderJournalHtml(journal);
    expect(html).to.include("of which delivery");
    expect(html).to.include("19.3 s");
    expect(markdownSummary(journal)).to.include(
      `Reached by: detection \`${alert.name}\` (delivered in 19.3 s)`,
    );
    // No alert behind a phase (an old journal, or none reached): nothing is made up.
    for (const e of journal.timeline) if (e.kind === "phase.reached") delete e.details;
    expect(phaseSources(journal)).to.deep.equal({});
    expect(markdownSummary(journal)).to.not.include("Reached by");
  });
});
