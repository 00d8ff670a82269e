/**
 * Where things are, from the repository root: what firedrill ships (scenarios, load
 * profiles, compiled contracts, its own CLI, fetched tools) and where it keeps its state.
 */
import { join, resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "..");
/** The CLI's entry point, for starting firedrill as a child process. */
export const BIN = join(ROOT, "harness", "bin", "firedrill.mjs");
/** The shipped scenarios, `systems-map.yml` and `kpis.yml`. */
export const SCENARIOS_DIR = join(ROOT, "scenarios");
/** The k6 script and its load profiles. */
export const LOAD_DIR = join(ROOT, "load");
/** Compiled contracts: `<name>.sol/<name>.json`. */
export const ARTIFACTS_DIR = join(ROOT, "artifacts", "contracts");
/** Binaries that setup fetches (k6, toxiproxy-server). */
export const TOOLS_BIN = join(ROOT, ".tools", "bin");
/** Journals, unless `--journal-dir` says otherwise. */
export const REPORTS_DIR = join(ROOT, "reports");
/** firedrill's own state: the lab (`lab/`), cached deployments (`cache/`), the runs' work folders (`runs/`). */
export const STATE_DIR = join(ROOT, ".firedrill");
/** A running GameDay's room link (with its token), for the terminal steps on this machine; mode 600. */
export const ROOM_FILE = join(STATE_DIR, "gameday", "room.url");
/** The lab's folder, unless `--dir` says otherwise. */
export const LAB_DIR = join(STATE_DIR, "lab");
