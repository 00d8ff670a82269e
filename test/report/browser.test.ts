import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import type { Browser, Page } from "playwright-core";
import type { Io } from "../../harness/io.ts";
import { command } from "../../harness/report/command.ts";
import { fmtMs } from "../../harness/report/format.ts";
import { renderIndexHtml, renderJournalHtml } from "../../harness/report/html.ts";
import { findChromium, launchChromium, openPdfPrinter } from "../../harness/report/pdf.ts";
import {
  makeJournal,
  makeJournalSeries,
  PLANTED_SECRETS,
  writeJournalFiles,
} from "../../harness/testing/journals.ts";

function which(tool: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return null;
}

interface PixelStats {
  width: number;
  height: number;
  stddev: number;
  /** Share of pixels that are not near-white. */
  inked: number;
}

describe("report in headless Chromium", function () {
  this.timeout(60_000);
  let browser: Browser;
  let dir: string;

  before(async function () {
    const chromium = findChromium();
    if (chromium === null) {
      console.log("    skipped: Chromium not found (set CHROMIUM_PATH or apt-get install -y chromium)");
      this.skip();
    }
    browser = await launchChromium(chromium);
    dir = await mkdtemp(join(tmpdir(), "firedrill-browser-"));
  });

  after(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Decodes an image in the browser and measures how much is drawn on it. */
  async function pixelStats(png: Buffer): Promise<PixelStats> {
    const page = await browser.newPage();
    try {
      // A string, so that the DOM code is not type-checked against Node's globals.
      return (await page.evaluate(`(async () => {
        const img = new Image();
        img.src = "data:image/png;base64,${png.toString("base64")}";
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0, sq = 0, inked = 0;
        const n = data.length / 4;
        for (let i = 0; i < data.length; i += 4) {
          const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
          sum += y;
          sq += y * y;
          if (y < 235) inked++;
        }
        const mean = sum / n;
        return { width: canvas.width, height: canvas.height, stddev: Math.sqrt(sq / n - mean * mean), inked: inked / n };
      })()`)) as PixelStats;
    } finally {
      await page.close();
    }
  }

  /** Opens a file and records console errors, page errors and every request that is not the file itself. */
  async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const errors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: "networkidle" });
    return { page, errors, requests };
  }

  it("shows a drill's verdict and key numbers, with no console error and no network request", async () => {
    const journal = makeJournal({ seed: 11, fail: true, plantSecrets: true });
    const file = join(dir, "failed.html");
    await writeFile(file, renderJournalHtml(journal));
    const { page, errors, requests } = await open(file);
    try {
      expect(errors, errors.join("\n")).to.deep.equal([]);
      expect(requests).to.deep.equal([]);
      const verdict = page.locator("#verdict");
      expect(await verdict.isVisible()).to.equal(true);
      expect((await verdict.textContent())?.trim()).to.match(/^FAILED/);
      const failed = journal.verdicts.filter((v) => !v.passed);
      for (const v of failed) expect(await verdict.textContent()).to.include(v.reason);
      expect(await page.locator(".stats").isVisible()).to.equal(true);
      const stats = (await page.locator(".stats").textContent()) ?? "";
      expect(stats).to.include(fmtMs(journal.mttr_ms!));
      expect(stats).to.include("15 min");
      expect(stats).to.include(fmtMs(journal.phases.detection_ms!));
      expect(await page.locator(".chart svg").count()).to.be.greaterThanOrEqual(4);
      const text = (await page.locator("body").textContent()) ?? "";
      for (const secret of PLANTED_SECRETS) expect(text).not.to.include(secret);
      expect(text, "redaction markers are shown as text, not swallowed as tags").to.include(
        "https://<redacted>@mainnet",
      );
      const shot = await page.screenshot({ fullPage: false });
      const px = await pixelStats(shot);
      expect(px.width).to.equal(1100);
      expect(px.stddev, "screenshot looks blank").to.be.greaterThan(20);
      expect(px.inked, "screenshot looks blank").to.be.greaterThan(0.03);
    } finally {
      await page.close();
    }
  });

  it("shows the trend index across drills without console errors or requests", async () => {
    const journals = makeJournalSeries(12);
    const file = join(dir, "index.html");
    await writeFile(file, renderIndexHtml(journals.map((j) => ({ journal: j, href: `${j.id}.html` }))));
    const { page, errors, requests } = await open(file);
    try {
      expect(errors, errors.join("\n")).to.deep.equal([]);
      expect(requests).to.deep.equal([]);
      expect(await page.locator("#verdict").textContent()).to.match(/^\d+\/12 PASSED/);
      // The resilience score's history, the MTTR trend and the pass rate.
      expect(await page.locator(".chart svg").count()).to.equal(3);
      expect(await page.locator("h2", { hasText: /^Resilience score: \d+\.\d \/ 100$/ }).count()).to.equal(1);
      expect(await page.locator("table a").count()).to.equal(12);
      const px = await pixelStats(await page.screenshot());
      expect(px.stddev).to.be.greaterThan(20);
    } finally {
      await page.close();
    }
  });

  it("prints a PDF whose pages start where the report's page groups start", async () => {
    const journal = makeJournal({ seed: 12 });
    const pdf = join(dir, "drill.pdf");
    const printer = await openPdfPrinter(findChromium()!);
    try {
      await printer.print(renderJournalHtml(journal), pdf);
    } finally {
      await printer.close();
    }
    const bytes = await readFile(pdf);
    expect(bytes.subarray(0, 5).toString()).to.equal("%PDF-");
    const pdfinfo = which("pdfinfo");
    const pages = pdfinfo
      ? Number(/Pages:\s+(\d+)/.exec(execFileSync(pdfinfo, [pdf], { encoding: "utf8" }))?.[1])
      : (bytes.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    // Four page groups (summary, timeline, load, faults) and the event appendix, each on its own page.
    expect(pages).to.be.within(5, 12);
    const pdftotext = which("pdftotext");
    const pdftoppm = which("pdftoppm");
    if (pdftotext === null || pdftoppm === null) {
      console.log(
        "    page text and image checks skipped: poppler-utils not installed (apt-get install -y poppler-utils)",
      );
      return;
    }
    const pageText = (n: number): string =>
      execFileSync(pdftotext, ["-f", String(n), "-l", String(n), pdf, "-"], { encoding: "utf8" });
    const texts = Array.from({ length: pages }, (_, i) => pageText(i + 1));
    expect(texts[0]).to.match(/PASSED/);
    expect(texts[0]).to.include(fmtMs(journal.mttr_ms!));
    const startOf = (heading: RegExp): number => texts.findIndex((t) => heading.test(t.trimStart()));
    const starts = [/^Timeline/, /^Load \(/, /^Faults and the proof/, /^Every event/].map(startOf);
    expect(
      starts.every((s) => s > 0),
      `page groups start at ${starts}`,
    ).to.equal(true);
    expect([...starts].sort((a, b) => a - b)).to.deep.equal(starts);
    expect(new Set(starts).size).to.equal(4);
    execFileSync(pdftoppm, ["-r", "40", "-f", "1", "-l", "1", "-png", pdf, join(dir, "page")]);
    const png = await readFile(join(dir, pages >= 10 ? "page-01.png" : "page-1.png"));
    const px = await pixelStats(png);
    expect(px.stddev, "PDF page 1 looks blank").to.be.greaterThan(20);
    expect(px.width).to.be.within(300, 360); // A4 at 40 dpi is 331 px wide
  });

  it("`firedrill report --format pdf` prints one PDF per journal and the index, with progress lines", async () => {
    const files = await writeJournalFiles(join(dir, "journals"), makeJournalSeries(2, 99));
    const out = join(dir, "pdf-out");
    const lines: string[] = [];
    const io: Io = { out: (l) => lines.push(l), err: (l) => lines.push(l), debug: false };
    const code = await command([...files, "--format", "pdf,md", "--out", out], io);
    expect(code, lines.join("\n")).to.equal(0);
    expect(lines.filter((l) => /^report: pdf \d\/3 /.test(l))).to.have.length(3);
    for (const name of [
      "index.pdf",
      ...files.map((f) => f.split("/").pop()!.replace(".journal.json", ".pdf")),
    ]) {
      const head = (await readFile(join(out, name))).subarray(0, 5).toString();
      expect(head, name).to.equal("%PDF-");
    }
  });
});
