/**
 * What `firedrill report` wrote into its output folder, and from what, so that rendering a
 * folder of journals again writes only the pages whose journal changed.
 *
 * Each output file is recorded with a key: the SHA-256 of the journal file's bytes, the
 * chain status the page shows, whether it links to an index, the format, and firedrill's
 * own renderer (the sources under harness/ and the chart library's version). A file whose
 * key is unchanged and which is still on disk is kept as it is; anything else is rendered
 * again. The record lives in the output folder as `.firedrill-report.json`; a missing or
 * unreadable record only means everything is rendered.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const MANIFEST = ".firedrill-report.json";
const MANIFEST_VERSION = 1;

let fingerprint: string | undefined;

/** A hash of everything that shapes a rendered page besides the journal: firedrill's sources. */
export function rendererFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const hash = createHash("sha256");
  const harness = join(import.meta.dirname, "..");
  const files = readdirSync(harness, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .sort();
  for (const file of files)
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(harness, file)));
  const echarts = join(import.meta.dirname, "..", "..", "node_modules", "echarts", "package.json");
  if (existsSync(echarts)) hash.update(readFileSync(echarts));
  fingerprint = hash.digest("hex");
  return fingerprint;
}

/** The output files of earlier renderings into one folder, and which this rendering keeps. */
export class RenderCache {
  readonly #dir: string;
  readonly #before: ReadonlyMap<string, string>;
  readonly #after = new Map<string, string>();
  readonly #full: boolean;

  private constructor(dir: string, before: Map<string, string>, full: boolean) {
    this.#dir = dir;
    this.#before = before;
    this.#full = full;
  }

  /** The record of `dir`; with `full`, every file counts as changed. */
  static async open(dir: string, full = false): Promise<RenderCache> {
    const before = new Map<string, string>();
    try {
      const manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as {
        version?: unknown;
        files?: Record<string, unknown>;
      };
      if (manifest.version === MANIFEST_VERSION && typeof manifest.files === "object") {
        for (const [file, key] of Object.entries(manifest.files ?? {}))
          if (typeof key === "string") before.set(file, key);
      }
    } catch {
      // No record, or not ours: everything is rendered.
    }
    return new RenderCache(dir, before, full);
  }

  /** The key of one output file rendered from `parts` by this version of firedrill. */
  static key(...parts: readonly string[]): string {
    return createHash("sha256")
      .update(rendererFingerprint())
      .update(`\0${parts.join("\0")}`)
      .digest("hex");
  }

  /**
   * True when `file` was rendered before with `key` and is still there: it need not be
   * rendered, and its record is kept.
   */
  fresh(file: string, key: string): boolean {
    if (this.#full || this.#before.get(file) !== key || !existsSync(join(this.#dir, file))) return false;
    this.#after.set(file, key);
    return true;
  }

  /** Records that `file` was just written from `key`. */
  wrote(file: string, key: string): void {
    this.#after.set(file, key);
  }

  /**
   * Writes the record: the files of this rendering, and those of earlier ones that are still
   * on disk (a rendering of a few journals into a folder does not forget the others).
   */
  async save(): Promise<void> {
    const files: Record<string, string> = {};
    for (const [file, key] of this.#before)
      if (!this.#after.has(file) && existsSync(join(this.#dir, file))) files[file] = key;
    for (const [file, key] of this.#after) files[file] = key;
    const path = join(this.#dir, MANIFEST);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ version: MANIFEST_VERSION, files })}\n`);
    await rename(temp, path);
  }
}
