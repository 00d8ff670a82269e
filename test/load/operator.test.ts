import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parse } from "yaml";
import { reportError } from "../../harness/cli.ts";
import type { Io } from "../../harness/io.ts";
import { command } from "../../harness/loadgen/command.ts";
import { findK6 } from "../../harness/loadgen/k6.ts";
import { k6OperatorManifests } from "../../harness/loadgen/operator.ts";
import { loadProfile } from "../../harness/loadgen/profile.ts";

const run = promisify(execFile);

// The fields of k6-operator's TestRun CRD (config/crd/bases/k6.io_testruns.yaml,
// grafana/k6-operator e2c9571, version v1alpha1) that a manifest may use and must satisfy.
const CRD = {
  group: "k6.io",
  version: "v1alpha1",
  kind: "TestRun",
  spec: {
    properties: [
      "args",
      "arguments",
      "cleanup",
      "initializer",
      "parallelism",
      "paused",
      "ports",
      "quiet",
      "runner",
      "script",
      "scuttle",
      "separate",
      "starter",
      "testRunId",
      "token",
    ],
    required: ["parallelism", "script"],
    types: {
      arguments: "string",
      parallelism: "integer",
      separate: "boolean",
      runner: "object",
      script: "object",
    },
  },
  script: {
    properties: ["configMap", "localFile", "volumeClaim"],
    configMap: { properties: ["file", "name"], required: ["name"] },
  },
  runner: {
    properties: [
      "affinity",
      "automountServiceAccountToken",
      "containerSecurityContext",
      "disabled",
      "env",
      "envFrom",
      "image",
      "imagePullPolicy",
      "imagePullSecrets",
      "initContainers",
      "livenessProbe",
      "metadata",
      "nodeSelector",
      "priorityClassName",
      "readinessProbe",
      "resources",
      "schedulerName",
      "securityContext",
      "serviceAccountName",
      "tolerations",
      "topologySpreadConstraints",
      "volumeMounts",
      "volumes",
    ],
    env: { properties: ["name", "value", "valueFrom"], required: ["name"] },
  },
};

const typeOf = (v: unknown) => (Number.isInteger(v) ? "integer" : Array.isArray(v) ? "array" : typeof v);

/** Checks a TestRun document against the CRD fields above; returns what is wrong. */
function crdProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (doc["apiVersion"] !== `${CRD.group}/${CRD.version}`) problems.push(`apiVersion ${doc["apiVersion"]}`);
  if (doc["kind"] !== CRD.kind) problems.push(`kind ${doc["kind"]}`);
  const meta = doc["metadata"] as { name?: unknown } | undefined;
  if (typeof meta?.name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(meta.name)) {
    problems.push("metadata.name is not a DNS-1123 name");
  }
  const spec = doc["spec"] as Record<string, unknown>;
  for (const key of Object.keys(spec))
    if (!CRD.spec.properties.includes(key)) problems.push(`spec.${key} unknown`);
  for (const key of CRD.spec.required) if (spec[key] === undefined) problems.push(`spec.${key} missing`);
  for (const [key, type] of Object.entries(CRD.spec.types)) {
    if (spec[key] !== undefined && typeOf(spec[key]) !== type) problems.push(`spec.${key} is not ${type}`);
  }
  if (typeof spec["parallelism"] === "number" && spec["parallelism"] > 2 ** 31 - 1)
    problems.push("int32 overflow");
  const script = spec["script"] as Record<string, unknown>;
  for (const key of Object.keys(script)) {
    if (!CRD.script.properties.includes(key)) problems.push(`spec.script.${key} unknown`);
  }
  const cm = script["configMap"] as Record<string, unknown> | undefined;
  if (cm) {
    for (const key of Object.keys(cm)) {
      if (!CRD.script.configMap.properties.includes(key)) problems.push(`configMap.${key} unknown`);
    }
    for (const key of CRD.script.configMap.required)
      if (typeof cm[key] !== "string") problems.push(`configMap.${key}`);
  }
  const runner = (spec["runner"] ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(runner)) {
    if (!CRD.runner.properties.includes(key)) problems.push(`spec.runner.${key} unknown`);
  }
  for (const env of (runner["env"] ?? []) as Array<Record<string, unknown>>) {
    for (const key of Object.keys(env)) {
      if (!CRD.runner.env.properties.includes(key)) problems.push(`runner.env.${key} unknown`);
    }
    if (typeof env["name"] !== "string") problems.push("runner.env[].name missing");
  }
  return problems;
}

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), debug: false };
  try {
    return { code: await command(args, io), out, err };
  } catch (error) {
    return { code: reportError(error, io), out, err };
  }
}

describe("load scale-out on k6-operator", function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "fd-operator-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the CRD check itself catches a wrong manifest", () => {
    const bad = {
      apiVersion: "k6.io/v1",
      kind: "TestRun",
      metadata: { name: "Bad_Name" },
      spec: { parallelism: "4", script: { configMap: { file: "x.js" }, inline: "x" }, runners: {} },
    };
    expect(crdProblems(bad)).to.include.members([
      "apiVersion k6.io/v1",
      "metadata.name is not a DNS-1123 name",
      "spec.runners unknown",
      "spec.parallelism is not integer",
      "spec.script.inline unknown",
      "configMap.name",
    ]);
  });

  it("writes a TestRun that matches the CRD's fields, and its ConfigMap", async () => {
    const { code, out } = await cli([
      "--emit",
      "k6-operator",
      "--parallelism",
      "4",
      "--profile",
      "normal",
      "--out",
      dir,
      "--target",
      "http://gateway.firedrill.svc:8080",
      "--allow-remote",
    ]);
    expect(code).to.equal(0);
    expect(out.join("\n")).to.include("testrun.yaml");
    const testRun = parse(readFileSync(join(dir, "testrun.yaml"), "utf8"));
    const configMap = parse(readFileSync(join(dir, "configmap.yaml"), "utf8"));
    expect(crdProblems(testRun)).to.deep.equal([]);
    expect(testRun.spec.parallelism).to.equal(4);
    expect(testRun.spec.script.configMap.name).to.equal(configMap.metadata.name);
    expect(configMap.kind).to.equal("ConfigMap");
    expect(Object.keys(configMap.data).sort()).to.deep.equal(["mint-redeem.js", "normal.json"]);
    expect(configMap.data[testRun.spec.script.configMap.file]).to.include("export function handleSummary");
    expect(JSON.parse(configMap.data["normal.json"])).to.deep.equal(loadProfile("normal").data);
    for (const key of Object.keys(configMap.data)) expect(key).to.match(/^[-._a-zA-Z0-9]+$/);
    const env = Object.fromEntries(
      (testRun.spec.runner.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e]),
    );
    expect(env["BASE_URL"]?.value).to.equal("http://gateway.firedrill.svc:8080");
    expect(env["PROFILE_FILE"]?.value).to.equal("./normal.json");
    expect(env).to.have.nested.property("GATEWAY_TOKEN.valueFrom.secretKeyRef.key", "token");
    expect(JSON.stringify(testRun)).not.to.match(/Bearer/);
  });

  it("refuses a parallelism that is not a positive whole number", async () => {
    const { code } = await cli(["--emit", "k6-operator", "--parallelism", "0", "--out", dir]);
    expect(code).to.equal(2);
  });

  it("k6 loads the script and its profile as k6-operator mounts them (one folder)", async function () {
    const bin = findK6();
    if (bin === undefined) {
      console.log("    (skipped: k6 not found on PATH, K6_BIN or .tools/bin/k6)");
      this.skip();
    }
    const { configMap, testRun } = k6OperatorManifests({
      profile: loadProfile("spike"),
      parallelism: 2,
      target: "http://127.0.0.1:1",
    }) as {
      configMap: { data: Record<string, string> };
      testRun: { spec: { runner: { env: Array<{ name: string; value?: string }> } } };
    };
    const mount = mkdtempSync(join(dir, "test-"));
    for (const [file, text] of Object.entries(configMap.data)) writeFileSync(join(mount, file), text);
    const env = { ...process.env, K6_NO_USAGE_REPORT: "true" } as NodeJS.ProcessEnv;
    for (const e of testRun.spec.runner.env) if (e.value !== undefined) env[e.name] = e.value;
    const { stdout } = await run(
      bin!,
      ["inspect", "--execution-requirements", "--include-system-env-vars", join(mount, "mint-redeem.js")],
      {
        env,
        cwd: tmpdir(),
      },
    );
    const inspected = JSON.parse(stdout) as { maxVUs: number; scenarios?: unknown; totalDuration: string };
    expect(inspected.maxVUs).to.equal(1000);
  });
});
