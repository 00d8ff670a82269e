import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { z } from "zod";
import { fillSections } from "../harness/docs/bcp.ts";
import { PAGES } from "../harness/docs/pages.ts";
import { jsonSchemaOf, keyRows } from "../harness/docs/schema.ts";
import { duration, positiveDuration } from "../harness/duration.ts";

const ROOT = join(import.meta.dirname, "..");

/** The first line where two texts differ, shown side by side. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split("\n");
  const have = actual.split("\n");
  const index = want.findIndex((line, i) => line !== have[i]);
  const at = index < 0 ? want.length : index;
  return `line ${at + 1}:\n  generated: ${want[at] ?? "(end of page)"}\n  in docs/:  ${have[at] ?? "(end of file)"}`;
}

describe("generated docs", () => {
  for (const page of PAGES) {
    it(`${page.file} is what \`npm run docs\` writes`, () => {
      const expected = page.render();
      const path = join(ROOT, page.file);
      const actual = existsSync(path) ? readFileSync(path, "utf8") : "";
      if (actual !== expected) {
        expect.fail(
          `${page.file} is out of date: run \`npm run docs\` and commit the result (first difference at ${firstDifference(expected, actual)})`,
        );
      }
      expect(expected.split("\n")[0]).to.match(/^<!-- Generated (in part )?by `npm run docs`/);
    });
  }

  it("renders each generated section of a hand-written page between its markers, and nothing else", () => {
    const text =
      "# Title\n\n<!-- generated: a -->\nold table\n<!-- end: a -->\n\nprose\n<!-- generated: b -->\n<!-- end: b -->\n";
    expect(fillSections(text, "page.md", { a: () => "| new |", b: () => "x" })).to.equal(
      "# Title\n\n<!-- generated: a -->\n| new |\n<!-- end: a -->\n\nprose\n<!-- generated: b -->\nx\n<!-- end: b -->\n",
    );
    expect(() => fillSections(text, "page.md", { a: () => "" })).to.throw(
      /page\.md: no generated section is called "b"/,
    );
    expect(() => fillSections(text, "page.md", { a: () => "", b: () => "", c: () => "" })).to.throw(
      /page\.md: no markers for the generated sections c/,
    );
  });

  it("README.md's Documentation section links every generated page", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Documentation"));
    for (const page of PAGES) expect(section).to.include(`](${page.file})`);
  });

  it("documents every key with its type, default and meaning, and refuses a key without one", () => {
    const node = jsonSchemaOf(
      z.strictObject({
        at: duration.default(0).describe("start"),
        for: positiveDuration.describe("length"),
        mode: z.enum(["refuse", "timeout"]).default("refuse").describe("how"),
        count: z.int().min(1).max(10).optional().describe("how many"),
      }),
    );
    expect(keyRows(node, "test")).to.deep.equal([
      { key: "at", type: "duration", presence: "`0s`", meaning: "start" },
      { key: "for", type: "duration, > 0s", presence: "**required**", meaning: "length" },
      { key: "mode", type: "one of `refuse`, `timeout`", presence: "`refuse`", meaning: "how" },
      { key: "count", type: "integer >= 1 and <= 10", presence: "optional", meaning: "how many" },
    ]);
    expect(() => keyRows(jsonSchemaOf(z.strictObject({ bare: z.string() })), "test")).to.throw(
      /key "bare" has no description/,
    );
  });
});
