import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { reportError } from "../../harness/cli.ts";
import {
  CATALOGUE,
  type ErrorCode,
  FAMILIES,
  FiredrillError,
  isErrorCode,
  releaseAll,
  renderErrorsPage,
} from "../../harness/errors.ts";
import type { Io } from "../../harness/io.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HARNESS = join(ROOT, "harness");

/** The documented families: prefix and exit status (README's "Exit codes", `firedrill --help`). */
const DOCUMENTED = {
  usage: ["FD1", 2],
  input: ["FD2", 2],
  lab: ["FD3", 3],
  verdict: ["FD4", 1],
  internal: ["FD5", 4],
} as const;

/**
 * Functions allowed to throw a plain error while it waits for its code; each entry goes once
 * its throw is coded, and an entry that no longer matches fails. Empty: every throw is coded.
 */
const NOT_YET_CODED: ReadonlyArray<{ file: string; fn: string }> = [];

function files(dir: string, ext: RegExp): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => ext.test(f))
    .map((f) => join(dir, f))
    .sort();
}

/** The top-level function (or class) a line is in, or undefined at module level. */
function enclosing(lines: readonly string[], at: number): string | undefined {
  for (let i = at; i >= 0; i--) {
    const line = lines[i]!;
    const head = /^(?:export )?(?:async )?(?:function\*? |class )(\w+)/.exec(line);
    if (head) return head[1];
    if (i < at && line.startsWith("}")) return undefined;
  }
  return undefined;
}

function capture(): { io: Io; err: string[] } {
  const err: string[] = [];
  return { io: { out: () => {}, err: (line) => err.push(line), debug: false }, err };
}

describe("error catalogue", () => {
  it("gives every code its family's prefix and exit status", () => {
    expect(Object.keys(FAMILIES).sort()).to.deep.equal(Object.keys(DOCUMENTED).sort());
    for (const [name, [prefix, exit]] of Object.entries(DOCUMENTED)) {
      const family = FAMILIES[name as keyof typeof FAMILIES];
      expect([family.prefix, family.exit], name).to.deep.equal([prefix, exit]);
    }
    for (const [code, entry] of Object.entries(CATALOGUE)) {
      const [prefix, exit] = DOCUMENTED[entry.family];
      expect(code, code).to.match(/^FD[1-5][0-9]{2}$/);
      expect(code.slice(0, 3), `${code} is in family ${entry.family}`).to.equal(prefix);
      expect(entry.exit, `${code} exit`).to.equal(exit);
      expect(new FiredrillError(code as ErrorCode, "x").exitCode, `${code} error`).to.equal(exit);
      expect(entry.title.trim(), `${code} title`).not.to.equal("");
      expect(entry.from.trim(), `${code} from`).not.to.equal("");
    }
  });

  it("finds no plain `new Error(` in harness/ outside the named exceptions", () => {
    const found: string[] = [];
    const excused = new Set<string>();
    // harness/testing/ holds helpers for the suite and the benchmarks: a failure there is a
    // failed test, never something a user of firedrill reads.
    for (const file of files(HARNESS, /\.ts$/).filter((f) => !f.includes("/testing/"))) {
      const rel = relative(ROOT, file);
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        if (!/\bnew (?:Error|TypeError|RangeError|SyntaxError|AggregateError)\(/.test(line)) return;
        const fn = enclosing(lines, i);
        const exception = NOT_YET_CODED.find((e) => e.file === rel && e.fn === fn);
        if (exception) excused.add(`${exception.file} ${exception.fn}`);
        else found.push(`${rel}:${i + 1}${fn ? ` (${fn})` : ""}: ${line.trim()}`);
      });
    }
    expect(found, "use FiredrillError with a code of the catalogue").to.deep.equal([]);
    const stale = NOT_YET_CODED.map((e) => `${e.file} ${e.fn}`).filter((e) => !excused.has(e));
    expect(stale, "exceptions with nothing left to excuse: remove them").to.deep.equal([]);
  });

  it("knows every code that harness/ and the docs mention, and every code it lists is used", () => {
    const sources = [
      ...files(HARNESS, /\.(ts|mjs|md)$/),
      join(ROOT, "README.md"),
      ...files(join(ROOT, "docs"), /\.md$/).filter((f) => !f.endsWith("errors.md")),
    ];
    const used = new Map<string, string>();
    for (const file of sources) {
      let text = readFileSync(file, "utf8");
      // In errors.ts only its helpers (usageError, bugError...) use codes; the catalogue lists them.
      if (file === join(HARNESS, "errors.ts")) text = text.slice(text.indexOf("export type ErrorCode"));
      for (const [code] of text.matchAll(/\bFD[0-9]{3}\b/g)) {
        if (!used.has(code)) used.set(code, relative(ROOT, file));
      }
    }
    const unknown = [...used].filter(([code]) => !isErrorCode(code)).map(([c, f]) => `${c} in ${f}`);
    expect(unknown, "codes missing from the catalogue").to.deep.equal([]);
    const unused = Object.keys(CATALOGUE).filter((code) => !used.has(code));
    expect(unused, "catalogue codes that nothing raises").to.deep.equal([]);
  });

  it("reports an error without a code as firedrill's own failure (FD500, exit 4)", () => {
    const { io, err } = capture();
    expect(reportError(new Error("boom"), io)).to.equal(4);
    expect(err.join("\n")).to.match(/internal error: boom \(FD500\)/);
  });

  it("gathers several teardown failures into one FD301 error that lists each", async () => {
    const releases = [
      () => {
        throw new FiredrillError("FD300", "anvil: gone");
      },
      () => Promise.reject(new FiredrillError("FD300", "toxiproxy: gone")),
      () => {},
    ];
    const error = await releaseAll(releases).then(
      () => expect.fail("releaseAll resolved"),
      (e: unknown) => e as FiredrillError,
    );
    expect(error).to.be.instanceOf(FiredrillError);
    expect([error.code, error.exitCode, error.message]).to.deep.equal([
      "FD301",
      3,
      "2 teardown steps failed",
    ]);
    expect(error.details).to.have.members(["anvil: gone", "toxiproxy: gone"]);
  });

  it("renders a page with every family and every code", () => {
    const rows = new Map(
      renderErrorsPage()
        .split("\n")
        .filter((line) => line.startsWith("| FD"))
        .map((line) =>
          line
            .slice(1, -1)
            .split(" | ")
            .map((cell) => cell.trim()),
        )
        .map((cells) => [cells[0]!, cells.slice(1)]),
    );
    for (const family of Object.values(FAMILIES)) {
      expect(rows.get(`${family.prefix}xx`)).to.deep.equal([
        family.title,
        String(family.exit),
        family.meaning,
      ]);
    }
    for (const [code, entry] of Object.entries(CATALOGUE)) {
      expect(rows.get(code)).to.deep.equal([entry.title, entry.from]);
    }
    expect(rows.size).to.equal(Object.keys(FAMILIES).length + Object.keys(CATALOGUE).length);
  });
});
