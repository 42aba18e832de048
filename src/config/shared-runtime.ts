/**
 * The part of the runtime state that a cluster shares (issue 15: runtime changes reach every
 * frontend). Cluster-wide: the Broker's runtime settings (persistence policy, log level, traces,
 * self-check) except the Prometheus port, the authentications, the authorizations and the ops-only
 * limits. Per frontend: the listeners (each process binds its own ports: processes on one machine
 * cannot all bind the same one), the bind host and the Prometheus port. Resources name their secrets
 * by reference only (`secrets/` files of each instance), so the shared part holds none.
 */
import { isRecord } from '../shared/plain-objects.js';
import type { Touch } from './changes/change.js';
import { parseRuntimeState, type RuntimeState } from './runtime-state.js';
import type { RuntimeBrokerSettings } from './split.js';
import type { AuthenticationProperties, AuthorizationProperties } from './types.js';
import type { ConnectionLimitSettings } from './connection-limits.js';

/** The cluster-wide part of a {@link RuntimeState}. */
export interface SharedRuntime {
  /** The Broker's runtime settings without `diagnostics.metrics` (each frontend's own port). */
  readonly broker: RuntimeBrokerSettings;
  readonly authentications: Readonly<Record<string, AuthenticationProperties>>;
  readonly authorizations: Readonly<Record<string, AuthorizationProperties>>;
  readonly limits?: ConnectionLimitSettings;
}

/** `broker` without `diagnostics.metrics` (and without `diagnostics` when nothing else is in it). */
function withoutMetrics(broker: RuntimeBrokerSettings): RuntimeBrokerSettings {
  if (broker.diagnostics?.metrics === undefined) return broker;
  const { metrics: _local, ...diagnostics } = broker.diagnostics;
  const { diagnostics: _all, ...rest } = broker;
  return Object.keys(diagnostics).length > 0 ? { ...rest, diagnostics } : rest;
}

/** The cluster-wide part of `state`. */
export function sharedPartOf(state: RuntimeState): SharedRuntime {
  return {
    broker: withoutMetrics(state.broker),
    authentications: state.authentications,
    authorizations: state.authorizations,
    ...(state.limits !== undefined ? { limits: state.limits } : {}),
  };
}

/** `state` with its cluster-wide part replaced by `shared` (its listeners, host and Prometheus port kept). */
export function withShared(state: RuntimeState, shared: SharedRuntime): RuntimeState {
  const metrics = state.broker.diagnostics?.metrics;
  const diagnostics = metrics === undefined ? shared.broker.diagnostics : { ...shared.broker.diagnostics, metrics };
  const { limits: _old, ...rest } = state;
  return {
    ...rest,
    broker: { ...shared.broker, ...(diagnostics !== undefined ? { diagnostics } : {}) },
    authentications: shared.authentications,
    authorizations: shared.authorizations,
    ...(shared.limits !== undefined ? { limits: shared.limits } : {}),
  };
}

/** Whether two shared parts are the same (JSON text of plain data). */
export function sameShared(a: SharedRuntime, b: SharedRuntime): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Reads a shared part that came from elsewhere (another frontend, through the backend) with the
 * checks runtime.json gets: each resource against its schema (`CFG_SCHEMA_INVALID` naming `source`),
 * the limits' ranges; a structural problem throws a plain Error. The Broker settings are checked
 * joined with the locked half where they are applied.
 */
export function parseSharedRuntime(raw: unknown, source: string): SharedRuntime {
  if (!isRecord(raw)) throw new Error('the shared runtime settings must be an object');
  const { broker, authentications, authorizations, limits } = raw;
  const state = parseRuntimeState({ broker: broker ?? {}, authentications: authentications ?? {}, authorizations: authorizations ?? {}, limits, listeners: {} }, source);
  return sharedPartOf(state);
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * What a running broker recomputes when its state goes from `prev` to `next` by a replacement of
 * the shared part (not by a change request, which says itself what it touches).
 */
export function touchesBetween(prev: RuntimeState, next: RuntimeState): Set<Touch> {
  const touches = new Set<Touch>();
  if (json(prev.authentications) !== json(next.authentications) || json(prev.authorizations) !== json(next.authorizations)) touches.add('security');
  if (json(prev.limits) !== json(next.limits)) touches.add('limits');
  if (json(prev.broker.diagnostics?.logs) !== json(next.broker.diagnostics?.logs)) touches.add('logLevel');
  if (json(prev.broker.persistence) !== json(next.broker.persistence)) touches.add('persistence');
  return touches;
}
