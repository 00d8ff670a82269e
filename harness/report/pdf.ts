/**
 * PDF printed from the HTML report by headless Chromium (Debian's `chromium`, or
 * CHROMIUM_PATH) through playwright-core. Without Chromium the PDF is skipped and the
 * other formats still render.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { Browser } from "playwright-core";

/** The flags Chromium is launched with: headless, sandbox off for containers, no background traffic. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** Path of a Chromium binary: CHROMIUM_PATH, else Debian's; null when none is installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env["CHROMIUM_PATH"];
  if (configured !== undefined && configured !== "") return existsSync(configured) ? configured : null;
  return CANDIDATES.find((c) => existsSync(c)) ?? null;
}

/** Launches headless Chromium; the caller closes it. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface PdfPrinter {
  /** Prints one HTML document to `outPath`; no network request is let through. */
  print(html: string, outPath: string): Promise<void>;
  close(): Promise<void>;
}

/** A printer on one Chromium instance, reused for every PDF of a render. */
export async function openPdfPrinter(executablePath: string): Promise<PdfPrinter> {
  const browser = await launchChromium(executablePath);
  const context = await browser.newContext({ offline: true, javaScriptEnabled: false });
  await context.route("**/*", (route) => route.abort("blockedbyclient"));
  return {
    async print(html, outPath) {
      const page = await context.newPage();
      try {
        await page.setContent(html, { waitUntil: "load", timeout: 30_000 });
        await page.emulateMedia({ media: "print" });
        const pdf = await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
        await writeFile(outPath, pdf);
      } finally {
        await page.close();
      }
    },
    async close() {
      await browser.close();
    },
  };
}
