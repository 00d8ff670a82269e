/**
 * `npm run docs`: writes every generated page of docs/ (harness/docs/pages.ts).
 * `npm run docs -- --check` writes nothing and exits 1 naming the pages that are out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PAGES } from "./pages.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const check = process.argv.includes("--check");
let stale = 0;
for (const { file, render } of PAGES) {
  const path = join(ROOT, file);
  const text = render();
  const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  if (current === text) {
    console.log(`${file}: up to date`);
  } else if (check) {
    stale += 1;
    console.error(`${file}: out of date; run \`npm run docs\``);
  } else {
    writeFileSync(path, text);
    console.log(`${file}: written`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
