import { decideRetain, decideStateStoreKey, decideSubscriberQueue, type UserProperties } from './decide.js';
import type { PolicyHolder } from './policy-holder.js';

/** The engine's `PersistenceDecisions`, answered from the live policy (structurally typed: policy ranks below broker). */
export interface PolicyDecisions {
  persistQueue(clientId: string, sessionExpirySeconds: number, connectUserProperties: UserProperties): boolean;
  persistRetained(topic: string, userProperties: UserProperties): boolean;
}

/**
 * Decisions that read the holder's current policy on every call, so `ops broker persist update`
 * (PolicyHolder.replace) decides where new data goes from that moment, with no restart.
 */
export function persistenceDecisions(holder: PolicyHolder): PolicyDecisions {
  return {
    persistQueue: (clientId, expiry, props) => decideSubscriberQueue(holder.policy, clientId, expiry, props) === 'disk',
    persistRetained: (topic, props) => decideRetain(holder.policy, topic, props) === 'disk',
  };
}

/** The state store's persistence decision (its `StateStorePersistence.decide`). */
export interface StateStoreDecisions {
  /** Whether a SET of `key` with these user properties is persisted (stateStore policy). */
  persistStateStoreKey(key: Uint8Array, userProperties: UserProperties): boolean;
}

/**
 * The stateStore decision, read from the holder's current policy on every SET: String, Pattern
 * and Binary keys, or the dynamic user property when dynamic is Enabled.
 */
export function stateStoreDecisions(holder: PolicyHolder): StateStoreDecisions {
  return {
    persistStateStoreKey: (key, props) => decideStateStoreKey(holder.policy, key, props) === 'disk',
  };
}
