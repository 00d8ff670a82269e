#!/usr/bin/env node
// The `firedrill` command. Re-executes itself under the bootstrapped Node 22 when the
// running Node is older than 22.13, then loads the TypeScript CLI with Node's built-in
// type stripping (no build step).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BOOTSTRAP_NODE, envFor, nodeIsRecentEnough, runForwardingSignals } from "./setup.mjs";

if (!nodeIsRecentEnough(process.versions.node)) {
  if (!existsSync(BOOTSTRAP_NODE)) {
    process.stderr.write(
      `firedrill: Node ${process.versions.node} is too old (>= 22.13 needed); run \`npm run setup\` once to install Node 22 locally\n`,
    );
    process.exit(2);
  }
  runForwardingSignals(
    BOOTSTRAP_NODE,
    [fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    envFor(BOOTSTRAP_NODE),
  );
} else {
  // Type stripping is stable in use but still flagged experimental: keep the CLI's output clean.
  const emit = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    const text = typeof warning === "string" ? warning : warning?.message;
    if (typeof text === "string" && text.includes("Type Stripping")) return;
    return emit.call(process, warning, ...rest);
  };
  // `firedrill map | head` closes the pipe early: that is not an error. But a drill must
  // not just vanish when nobody reads its output any more: a command that is listening for
  // SIGTERM (run, drill, lab up) is stopped as if it had been sent one, so that it heals
  // every fault and stops every process first. Later write errors are ignored.
  let unread = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error) => {
      if (unread) return;
      if (error.code !== "EPIPE") throw error;
      unread = true;
      if (process.listenerCount("SIGTERM") > 0) process.kill(process.pid, "SIGTERM");
      else process.exit(process.exitCode ?? 0);
    });
  }
  const { main } = await import("../cli.ts");
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // A handle left open by a library must not keep a finished command alive.
  setTimeout(() => process.exit(code), 2000).unref();
}
