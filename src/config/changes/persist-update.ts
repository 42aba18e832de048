/** `persist.update`: the persistence components of the Broker, as `ops broker persist update` changes them. */
import { PERSIST_KEYS, PERSIST_VALUES, applyPersistChange, persistChangeOf, type PersistChange, type PersistUpdateArgs } from '../persist-flags.js';
import { joinBrokerProperties, runtimeSettings } from '../split.js';
import type { PersistComponent, PersistMode, StateStoreResource } from '../types.js';
import { assertValid } from '../validate.js';
import { OpsError } from '../../shared/errors.js';
import { isRecord } from '../../shared/plain-objects.js';
import type { ChangeDefinition } from './change.js';
import { choiceArrayParam, objectParam, onlyKnownParams, stringArrayParam, textParam } from './request-fields.js';

/** A `persist update`, its flags already read (see {@link persistUpdateRequest}). */
export interface PersistUpdateRequest extends PersistChange {
  readonly v: 1;
  readonly kind: 'persist.update';
}

/** The request of `ops broker persist update` from its flags; `CFG_PERSIST_INVALID` with the AIO message for a bad one. */
export function persistUpdateRequest(args: PersistUpdateArgs): PersistUpdateRequest {
  return { v: 1, kind: 'persist.update', ...persistChangeOf(args) };
}

const KEY_TYPES: readonly StateStoreResource['keyType'][] = ['String', 'Pattern', 'Binary'];

function bad(reason: string): never {
  throw new OpsError('ADM_BAD_REQUEST', { reason });
}

function modesParam(fields: Record<string, unknown>): Partial<Record<PersistComponent, PersistMode>> | undefined {
  const raw = objectParam(fields, 'modes');
  if (raw === undefined) return undefined;
  const modes: Partial<Record<PersistComponent, PersistMode>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const component = PERSIST_KEYS.find((k) => k === key);
    const mode = PERSIST_VALUES.find((m) => m === value);
    if (component === undefined || mode === undefined) bad(`param "modes" must map ${PERSIST_KEYS.join(', ')} to ${PERSIST_VALUES.join(', ')}`);
    modes[component] = mode;
  }
  return modes;
}

function resourcesParam(fields: Record<string, unknown>): StateStoreResource[] | undefined {
  const raw = fields['stateStoreResources'];
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) bad('param "stateStoreResources" must be an array');
  return raw.map((item: unknown) => {
    const group = isRecord(item) ? item : bad('param "stateStoreResources" must hold objects');
    const keys = stringArrayParam(group, 'keys') ?? bad('param "stateStoreResources" must hold { keys, keyType }');
    const keyType = KEY_TYPES.find((t) => t === group['keyType']) ?? bad(`param "stateStoreResources" key types are ${KEY_TYPES.join(', ')}`);
    return { keys, keyType };
  });
}

/** The `persist.update` change. */
export const persistUpdate: ChangeDefinition<PersistUpdateRequest> = {
  parse(fields) {
    onlyKnownParams(fields, ['kind', 'modes', 'retainTopics', 'subscriberClientIds', 'stateStoreResources', 'disableDynamic', 'dynamicSettings']);
    const modes = modesParam(fields);
    const retainTopics = stringArrayParam(fields, 'retainTopics');
    const subscriberClientIds = stringArrayParam(fields, 'subscriberClientIds');
    const stateStoreResources = resourcesParam(fields);
    const disableDynamic = choiceArrayParam(fields, 'disableDynamic', PERSIST_KEYS);
    const dynamic = objectParam(fields, 'dynamicSettings');
    return {
      v: 1,
      kind: 'persist.update',
      ...(modes !== undefined ? { modes } : {}),
      ...(retainTopics !== undefined ? { retainTopics } : {}),
      ...(subscriberClientIds !== undefined ? { subscriberClientIds } : {}),
      ...(stateStoreResources !== undefined ? { stateStoreResources } : {}),
      ...(disableDynamic !== undefined ? { disableDynamic } : {}),
      ...(dynamic !== undefined
        ? { dynamicSettings: { userPropertyKey: textParam(dynamic, 'userPropertyKey'), userPropertyValue: textParam(dynamic, 'userPropertyValue') } }
        : {}),
    };
  },
  apply(state, request, env) {
    const props = joinBrokerProperties(env.deployment, state.broker);
    const persistence = applyPersistChange(props.persistence, request);
    return { ...state, broker: runtimeSettings(assertValid('broker', { ...props, persistence }, 'the updated broker')) };
  },
  touches: () => ['persistence'],
};
