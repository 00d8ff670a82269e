/**
 * Every fault type firedrill knows, as an explicit list: nothing registers itself by
 * import side effect. To add a fault, write harness/faults/<type>.ts and list it here.
 */
import type { z } from "zod";
import { alertDelivery } from "./alert_delivery.ts";
import { chainHalt } from "./chain_halt.ts";
import { collateralShock } from "./collateral_shock.ts";
import type { FaultDefinition, FaultTiming } from "./common.ts";
import { congestion } from "./congestion.ts";
import { gasSpike } from "./gas_spike.ts";
import { oracleDeviation } from "./oracle_deviation.ts";
import { oracleOutage } from "./oracle_outage.ts";
import { oracleStale } from "./oracle_stale.ts";
import { redemptionRun } from "./redemption_run.ts";
import { regulatorOutage } from "./regulator_outage.ts";
import { regulatoryPressure } from "./regulatory_pressure.ts";
import { reorg } from "./reorg.ts";
import { rpcBatchLimit } from "./rpc_batch_limit.ts";
import { rpcDisagree } from "./rpc_disagree.ts";
import { rpcLag } from "./rpc_lag.ts";
import { rpcLatency } from "./rpc_latency.ts";
import { rpcMethodErrors } from "./rpc_method_errors.ts";
import { rpcOutage } from "./rpc_outage.ts";
import { rpcRateLimit } from "./rpc_rate_limit.ts";
import { rpcWrongFork } from "./rpc_wrong_fork.ts";

export const FAULTS = [
  oracleOutage,
  oracleStale,
  oracleDeviation,
  rpcOutage,
  rpcLatency,
  rpcLag,
  rpcRateLimit,
  rpcMethodErrors,
  rpcBatchLimit,
  rpcWrongFork,
  rpcDisagree,
  gasSpike,
  congestion,
  chainHalt,
  reorg,
  collateralShock,
  redemptionRun,
  regulatorOutage,
  regulatoryPressure,
  alertDelivery,
] as const;

export type FaultType = (typeof FAULTS)[number]["type"];

/** A fault as a scenario declares it, after validation: durations in ms. */
export type FaultOf<D extends FaultDefinition> = { type: D["type"]; id?: string | undefined } & FaultTiming &
  z.output<D["params"]>;

/** Any fault of a scenario, discriminated by `type`. */
export type Fault = Distribute<(typeof FAULTS)[number]>;
type Distribute<D> = D extends FaultDefinition<infer P> ? FaultOf<FaultDefinition<P> & D> : never;

/** The definition of a fault type, or undefined for an unknown one. */
export function faultDefinition(type: string): FaultDefinition | undefined {
  return (FAULTS as readonly FaultDefinition[]).find((fault) => fault.type === type);
}

export type { FaultDefinition, FaultTiming } from "./common.ts";
