/**
 * The import rules of harness/, bench/ and test/, checked by test/layers.test.ts.
 *
 * harness/ is built in layers, each importing only the layers below it:
 *
 *   commands   cli.ts, bin/, every `command.ts` and `*-command.ts`   (anything)
 *   gameday    gameday/                        runner and below, stack/assess.ts
 *   runner     runner/                         proxy, lab, faults, loadgen, contract, ground
 *   faults     faults/                         lab, proxy, contract, ground
 *   lab        lab/                            proxy, contract, ground
 *   proxy      proxy/                          ground
 *   loadgen    loadgen/                        contract, ground
 *   report     report/, assert/                runner/journal.ts, ground
 *   stack      stack/                          contract, ground
 *   contract   contract/                       ground
 *   ground     top-level harness/*.ts but cli.ts   nothing in harness/ folders
 *
 * harness/testing/ holds helpers for bench/ and test/ only, and may use any layer.
 * Each rule below names a layer and lists what it may import; the comment says why.
 */

/** Top-level harness/*.ts except cli.ts (a command): errors, duration, yaml, process, ... */
const GROUND = "(?!cli\\.ts$)[^/]+\\.ts$";
/** The command layer: the CLI, its launchers and every verb's module. */
const COMMANDS = "^harness/(cli\\.ts$|bin/|[^/]+/[a-z-]*command\\.ts$)";

/** `to` of a layer's rule: anything in harness/ but what the layer may import (and itself). */
const outside = (...allowed) => ({
  path: "^harness/",
  pathNot: `^harness/(${[GROUND, ...allowed].join("|")})`,
});
/** `from` of a layer's rule: the folder's modules, its command module excepted. */
const layer = (folder) => ({ path: `^harness/${folder}/`, pathNot: COMMANDS });

export default {
  forbidden: [
    {
      name: "ground-floor",
      comment:
        "The ground floor is what every layer may use (errors, durations, YAML, processes, paths, names); " +
        "if it imported a layer, every layer would depend on that one through it.",
      severity: "error",
      from: { path: `^harness/${GROUND}` },
      to: { path: "^harness/([^/]+/|cli\\.ts$)" },
    },
    {
      name: "contract-on-ground",
      comment:
        "The contract with a system under test (its env, alerts, webhook, gateway routes) is shared by the " +
        "runner and the reference stack, so it may depend on neither: only on the ground floor.",
      severity: "error",
      from: layer("contract"),
      to: outside("contract/"),
    },
    {
      name: "proxy-on-ground",
      comment:
        "The embedded Toxiproxy is a stand-alone server (`firedrill proxy serve`) that the lab starts; " +
        "it knows nothing of the lab, faults or runs.",
      severity: "error",
      from: layer("proxy"),
      to: outside("proxy/"),
    },
    {
      name: "lab-below-faults",
      comment:
        "The lab (chains, oracles, regulator, proxies) is brought up by `lab up` as well as by a run; " +
        "it starts the proxy and builds the SUT's environment from the contract, never a fault or a run.",
      severity: "error",
      from: layer("lab"),
      to: outside("lab/", "proxy/", "contract/"),
    },
    {
      name: "faults-below-runner",
      comment:
        "A fault acts on the lab (through its control API and the proxy) and proves its effect; " +
        "the runner schedules faults, so a fault never reaches up into the runner.",
      severity: "error",
      from: layer("faults"),
      to: outside("faults/", "lab/", "proxy/", "contract/"),
    },
    {
      name: "loadgen-on-contract",
      comment:
        "The load generator only speaks the gateway's routes of the contract, to the reference stack or " +
        "any other system under test; it needs no lab, fault or run.",
      severity: "error",
      from: layer("loadgen"),
      to: outside("loadgen/", "contract/"),
    },
    {
      name: "gameday-above-runner",
      comment:
        "A GameDay is a run with people: it gives the runner its people and serves the incident room. " +
        "The room shows the emergency assessment screen (`firedrill assess`), so it may use stack/assess.ts; " +
        "it never reaches the report writers (the gameday command calls them).",
      severity: "error",
      from: layer("gameday"),
      to: outside(
        "gameday/",
        "runner/",
        "faults/",
        "lab/",
        "proxy/",
        "loadgen/",
        "contract/",
        "stack/assess\\.ts$",
      ),
    },
    {
      name: "runner-below-commands",
      comment:
        "The runner drives the lab, faults and load and writes journals; it must not reach the reference " +
        "stack (a system under test is met only through the contract) nor the report writers (the run " +
        "command calls them).",
      severity: "error",
      from: layer("runner"),
      to: outside("runner/", "faults/", "lab/", "proxy/", "loadgen/", "contract/"),
    },
    {
      name: "report-reads-journals",
      comment:
        "Reports are rendered from journals alone, so that any journal, old or from another machine, " +
        "renders the same: the journal format is all report/ may know of the runner.",
      severity: "error",
      from: layer("report"),
      to: outside("report/", "runner/journal\\.ts$"),
    },
    {
      name: "assert-reads-journals",
      comment:
        "The published chai plugin (firedrill/assert) asserts on journals; it must load without the lab, " +
        "the runner or the stack.",
      severity: "error",
      from: layer("assert"),
      to: outside("assert/", "runner/journal\\.ts$"),
    },
    {
      name: "stack-sees-contract",
      comment:
        "The reference stack is one system under test among many: it may know only what any SUT knows, " +
        "the contract, so that the runner's verdicts on it hold for any other SUT.",
      severity: "error",
      from: layer("stack"),
      to: outside("stack/", "contract/"),
    },
    {
      name: "commands-on-top",
      comment:
        "Command modules parse arguments and print: nothing below them may import one, or a library " +
        "call would drag in a CLI.",
      severity: "error",
      from: { path: "^harness/", pathNot: [COMMANDS, "^harness/testing/"] },
      to: { path: COMMANDS },
    },
    {
      name: "testing-for-bench-and-test",
      comment: "harness/testing/ is for benchmarks and tests; the shipped harness must not depend on it.",
      severity: "error",
      from: { path: "^harness/", pathNot: "^harness/testing/" },
      to: { path: "^harness/testing/" },
    },
    {
      name: "harness-not-bench-test",
      comment: "The harness ships without bench/ and test/.",
      severity: "error",
      from: { path: "^harness/" },
      to: { path: "^(bench|test)/" },
    },
    {
      name: "bench-not-test",
      comment:
        "Benchmarks run on their own, and a test helper changed for a test must not change a benchmark: " +
        "what both need lives in harness/testing/.",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      comment: "A cycle makes the order of module initialisation matter and the layers meaningless.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // Type-only imports count: a type from a layer above is a dependency on it all the same.
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    // The fixture tree breaks every rule on purpose (test/layers.test.ts cruises it on its own).
    exclude: { path: "^test/fixtures/layers/" },
  },
};
