/**
 * Warm `lab up` + `down` against the anchor of one bare anvil start and stop, measured in
 * the same run. Target: the full lab up in 3 s or less warm.
 *
 *   node bench/lab-up.ts [--runs N] [--toxiproxy embedded|real|auto]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAnvil } from "../harness/lab/anvil.ts";
import { labConfigSchema } from "../harness/lab/config.ts";
import { startLab } from "../harness/lab/index.ts";
import { median } from "../harness/stats.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "10" }, toxiproxy: { type: "string", default: "embedded" } },
});
const runs = Number(values.runs);
const server = values.toxiproxy as "embedded" | "real" | "auto";

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const dir = mkdtempSync(join(tmpdir(), "firedrill-bench-lab-"));
const config = labConfigSchema.parse({ toxiproxy: { server } });
// The first start fills the deployment cache when it is empty; it is not counted.
const cold = await time(async () => (await startLab(config, { dir })).down());

const anvil: number[] = [];
const upDown: number[] = [];
const upOnly: number[] = [];
for (let i = 0; i < runs; i++) {
  anvil.push(
    await time(async () => {
      const chain = await startAnvil({ name: "bench", chainId: 1, blockTimeMs: 1000 });
      await chain.process.stop();
    }),
  );
  let up = 0;
  upDown.push(
    await time(async () => {
      const t0 = performance.now();
      const lab = await startLab(config, { dir });
      up = performance.now() - t0;
      await lab.down();
    }),
  );
  upOnly.push(up);
}
rmSync(dir, { recursive: true, force: true });

for (const list of [anvil, upDown, upOnly]) list.sort((a, b) => a - b);
const p50 = (l: number[]) => median(l);
console.log(
  `lab-up bench: ${runs} runs, toxiproxy ${server}; first up+down (fills the deployment cache if empty) ${cold.toFixed(0)} ms`,
);
console.log(`  bare anvil start+stop   p50 ${p50(anvil).toFixed(0)} ms   max ${anvil.at(-1)!.toFixed(0)} ms`);
console.log(
  `  lab up (warm)           p50 ${p50(upOnly).toFixed(0)} ms   max ${upOnly.at(-1)!.toFixed(0)} ms   (target <= 3000 ms)`,
);
console.log(
  `  lab up+down (warm)      p50 ${p50(upDown).toFixed(0)} ms   max ${upDown.at(-1)!.toFixed(0)} ms`,
);
console.log(`lab up+down / bare anvil: ${(p50(upDown) / p50(anvil)).toFixed(2)}x`);
