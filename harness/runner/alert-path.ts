/**
 * The alert path: for a scenario that drills it (`alert_delivery`), a proxy of the lab's
 * Toxiproxy stands between the system under test and the alert receiver. The proxy takes
 * the address the receiver would have had (`--alerts-listen`, loopback by default) and the
 * receiver moves to a free loopback port behind it, so the URL the SUT is given, and any
 * `--alerts-url`, are unchanged. The proxy is removed when the run ends.
 */
import { labError } from "../errors.ts";
import type { LabInfo } from "../lab/index.ts";
import { alertPathProxyName } from "../lab/residue.ts";
import { ToxiproxyClient } from "../proxy/client.ts";
import type { AlertsEndpoint } from "./alert-sink.ts";
import type { Scenario } from "./scenario.ts";

/** The proxy in front of the receiver: its name on the lab's Toxiproxy and `http://host:port`. */
export interface AlertPath {
  proxy: string;
  url: string;
  /** The URL the system under test posts alerts to (the receiver's native path, through the proxy). */
  webhookUrl: string;
}

/** Whether the scenario drills the alert path, and so needs the proxy. */
export function drillsAlertPath(scenario: Pick<Scenario, "faults">): boolean {
  return scenario.faults.some((fault) => fault.type === "alert_delivery");
}

/**
 * Puts a proxy in front of the receiver at `receiverUrl` (`http://127.0.0.1:port/alerts`),
 * listening where `endpoint` says; pushes its removal on `releases`.
 */
export async function openAlertPath(
  lab: LabInfo,
  receiverUrl: string,
  endpoint: AlertsEndpoint | undefined,
  releases: Array<() => unknown>,
): Promise<AlertPath> {
  const client = new ToxiproxyClient(lab.toxiproxy.url);
  const receiver = new URL(receiverUrl);
  // The owner's pid in the name lets `lab status` tell a proxy left by a dead run.
  const name = alertPathProxyName();
  const host = endpoint?.host ?? "127.0.0.1";
  let listen: string;
  try {
    const proxy = await client.createProxy({
      name,
      listen: `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${endpoint?.port ?? 0}`,
      upstream: receiver.host,
    });
    listen = proxy.listen;
  } catch (error) {
    throw labError(
      "alert path",
      `could not put a proxy in front of the alert receiver: ${(error as Error).message}`,
    );
  }
  releases.push(() => client.removeProxy(name).catch(() => undefined));
  // A wildcard listener is reached on loopback from this machine.
  const local = listen.replace(/^(0\.0\.0\.0|\[::\]):/, "127.0.0.1:");
  const url = `http://${local}`;
  return { proxy: name, url, webhookUrl: endpoint?.publicUrl ?? `${url}${receiver.pathname}` };
}
