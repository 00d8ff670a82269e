/**
 * The fault context of a run: what every fault may act on (the lab's nodes and control API,
 * the SUT's gateway), the run's seeded randomness for faults, and the interruption signal.
 */
import { FiredrillError } from "../errors.ts";
import type { FaultContext } from "../faults/context.ts";
import { rpcCall } from "../lab/anvil.ts";
import { type LabInfo, labChain } from "../lab/index.ts";
import type { Random } from "../random.ts";
import type { AlertPath } from "./alert-path.ts";

export function faultContext(
  lab: LabInfo,
  sut: { url: string; token: string },
  random: Random,
  signal: AbortSignal,
  log: (line: string) => void,
  alertPath?: AlertPath,
): FaultContext {
  return {
    lab,
    alertPath: alertPath && { proxy: alertPath.proxy, url: alertPath.url },
    rpc: (chain, method, params) => rpcCall(labChain(lab, chain).nodeUrl, method, params),
    async control(path, body) {
      const response = await fetch(`${lab.control}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const reply = (await response.json()) as unknown;
      if (!response.ok)
        throw new FiredrillError(
          "FD320",
          `control ${path}: HTTP ${response.status} ${JSON.stringify(reply)}`,
        );
      return reply as never;
    },
    gateway: { url: sut.url, token: sut.token },
    random: random.fork("faults"),
    signal,
    log: (line) => log(line),
  };
}
