/**
 * The persistence policy the broker applies, normalized from the Broker's `persistence` properties:
 * per component a mode, its match lists and whether clients may ask for disk dynamically.
 */
import type { PersistMode, Persistence, StateStoreResource } from '../config/types.js';
import { DEFAULT_USER_PROPERTY } from '../config/persist-flags.js';

/** One component's normalized policy. */
export interface ComponentPolicy<M> {
  readonly mode: PersistMode;
  /** What Custom mode persists (topics, client ids or key groups). */
  readonly match: readonly M[];
  /** Whether a client's user property can ask for persistence (Custom only; default Enabled). */
  readonly dynamic: boolean;
}

/** The whole normalized policy. */
export interface PersistPolicy {
  /** False when the instance was created without persistence: everything stays in memory. */
  readonly enabled: boolean;
  readonly retain: ComponentPolicy<string>;
  readonly subscriberQueue: ComponentPolicy<string>;
  readonly stateStore: ComponentPolicy<StateStoreResource>;
  /** The MQTT v5 user property that asks for persistence. */
  readonly userProperty: { readonly key: string; readonly value: string };
}

const NONE = Object.freeze({ mode: 'None', match: Object.freeze([]), dynamic: false }) as ComponentPolicy<never>;

function component<M>(mode: PersistMode | undefined, match: readonly M[] | undefined, dynamic: string | undefined): ComponentPolicy<M> {
  if (mode === undefined) return NONE;
  return Object.freeze({ mode, match: Object.freeze([...(match ?? [])]), dynamic: mode === 'Custom' && dynamic !== 'Disabled' });
}

/** Normalizes `persistence` (undefined = persistence off) into a frozen {@link PersistPolicy}. */
export function toPersistPolicy(persistence: Persistence | undefined): PersistPolicy {
  const p = persistence;
  return Object.freeze({
    enabled: p !== undefined,
    retain: component(p?.retain?.mode, p?.retain?.retainSettings?.topics, p?.retain?.retainSettings?.dynamic?.mode),
    subscriberQueue: component(
      p?.subscriberQueue?.mode,
      p?.subscriberQueue?.subscriberQueueSettings?.subscriberClientIds,
      p?.subscriberQueue?.subscriberQueueSettings?.dynamic?.mode,
    ),
    stateStore: component(
      p?.stateStore?.mode,
      p?.stateStore?.stateStoreSettings?.stateStoreResources,
      p?.stateStore?.stateStoreSettings?.dynamic?.mode,
    ),
    userProperty: Object.freeze({
      key: p?.dynamicSettings?.userPropertyKey ?? DEFAULT_USER_PROPERTY.userPropertyKey,
      value: p?.dynamicSettings?.userPropertyValue ?? DEFAULT_USER_PROPERTY.userPropertyValue,
    }),
  });
}
