/**
 * Scale-out on Kubernetes with k6-operator: a `TestRun` (k6.io/v1alpha1) that runs the
 * same script and profile on `parallelism` runner pods, and the ConfigMap holding both.
 * k6-operator mounts the ConfigMap at /test, so the profile sits beside the script and the
 * script finds it through `PROFILE_FILE`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import type { Profile } from "./profile.ts";
import { SCRIPT_FILE } from "./profile.ts";

export interface OperatorOptions {
  profile: Profile;
  parallelism: number;
  /** Gateway base URL as the runner pods reach it. */
  target: string;
  /** @default "default" */
  namespace?: string;
  /** Name of the TestRun and prefix of the ConfigMap. @default `firedrill-<profile>` */
  name?: string;
  /** Secret holding the gateway token under key `token`. @default `firedrill-gateway-token` */
  tokenSecret?: string;
  /** Runner image. @default "grafana/k6:1.8.1" */
  image?: string;
}

export interface OperatorManifests {
  configMap: Record<string, unknown>;
  testRun: Record<string, unknown>;
}

/** Builds the ConfigMap and TestRun documents. */
export function k6OperatorManifests(options: OperatorOptions): OperatorManifests {
  const name = options.name ?? `firedrill-${options.profile.name}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const namespace = options.namespace ?? "default";
  const scriptKey = basename(SCRIPT_FILE);
  const profileKey = `${options.profile.name}.json`;
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `${name}-script`, namespace, labels: { "app.kubernetes.io/part-of": "firedrill" } },
    data: {
      [scriptKey]: readFileSync(SCRIPT_FILE, "utf8"),
      [profileKey]: `${JSON.stringify(options.profile.data, null, 2)}\n`,
    },
  };
  const testRun = {
    apiVersion: "k6.io/v1alpha1",
    kind: "TestRun",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "firedrill" } },
    spec: {
      parallelism: options.parallelism,
      script: { configMap: { name: `${name}-script`, file: scriptKey } },
      arguments: `--tag testid=${name}`,
      separate: false,
      runner: {
        image: options.image ?? "grafana/k6:1.8.1",
        env: [
          { name: "BASE_URL", value: options.target },
          { name: "PROFILE_FILE", value: `./${profileKey}` },
          {
            name: "GATEWAY_TOKEN",
            valueFrom: {
              secretKeyRef: { name: options.tokenSecret ?? "firedrill-gateway-token", key: "token" },
            },
          },
          { name: "K6_NO_USAGE_REPORT", value: "true" },
        ],
      },
    },
  };
  return { configMap, testRun };
}

/** Writes `configmap.yaml` and `testrun.yaml` into `outDir`; returns their paths. */
export function writeK6OperatorManifests(options: OperatorOptions, outDir: string): string[] {
  const { configMap, testRun } = k6OperatorManifests(options);
  mkdirSync(outDir, { recursive: true });
  const files = [join(outDir, "configmap.yaml"), join(outDir, "testrun.yaml")];
  writeFileSync(files[0]!, stringify(configMap, { lineWidth: 0 }));
  writeFileSync(files[1]!, stringify(testRun, { lineWidth: 0 }));
  return files;
}
