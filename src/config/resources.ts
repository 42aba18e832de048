/**
 * The sub-resource kinds of an instance (listeners, authentications, authorizations): their names,
 * collections and lookups, and the locked-settings refusal. The changes that create, replace and
 * delete them are in changes/resources.ts.
 */
import { OpsError } from '../shared/errors.js';
import type { OtherListener } from './rules.js';
import { deploymentSettings, lockedSettingChanges, runtimeSettings, type DeploymentSettings, type LockedChange, type RuntimeBrokerSettings } from './split.js';
import type { ListenerProperties } from './types.js';
import { assertValid } from './validate.js';

/** Sub-resource kinds and the runtime-file collection holding each. */
export const COLLECTION_OF = {
  listener: 'listeners',
  authentication: 'authentications',
  authorization: 'authorizations',
} as const;

/** A sub-resource kind. */
export type SubResourceKind = keyof typeof COLLECTION_OF;

/** Display names of the sub-resource kinds, for messages. */
export const SUB_KIND_LABEL: Readonly<Record<SubResourceKind, string>> = {
  listener: 'Listener',
  authentication: 'Authentication',
  authorization: 'Authorization',
};

/** True when `kind` names a sub-resource kind. */
export function isSubResourceKind(kind: unknown): kind is SubResourceKind {
  return typeof kind === 'string' && Object.hasOwn(COLLECTION_OF, kind);
}

/** Checks an AIO resource name (3-63 of a-z 0-9 -, or `default`); throws `CFG_FLAG_INVALID`. */
export function assertResourceName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) {
    throw new OpsError('CFG_FLAG_INVALID', { message: `Invalid name '${name}': use 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit.` });
  }
}

/** The ports other listeners use, for uniqueness checks. */
export function otherListeners(listeners: Readonly<Record<string, ListenerProperties>>, except: string): OtherListener[] {
  return Object.entries(listeners)
    .filter(([name]) => name !== except)
    .map(([name, props]) => ({ name, ports: (props.ports ?? []).map((p) => p.port).filter((p) => p !== 0) }));
}

/** One stored resource, or undefined (a name like `__proto__` finds nothing). */
export function findResource<T>(resources: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(resources, name) ? resources[name] : undefined;
}

/** Returns one stored resource; throws `CFG_RESOURCE_NOT_FOUND`. */
export function getResource<T>(kind: SubResourceKind, resources: Readonly<Record<string, T>>, name: string, instance: string): T {
  const found = findResource(resources, name);
  if (found === undefined) throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: SUB_KIND_LABEL[kind], name, instance });
  return found;
}

/**
 * Checks a full Broker properties document against the locked deployment settings and returns its
 * runtime half; throws `CFG_SETTING_LOCKED` naming the first locked setting it would change.
 */
export function runtimeUpdateFromProperties(locked: DeploymentSettings, props: unknown, source: string): RuntimeBrokerSettings {
  const valid = assertValid('broker', props, source);
  assertNoLockedChanges(lockedSettingChanges(locked, deploymentSettings(valid)));
  return runtimeSettings(valid);
}

/** Throws `CFG_SETTING_LOCKED` naming every changed locked setting (no-op when none). */
export function assertNoLockedChanges(changes: readonly LockedChange[]): void {
  if (changes.length === 0) return;
  throw new OpsError('CFG_SETTING_LOCKED', {
    setting: changes.map((c) => c.setting).join("', '"),
    reason: changes.map((c) => `${c.setting}: ${c.reason}`).join('; '),
  });
}
