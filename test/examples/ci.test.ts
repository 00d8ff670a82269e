import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { expect } from "chai";
import * as kubernetes from "kubernetes-models";
import { parse, parseAllDocuments } from "yaml";
import { BIN } from "../../harness/paths.ts";

// The CI examples checked against the schemas their platforms publish, offline, each with
// a broken copy that must be refused, so that a validator that accepts anything fails here.
const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "ci");
const GITHUB = join(EXAMPLE, "github-actions.yml");
const GITLAB = join(EXAMPLE, "gitlab-ci.yml");
const KUBERNETES = join(EXAMPLE, "kubernetes");

const read = (file: string) => readFileSync(file, "utf8");
const execFileAsync = promisify(execFile);

/** Replaces exactly one occurrence of `from`, so that a broken copy breaks what it says. */
function breakOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  expect(at, `"${from}" in the example`).to.be.at.least(0);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

// GitHub Actions: GitHub's own parser, with the workflow schema it ships
// (dist/workflow-v1.0.min.json, the one the Actions language service uses). Parsing checks
// the keys and types; the conversion then checks what the schema cannot: cron syntax,
// expressions, job references.
async function workflowErrors(content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name: "github-actions.yml", content }, new NoOperationTraceWriter());
  if (parsed.value !== undefined) await convertWorkflowTemplate(parsed.context, parsed.value);
  return parsed.context.errors.getErrors().map((e) => e.message);
}

// GitLab CI: GitLab's published schema (app/assets/javascripts/editor/schema/ci.json in
// gitlab-org/gitlab, the file the SchemaStore catalog lists for .gitlab-ci.yml), as
// gitlab-ci-local ships it in src/schema/schema.js. Its index.js adds keys of its own; this
// module is the schema alone. The package has no type declarations, hence the plain import.
const GITLAB_SCHEMA_MODULE = "gitlab-ci-local/src/schema/schema.js";
let gitlabValidate: ValidateFunction;
async function gitlabSchema(): Promise<ValidateFunction> {
  if (gitlabValidate === undefined) {
    const { schema } = (await import(GITLAB_SCHEMA_MODULE)) as { schema: Record<string, unknown> };
    expect(schema["$id"]).to.equal("https://gitlab.com/.gitlab-ci.yml");
    // strict: false for the editor's own annotations (markdownDescription) and its unions.
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    gitlabValidate = ajv.compile(schema);
  }
  return gitlabValidate;
}

async function gitlabErrors(content: string): Promise<string[]> {
  const validate = await gitlabSchema();
  if (validate(parse(content))) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

// Kubernetes: every document against the OpenAPI schema of its apiVersion and kind, as
// compiled by kubernetes-models (Model#validate). A kind the package does not know is an
// error too.
interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: object): { validate(): void };
}
function modelClasses(from: object, found = new Map<string, ModelClass>()): Map<string, ModelClass> {
  for (const value of Object.values(from)) {
    if (typeof value === "function" && "apiVersion" in value && "kind" in value) {
      const model = value as ModelClass;
      found.set(`${model.apiVersion}/${model.kind}`, model);
    } else if (typeof value === "object" && value !== null) {
      modelClasses(value, found);
    }
  }
  return found;
}
const MODELS = modelClasses(kubernetes);

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  [key: string]: unknown;
}

function manifests(content: string): Manifest[] {
  const docs = parseAllDocuments(content);
  if (!Array.isArray(docs)) throw new Error("not a stream of YAML documents");
  for (const doc of docs) expect(doc.errors.map((e) => e.message)).to.deep.equal([]);
  return docs.map((doc) => doc.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
}

function manifestErrors(manifest: Manifest): string[] {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const Model = MODELS.get(key);
  if (Model === undefined) return [`no schema for ${key}`];
  try {
    new Model(manifest).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

const kubernetesFiles = () =>
  readdirSync(KUBERNETES)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();

// Every `firedrill <verb> ...` the examples run, with its options. YAML is read as YAML,
// so that folded scalars (`>-`) and script lists come out as the shell sees them.
const VERBS = ["drill", "run", "report", "validate", "map", "programme", "lab", "load", "alerts"];
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(strings);
  return [];
}
function commands(texts: readonly string[]): { verb: string; options: string[]; line: string }[] {
  const found: { verb: string; options: string[]; line: string }[] = [];
  const pattern = new RegExp(`firedrill(?:\\.mjs)?\\s+(${VERBS.join("|")})\\b([^\\n;&|\`]*)`, "g");
  for (const text of texts) {
    const joined = text.replace(/\\\n\s*/g, " ");
    for (const match of joined.matchAll(pattern)) {
      // `${SEED:+--seed "$SEED"}` passes --seed too.
      const options = [...match[2]!.matchAll(/(?:^|[\s+])(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
      found.push({ verb: match[1]!, options, line: match[0].replace(/\s+/g, " ").trim() });
    }
  }
  return found;
}

describe("the CI examples (examples/ci/)", function () {
  this.timeout(60_000);

  describe("github-actions.yml, with GitHub's workflow parser", () => {
    it("is a valid workflow", async () => {
      expect(await workflowErrors(read(GITHUB))).to.deep.equal([]);
    });

    it("has the gate on pull requests and the drill on a monthly schedule and on demand", () => {
      const workflow = parse(read(GITHUB)) as {
        on: Record<string, unknown>;
        jobs: Record<string, { if?: string; steps: { uses?: string; if?: string; with?: object }[] }>;
      };
      expect(workflow.on).to.have.all.keys("pull_request", "schedule", "workflow_dispatch");
      const [cron] = (workflow.on["schedule"] as { cron: string }[]).map((s) => s.cron);
      expect(cron!.split(" ")).to.have.length(5);
      expect(cron!.split(" ")[2], "one day of the month").to.match(/^\d+$/);
      expect(workflow.jobs["gate"]!.if).to.include("pull_request");
      const uploads = workflow.jobs["drill"]!.steps.filter((s) => s.uses === "actions/upload-artifact@v4");
      expect(uploads).to.have.length.of.at.least(2);
      for (const upload of uploads)
        expect(upload.if, upload.with ? JSON.stringify(upload.with) : "").to.match(/^always\(\)/);
    });

    it("refuses a broken copy: a misspelled key, a cron that cannot fire, a bad expression", async () => {
      const content = read(GITHUB);
      const misspelled = await workflowErrors(
        breakOnce(content, "runs-on: ubuntu-24.04", "run-on: ubuntu-24.04"),
      );
      expect(misspelled.join("\n")).to.include("run-on");
      const cron = await workflowErrors(breakOnce(content, '"17 6 3 * *"', '"17 6 32 * *"'));
      expect(cron.join("\n")).to.match(/invalid cron/i);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
      const broken = "if: ${{ github.event_name == }}";
      const expression = await workflowErrors(
        breakOnce(content, "if: github.event_name == 'pull_request'", broken),
      );
      expect(expression.join("\n")).to.match(/expression/i);
      const context = await workflowErrors(
        breakOnce(content, "steps.drill.outputs.journal", "step.drill.outputs.journal"),
      );
      expect(context.join("\n")).to.include("'step'");
    });
  });

  describe("gitlab-ci.yml, with GitLab's ci.json schema", () => {
    it("is a valid pipeline", async () => {
      expect(await gitlabErrors(read(GITLAB))).to.deep.equal([]);
    });

    it("gates merge requests, drills from a schedule and reports the JUnit", () => {
      const pipeline = parse(read(GITLAB)) as Record<
        string,
        { rules?: { if: string }[]; artifacts?: { when?: string; reports?: { junit?: string } } }
      >;
      expect(pipeline["release-gate"]!.rules!.map((r) => r.if).join()).to.include("merge_request_event");
      expect(pipeline["monthly-drill"]!.rules!.map((r) => r.if).join()).to.include('"schedule"');
      for (const job of ["release-gate", "monthly-drill"]) {
        expect(pipeline[job]!.artifacts!.when, job).to.equal("always");
        expect(pipeline[job]!.artifacts!.reports!.junit, job).to.match(/\.xml$/);
      }
    });

    it("refuses a broken copy: a misspelled key, a value outside its enum", async () => {
      const content = read(GITLAB);
      const misspelled = await gitlabErrors(breakOnce(content, "  script:\n", "  scirpt:\n"));
      expect(misspelled.join("\n")).to.include("scirpt");
      const badWhen = await gitlabErrors(breakOnce(content, "when: always", "when: allways"));
      expect(badWhen.join("\n")).to.include("/artifacts/when");
    });
  });

  describe("kubernetes/, with the Kubernetes OpenAPI schema", () => {
    it("holds a CronJob, its volume claim and its network policy", () => {
      const kinds = kubernetesFiles().flatMap((f) => manifests(read(join(KUBERNETES, f))).map((m) => m.kind));
      expect(kinds).to.have.members(["CronJob", "PersistentVolumeClaim", "NetworkPolicy"]);
    });

    for (const file of ["cronjob.yaml", "pvc.yaml", "networkpolicy.yaml"]) {
      it(`${file}: every document validates`, () => {
        const docs = manifests(read(join(KUBERNETES, file)));
        expect(docs).to.not.be.empty;
        for (const doc of docs)
          expect(manifestErrors(doc), `${doc.kind} ${doc.metadata?.name}`).to.deep.equal([]);
      });
    }

    it("cronjob.yaml: forbids overlapping drills, runs non-root, sets requests and limits, keeps reports on the claim", () => {
      const cronJob = manifests(
        read(join(KUBERNETES, "cronjob.yaml")),
      )[0] as unknown as kubernetes.batch.v1.ICronJob;
      const claim = manifests(
        read(join(KUBERNETES, "pvc.yaml")),
      )[0] as unknown as kubernetes.v1.IPersistentVolumeClaim;
      expect(cronJob.spec.concurrencyPolicy).to.equal("Forbid");
      const pod = cronJob.spec.jobTemplate.spec!.template.spec!;
      expect(pod.securityContext!.runAsNonRoot).to.equal(true);
      for (const container of pod.containers) {
        expect(container.resources!.requests, container.name).to.include.keys("cpu", "memory");
        expect(container.resources!.limits, container.name).to.include.keys("memory");
        expect(container.securityContext!.allowPrivilegeEscalation, container.name).to.equal(false);
      }
      const claims = pod.volumes!.flatMap((v) => v.persistentVolumeClaim?.claimName ?? []);
      expect(claims).to.deep.equal([claim.metadata!.name]);
    });

    it("refuses a broken copy: a CronJob with no schedule, a policy outside its enum, a claim of the wrong type", () => {
      const cronJob = manifests(
        read(join(KUBERNETES, "cronjob.yaml")),
      )[0] as unknown as kubernetes.batch.v1.ICronJob;
      const { schedule: _, ...unscheduled } = cronJob.spec;
      expect(manifestErrors({ ...cronJob, spec: unscheduled }).join()).to.include("schedule");
      expect(
        manifestErrors({ ...cronJob, spec: { ...cronJob.spec, concurrencyPolicy: "Never" } }).join(),
      ).to.include("concurrencyPolicy");
      const [claim] = manifests(read(join(KUBERNETES, "pvc.yaml")));
      const spec = claim!["spec"] as object;
      expect(manifestErrors({ ...claim, spec: { ...spec, accessModes: "ReadWriteOnce" } })).to.not.deep.equal(
        [],
      );
      expect(manifestErrors({ apiVersion: "batch/v1", kind: "CronJobs" })).to.deep.equal([
        "no schema for batch/v1/CronJobs",
      ]);
    });
  });

  describe("the firedrill commands they run", () => {
    const sources = () => [
      ...strings(parse(read(GITHUB))),
      ...strings(parse(read(GITLAB))),
      ...kubernetesFiles().flatMap((f) => strings(manifests(read(join(KUBERNETES, f))))),
      read(join(EXAMPLE, "README.md")),
    ];

    it("run the gate, the drill and the report with the chain checked", () => {
      const lines = commands(sources()).map((c) => c.line);
      // The gate as the top-level README gives it, in GitHub, GitLab and this README.
      const parallel = /run scenarios --parallel (\d+) /.exec(read(join(ROOT, "README.md")))?.[1];
      expect(parallel, "the README's gate").to.match(/^\d+$/);
      const gate = new RegExp(`run scenarios --parallel ${parallel} --junit \\S+ --summary \\S+`);
      expect(lines.filter((l) => gate.test(l))).to.have.length(3);
      expect(lines.some((l) => l.includes("drill") && l.includes("--junit"))).to.equal(true);
      expect(
        lines.filter((l) => /report \S+ --verify \S+ --format html,md,junit --out/.test(l)),
      ).to.have.length(4, "the report in GitHub, GitLab, the CronJob and the README");
    });

    it("use only options that `firedrill <verb> --help` lists", async () => {
      const found = commands(sources());
      expect(found.flatMap((c) => c.options)).to.include.members(["--parallel", "--verify", "--seed"]);
      const verbs = [...new Set(found.map((c) => c.verb))];
      const usage = new Map(
        await Promise.all(
          verbs.map(async (verb) => {
            const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, verb, "--help"]);
            return [verb, stdout + stderr] as const;
          }),
        ),
      );
      // The check itself: a misspelled option is not in the usage.
      const [misspelled] = commands(["firedrill report reports/ --verfy reports/"]);
      expect(misspelled!.options).to.deep.equal(["--verfy"]);
      expect(usage.get("report")).to.not.match(/--verfy(?![a-z-])/);
      for (const { verb, options, line } of found) {
        for (const option of options) {
          expect(usage.get(verb), `${option} in: ${line}`).to.match(new RegExp(`${option}(?![a-z-])`));
        }
      }
    });
  });
});
