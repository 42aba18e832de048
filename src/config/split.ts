/**
 * Deployment-time vs runtime settings of the Broker resource. Deployment-time settings are locked
 * at create (instance/deployment-lock.ts); only the runtime half can change later (config/changes/).
 */
import { definedOnly } from '../shared/plain-objects.js';
import type { BrokerProperties, Diagnostics, Persistence } from './types.js';

/** Settings fixed at create, by their JSON path (AIO create-only fields plus encryption). */
export const DEPLOYMENT_SETTINGS = [
  'cardinality',
  'memoryProfile',
  'advanced',
  'diskBackedMessageBuffer',
  'generateResourceLimits',
  'persistence.maxSize',
  'persistence.persistentVolumeClaimSpec',
  'persistence.encryption',
] as const;

/** The locked half of the Broker properties. */
export type DeploymentSettings = Omit<BrokerProperties, 'diagnostics' | 'persistence'> & {
  persistence?: Pick<Persistence, 'maxSize' | 'persistentVolumeClaimSpec' | 'encryption'>;
};

/** The changeable half of the Broker properties. */
export interface RuntimeBrokerSettings {
  diagnostics?: Diagnostics;
  persistence?: Pick<Persistence, 'retain' | 'subscriberQueue' | 'stateStore' | 'dynamicSettings'>;
}

/** The deployment-time half of `props`. */
export function deploymentSettings(props: BrokerProperties): DeploymentSettings {
  const { diagnostics: _d, persistence, ...rest } = props;
  const out: DeploymentSettings = { ...rest };
  if (persistence) {
    out.persistence = definedOnly({
      maxSize: persistence.maxSize,
      persistentVolumeClaimSpec: persistence.persistentVolumeClaimSpec,
      encryption: persistence.encryption,
    });
  }
  return out;
}

/** The runtime half of `props`. */
export function runtimeSettings(props: BrokerProperties): RuntimeBrokerSettings {
  const out: RuntimeBrokerSettings = {};
  if (props.diagnostics) out.diagnostics = props.diagnostics;
  const p = props.persistence;
  if (p) {
    out.persistence = definedOnly({
      retain: p.retain,
      subscriberQueue: p.subscriberQueue,
      stateStore: p.stateStore,
      dynamicSettings: p.dynamicSettings,
    });
  }
  return out;
}

/** Joins both halves back into Broker properties (persistence keys in the AIO CLI's order). */
export function joinBrokerProperties(deployment: DeploymentSettings, runtime: RuntimeBrokerSettings): BrokerProperties {
  const { persistence: lockedPersistence, ...rest } = deployment;
  const out: BrokerProperties = { ...rest };
  if (runtime.diagnostics) out.diagnostics = runtime.diagnostics;
  if (lockedPersistence) {
    const r = runtime.persistence ?? {};
    out.persistence = definedOnly({
      maxSize: lockedPersistence.maxSize,
      stateStore: r.stateStore,
      retain: r.retain,
      subscriberQueue: r.subscriberQueue,
      dynamicSettings: r.dynamicSettings,
      persistentVolumeClaimSpec: lockedPersistence.persistentVolumeClaimSpec,
      encryption: lockedPersistence.encryption,
    });
  }
  return out;
}

/** JSON with object keys sorted, so equal settings compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A refused change of a locked setting. */
export interface LockedChange {
  /** The setting's JSON path, e.g. `memoryProfile`. */
  readonly setting: string;
  /** Why it is refused. */
  readonly reason: string;
}

/** The deployment-time settings that differ between `locked` and `proposed` (empty when none). */
export function lockedSettingChanges(locked: DeploymentSettings, proposed: DeploymentSettings): LockedChange[] {
  const changes: LockedChange[] = [];
  if (locked.persistence && !proposed.persistence) {
    changes.push({ setting: 'persistence', reason: 'persistence cannot be turned off once enabled' });
  } else if (!locked.persistence && proposed.persistence) {
    changes.push({ setting: 'persistence.maxSize', reason: 'persistence can only be enabled at create' });
  }
  for (const setting of DEPLOYMENT_SETTINGS) {
    if (setting.startsWith('persistence.') && (!locked.persistence || !proposed.persistence)) continue;
    const a = at(locked, setting);
    const b = at(proposed, setting);
    if (canonicalJson(a) !== canonicalJson(b)) {
      changes.push({ setting, reason: `locked value ${canonicalJson(a) ?? 'unset'}, requested ${canonicalJson(b) ?? 'unset'}` });
    }
  }
  return changes;
}
