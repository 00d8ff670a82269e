/**
 * The environment a system under test is started with: where the lab is (lab.json, RPC
 * providers, price sources, regulator) and how it talks to the harness (alert webhook and
 * its secret, gateway token and port). `sutEnv` builds it; `readSutLab` and
 * `readSutWiring` read it back for a SUT, with an error that names the variable.
 */
import { z } from "zod";
import { FiredrillError } from "../errors.ts";
import { type LabFile, RPC_PROVIDERS, type RpcProvider, readLabFile, reportsUrl } from "./lab-file.ts";

export const ENV = {
  lab: "FIREDRILL_LAB",
  oracleUrls: "FIREDRILL_ORACLE_URLS",
  regulatorUrl: "FIREDRILL_REGULATOR_URL",
  alertWebhook: "FIREDRILL_ALERT_WEBHOOK",
  webhookSecret: "FIREDRILL_WEBHOOK_SECRET",
  gatewayToken: "FIREDRILL_GATEWAY_TOKEN",
  sutPort: "FIREDRILL_SUT_PORT",
} as const;

/** `FIREDRILL_RPC_<CHAIN>_<PROVIDER>`, e.g. `FIREDRILL_RPC_ETHEREUM_PRIMARY`. */
export function rpcVariable(chain: string, provider: RpcProvider): string {
  return `FIREDRILL_RPC_${chain.toUpperCase()}_${provider.toUpperCase()}`;
}

/** Every variable with what it holds, in the order the README lists them. */
export const SUT_VARIABLES: readonly { name: string; meaning: string }[] = [
  {
    name: ENV.lab,
    meaning: "path of `lab.json`: every endpoint, chain id, contract address and operator key",
  },
  {
    name: "FIREDRILL_RPC_<CHAIN>_<PROVIDER>",
    meaning: `every chain of the lab (\`ETHEREUM\`, \`POLYGON\`, \`ARBITRUM\` in the embedded lab); providers ${RPC_PROVIDERS.map((p) => `\`${p.toUpperCase()}\``).join(", ")}`,
  },
  { name: ENV.oracleUrls, meaning: "`name=url,...`, one per price source (`GET /price/ETH-USD`)" },
  { name: ENV.regulatorUrl, meaning: "where compliance reports are filed (`POST`, JSON)" },
  { name: ENV.alertWebhook, meaning: "where the stack posts every alert and action" },
  { name: ENV.webhookSecret, meaning: "HMAC key of the webhook signature" },
  { name: ENV.gatewayToken, meaning: "bearer token the gateway demands" },
  { name: ENV.sutPort, meaning: "loopback port of the stack's HTTP endpoints" },
];

/** The SUT environment variables (`FIREDRILL_*`), e.g. `process.env`. */
export type SutEnvVars = Readonly<Record<string, string | undefined>>;

/** Where the lab's endpoints are, as the lab knows them. */
export interface SutEndpoints {
  /** Path of lab.json. */
  labFile: string;
  /** Chain -> provider -> RPC URL. */
  rpc: Readonly<Record<string, Readonly<Partial<Record<RpcProvider, string>>>>>;
  /** Price source name -> base URL. */
  oracleSources: Readonly<Record<string, string>>;
  /** Base URL of the regulator. */
  regulatorUrl: string;
}

/** What a run adds: where alerts go and what the SUT's gateway demands. */
export interface SutWiring {
  webhookUrl: string;
  webhookSecret: string;
  gatewayToken: string;
  port: number;
}

/** The environment for a SUT; without `wiring`, only the lab's part (`firedrill lab env`). */
export function sutEnv(endpoints: SutEndpoints, wiring?: SutWiring): Record<string, string> {
  const env: Record<string, string> = { [ENV.lab]: endpoints.labFile };
  for (const [chain, providers] of Object.entries(endpoints.rpc)) {
    for (const provider of RPC_PROVIDERS) {
      const url = providers[provider];
      if (url !== undefined) env[rpcVariable(chain, provider)] = url;
    }
  }
  env[ENV.oracleUrls] = Object.entries(endpoints.oracleSources)
    .map(([name, url]) => `${name}=${url}`)
    .join(",");
  env[ENV.regulatorUrl] = reportsUrl(endpoints.regulatorUrl);
  if (wiring) {
    env[ENV.alertWebhook] = wiring.webhookUrl;
    env[ENV.webhookSecret] = wiring.webhookSecret;
    env[ENV.gatewayToken] = wiring.gatewayToken;
    env[ENV.sutPort] = String(wiring.port);
  }
  return env;
}

const SEE_README = 'not set (the SUT environment is under "Drill your own stack" in README.md)';

// An empty variable counts as unset, as a shell's `VAR=` means "nothing".
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);
const present = z.string({ error: SEE_README });
const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const required = <T>(schema: z.ZodType<T, string>) => z.preprocess(unsetIfEmpty, present.pipe(schema));
const optional = <T>(schema: z.ZodType<T, string>) => z.preprocess(unsetIfEmpty, schema.optional());

const oracleList = z.string().transform((text, ctx) => {
  const sources: { name: string; url: string }[] = [];
  for (const pair of text.split(",").map((p) => p.trim())) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const url = pair.slice(eq + 1);
    if (eq <= 0 || !httpUrl.safeParse(url).success) {
      ctx.addIssue({ code: "custom", message: `"${pair}" is not name=url` });
      return z.NEVER;
    }
    sources.push({ name: pair.slice(0, eq), url });
  }
  return sources;
});

const port = z
  .string()
  .regex(/^\d{1,5}$/, "expected a port number")
  .transform(Number)
  .pipe(z.number().max(65535, "expected a port number"));

const labVars = z.object({
  [ENV.lab]: required(z.string()),
  [ENV.oracleUrls]: optional(oracleList),
  [ENV.regulatorUrl]: optional(httpUrl),
});

const wiringVars = z.object({
  [ENV.alertWebhook]: required(httpUrl),
  [ENV.webhookSecret]: required(z.string()),
  [ENV.gatewayToken]: required(z.string()),
  [ENV.sutPort]: required(port),
});

function parseVars<T>(schema: z.ZodType<T>, env: SutEnvVars): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new FiredrillError("FD210", `${issue.path.join(".")}: ${issue.message}`);
}

/** The lab as a SUT sees it: lab.json, with the variables taking precedence over it. */
export interface SutLab {
  /** Path of lab.json. */
  labFile: string;
  lab: LabFile;
  /** Chain -> its providers in failover order (every chain of lab.json has one at least). */
  rpc: Record<string, { name: RpcProvider; url: string }[]>;
  oracleSources: { name: string; url: string }[];
  /** Where reports are filed; "" when neither the variable nor lab.json says. */
  regulatorUrl: string;
}

/** Reads `FIREDRILL_LAB` and the lab.json it names, the RPC, oracle and regulator variables. */
export function readSutLab(env: SutEnvVars): SutLab {
  const vars = parseVars(labVars, env);
  const labFile = vars[ENV.lab];
  const lab = readLabFile(labFile);
  const rpc: SutLab["rpc"] = {};
  for (const [chain, info] of Object.entries(lab.chains)) {
    rpc[chain] = RPC_PROVIDERS.flatMap((provider) => {
      const name = rpcVariable(chain, provider);
      const url = parseVars(z.object({ [name]: optional(httpUrl) }), env)[name] ?? info.rpc?.[provider];
      return url ? [{ name: provider, url }] : [];
    });
    if (rpc[chain].length === 0) {
      throw new FiredrillError(
        "FD210",
        `${rpcVariable(chain, "primary")}: not set, and lab.json has no RPC provider for chain ${chain}`,
      );
    }
  }
  const labSources = Object.entries(lab.oracles?.sources ?? {}).map(([name, url]) => ({ name, url }));
  const labRegulator = lab.regulator?.url;
  return {
    labFile,
    lab,
    rpc,
    oracleSources: vars[ENV.oracleUrls] ?? labSources,
    regulatorUrl: vars[ENV.regulatorUrl] ?? (labRegulator ? reportsUrl(labRegulator) : ""),
  };
}

/** Reads the webhook, its secret, the gateway token and the port. */
export function readSutWiring(env: SutEnvVars): SutWiring {
  const vars = parseVars(wiringVars, env);
  return {
    webhookUrl: vars[ENV.alertWebhook],
    webhookSecret: vars[ENV.webhookSecret],
    gatewayToken: vars[ENV.gatewayToken],
    port: vars[ENV.sutPort],
  };
}
