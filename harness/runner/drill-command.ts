/** `firedrill drill`: see `drillCommand` in run-command.ts, which it shares its options and gate with. */
export { drillCommand as command } from "./run-command.ts";
