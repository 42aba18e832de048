/**
 * Pure operations on an instance's stored sub-resources (listeners, authentications,
 * authorizations) and Broker properties, shared by the admin methods (broker running) and the CLI
 * (broker stopped). Each validates fully and returns new values; nothing is mutated.
 */
import { OpsError } from '../shared/errors.js';
import { applyPersistUpdate, type PersistUpdateArgs } from './persist-update.js';
import type { OtherListener } from './rules.js';
import {
  deploymentSettings,
  lockedSettingChanges,
  runtimeSettings,
  type DeploymentSettings,
  type LockedChange,
  type RuntimeBrokerSettings,
} from './split.js';
import type { BrokerProperties, ListenerProperties, ResourceKind } from './types.js';
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

/** Stored resources of one kind, by name. */
export type ResourceMap = Readonly<Record<string, Record<string, unknown>>>;

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
export function otherListeners(listeners: ResourceMap, except: string): OtherListener[] {
  return Object.entries(listeners)
    .filter(([name]) => name !== except)
    .map(([name, props]) => ({ name, ports: ((props as unknown as ListenerProperties).ports ?? []).map((p) => p.port).filter((p) => p !== 0) }));
}

/** Validates `props` as a `kind` named `name` and returns the new map with it created or replaced. */
export function applyResource(
  kind: SubResourceKind,
  resources: ResourceMap,
  name: string,
  props: unknown,
  source: string,
  listeners: ResourceMap = {},
): Record<string, Record<string, unknown>> {
  assertResourceName(name);
  const options = kind === 'listener' ? { otherListeners: otherListeners(listeners, name) } : {};
  const valid = assertValid(kind as ResourceKind, props, source, options) as unknown as Record<string, unknown>;
  return { ...resources, [name]: valid };
}

/** Returns the map without `name`; throws `CFG_RESOURCE_NOT_FOUND`. */
export function deleteResource(kind: SubResourceKind, resources: ResourceMap, name: string, instance: string): Record<string, Record<string, unknown>> {
  if (!Object.hasOwn(resources, name)) throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: SUB_KIND_LABEL[kind], name, instance });
  const { [name]: _gone, ...rest } = resources;
  return rest;
}

/** Returns one stored resource; throws `CFG_RESOURCE_NOT_FOUND`. */
export function getResource(kind: SubResourceKind, resources: ResourceMap, name: string, instance: string): Record<string, unknown> {
  const found = Object.hasOwn(resources, name) ? resources[name] : undefined;
  if (!found) throw new OpsError('CFG_RESOURCE_NOT_FOUND', { kind: SUB_KIND_LABEL[kind], name, instance });
  return found;
}

/** Applies `persist update` to the Broker properties and returns the new runtime half (validated). */
export function updatePersistence(props: BrokerProperties, args: PersistUpdateArgs): RuntimeBrokerSettings {
  const persistence = applyPersistUpdate(props.persistence, args);
  const next = assertValid('broker', { ...props, persistence }, 'the updated broker');
  return runtimeSettings(next);
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
