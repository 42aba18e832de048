/**
 * `persist update` and the create-time `--persist-*` flags, with exactly the AIO CLI's merge order
 * and messages (docs/reference/az-cli-and-broker-config.md §5). Pure: works on a copy and throws coded errors.
 */
import { OpsError } from '../shared/errors.js';
import { persistenceSizeProblem } from './quantity.js';
import type { DynamicSettings, PersistComponent, PersistMode, Persistence, StateStoreResource } from './types.js';

/** Valid `--persist-mode` / `--disable-dynamic` keys, in the AIO CLI's order. */
export const PERSIST_KEYS: readonly PersistComponent[] = ['stateStore', 'retain', 'subscriberQueue'];
/** Valid `--persist-mode` values. */
export const PERSIST_VALUES = ['None', 'All', 'Custom'] as const;
/** Default dynamic-persistence user property (key, value). */
export const DEFAULT_USER_PROPERTY = { userPropertyKey: 'aio-persistence', userPropertyValue: 'true' } as const;

const pyList = (items: readonly string[]): string => `[${items.map((s) => `'${s}'`).join(', ')}]`;

/** The exact messages of the AIO CLI. */
export const PERSIST_MESSAGES = {
  invalidKey: (key: string) => `Invalid persistence mode key: ${key}. Valid keys are ${pyList(PERSIST_KEYS)}.`,
  invalidValue: (value: string | null) => `Invalid persistence mode value: ${value ?? 'None'}. Valid values are ${pyList(PERSIST_VALUES)}.`,
  retainTopics: "To set retain topics for persistence, retain mode must be set to 'Custom'.",
  subscriberIds: "To set subscriber queue client Ids for persistence, subscriberQueue mode must be set to 'Custom'.",
  stateStoreKeys: "To set state store keys for persistence, stateStore mode must be set to 'Custom'.",
  invalidDisableKey: (key: string) => `Invalid disable dynamic key: ${key}. Valid keys are ${pyList(PERSIST_KEYS)}.`,
  disableNotCustom: (key: string) => `To disable dynamic persistence for ${key}, ${key} mode must be set to 'Custom'.`,
  maxSizeRequired: 'Provide a persist max size value to enable and customize broker disk persistence.',
  userKeyPair: 'Both --user-key and --user-value must be set or both must be unset.',
} as const;

/** The flags of `persist update`, as parsed from the command line (raw strings, not yet checked). */
export interface PersistUpdateArgs {
  /** `--persist-mode` tokens, `key=value` each. */
  persistMode?: readonly string[];
  retainTopics?: readonly string[];
  subscriberClientIds?: readonly string[];
  /** `--state-store-str-keys`, one array per occurrence of the flag. */
  stateStoreStrKeys?: readonly (readonly string[])[];
  stateStoreGlobKeys?: readonly (readonly string[])[];
  stateStoreBinKeys?: readonly (readonly string[])[];
  disableDynamic?: readonly string[];
  userKey?: string;
  userValue?: string;
}

function fail(message: string): never {
  throw new OpsError('CFG_PERSIST_INVALID', { message });
}

/** azure-cli's `parse_kvp_nargs`: split on the first `=`; a token without `=` has value null; later keys win. */
export function parseKvp(tokens: readonly string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq < 0) out.set(token, null);
    else out.set(token.slice(0, eq), token.slice(eq + 1));
  }
  return out;
}

type Component = { mode: string } & Record<string, unknown>;
const settingsKey = (key: PersistComponent): string => `${key}Settings`;
const isKey = (key: string): key is PersistComponent => (PERSIST_KEYS as readonly string[]).includes(key);

/** Reads `--persist-mode` tokens: each key and value checked, later keys win, in first-seen order. */
function modesOf(tokens: readonly string[]): Partial<Record<PersistComponent, PersistMode>> {
  const modes: Partial<Record<PersistComponent, PersistMode>> = {};
  for (const [key, value] of parseKvp(tokens)) {
    if (!isKey(key)) fail(PERSIST_MESSAGES.invalidKey(key));
    if (value === null || !isPersistMode(value)) fail(PERSIST_MESSAGES.invalidValue(value));
    modes[key] = value;
  }
  return modes;
}

const isPersistMode = (value: string): value is PersistMode => (PERSIST_VALUES as readonly string[]).includes(value);

/**
 * A `persist update` as a typed change: what the flags ask, their syntax checked. What it means
 * against the current persistence (which components are Custom) is checked by {@link applyPersistChange}.
 */
export interface PersistChange {
  /** Components to reset, with their new mode, in the order the flags first named them. */
  readonly modes?: Readonly<Partial<Record<PersistComponent, PersistMode>>>;
  /** The retain topics (replacing the stored ones). */
  readonly retainTopics?: readonly string[];
  /** The subscriber-queue client ids (replacing the stored ones). */
  readonly subscriberClientIds?: readonly string[];
  /** The state-store key groups (replacing the stored ones): String, then Pattern, then Binary. */
  readonly stateStoreResources?: readonly StateStoreResource[];
  /** Components whose dynamic persistence is turned off. */
  readonly disableDynamic?: readonly PersistComponent[];
  /** The user property that asks for dynamic persistence. */
  readonly dynamicSettings?: DynamicSettings;
}

/**
 * Reads the flags of `persist update` into a {@link PersistChange}; throws `CFG_PERSIST_INVALID` with
 * the AIO message for a user key without a value (or the reverse), a bad mode key or value, or a bad
 * disable-dynamic key.
 */
export function persistChangeOf(args: PersistUpdateArgs): PersistChange {
  if ((args.userKey === undefined) !== (args.userValue === undefined)) fail(PERSIST_MESSAGES.userKeyPair);
  const modes = modesOf(args.persistMode ?? []);
  const group = (keyType: StateStoreResource['keyType']) => (keys: readonly string[]): StateStoreResource => ({ keys: [...keys], keyType });
  const resources = [
    ...(args.stateStoreStrKeys ?? []).map(group('String')),
    ...(args.stateStoreGlobKeys ?? []).map(group('Pattern')),
    ...(args.stateStoreBinKeys ?? []).map(group('Binary')),
  ];
  const disable = (args.disableDynamic ?? []).map((key) => (isKey(key) ? key : fail(PERSIST_MESSAGES.invalidDisableKey(key))));
  return {
    ...(Object.keys(modes).length > 0 ? { modes } : {}),
    ...(args.retainTopics?.length ? { retainTopics: [...args.retainTopics] } : {}),
    ...(args.subscriberClientIds?.length ? { subscriberClientIds: [...args.subscriberClientIds] } : {}),
    ...(resources.length > 0 ? { stateStoreResources: resources } : {}),
    ...(disable.length > 0 ? { disableDynamic: disable } : {}),
    ...(args.userKey !== undefined && args.userValue !== undefined ? { dynamicSettings: { userPropertyKey: args.userKey, userPropertyValue: args.userValue } } : {}),
  };
}

/** Resets each named component to its new mode (Custom starts with dynamic Enabled). */
function resetComponents(p: Record<string, unknown>, modes: Readonly<Partial<Record<PersistComponent, PersistMode>>>): void {
  for (const [key, mode] of Object.entries(modes)) {
    if (!isKey(key) || mode === undefined) continue;
    const component: Component = { mode };
    if (mode === 'Custom') component[settingsKey(key)] = { dynamic: { mode: 'Enabled' } };
    p[key] = component;
  }
}

function isCustom(p: Record<string, unknown>, key: PersistComponent): boolean {
  const component = p[key] as Component | undefined;
  return component?.mode === 'Custom';
}

/** Throws `CFG_PERSIST_NOT_ENABLED` unless persistence was enabled at create. */
export function assertPersistenceEnabled(current: Persistence | undefined): asserts current is Persistence {
  if (!current || Object.keys(current).length === 0) throw new OpsError('CFG_PERSIST_NOT_ENABLED');
}

/**
 * Applies a {@link PersistChange} to the broker's current persistence and returns the new one, with
 * the AIO CLI's merge order: reset the named components (Custom starts with dynamic Enabled), then
 * topics, client ids and keys (each needs its component Custom), then disable dynamic, then the user
 * property. Throws `CFG_PERSIST_NOT_ENABLED` when persistence was not enabled at create,
 * `CFG_PERSIST_INVALID` with the AIO message otherwise. `current` is not modified.
 */
export function applyPersistChange(current: Persistence | undefined, change: PersistChange): Persistence {
  assertPersistenceEnabled(current);
  const p = structuredClone(current) as unknown as Record<string, unknown>;
  resetComponents(p, change.modes ?? {});
  if (change.retainTopics && !isCustom(p, 'retain')) fail(PERSIST_MESSAGES.retainTopics);
  if (change.subscriberClientIds && !isCustom(p, 'subscriberQueue')) fail(PERSIST_MESSAGES.subscriberIds);
  if (change.stateStoreResources && !isCustom(p, 'stateStore')) fail(PERSIST_MESSAGES.stateStoreKeys);
  if (change.retainTopics) (p['retain'] as Component)['retainSettings'] = { topics: [...change.retainTopics] };
  if (change.subscriberClientIds) {
    (p['subscriberQueue'] as Component)['subscriberQueueSettings'] = { subscriberClientIds: [...change.subscriberClientIds] };
  }
  if (change.stateStoreResources) {
    const resources = change.stateStoreResources.map((r) => ({ keys: [...r.keys], keyType: r.keyType }));
    (p['stateStore'] as Component)['stateStoreSettings'] = { stateStoreResources: resources };
  }
  for (const key of change.disableDynamic ?? []) {
    if (!isCustom(p, key)) fail(PERSIST_MESSAGES.disableNotCustom(key));
    const component = p[key] as Component;
    const settings = (component[settingsKey(key)] ?? {}) as Record<string, unknown>;
    settings['dynamic'] = { mode: 'Disabled' };
    component[settingsKey(key)] = settings;
  }
  if (change.dynamicSettings) p['dynamicSettings'] = { userPropertyKey: change.dynamicSettings.userPropertyKey, userPropertyValue: change.dynamicSettings.userPropertyValue };
  return p as unknown as Persistence;
}

/**
 * Applies `persist update` flags to the broker's current persistence and returns the new one:
 * {@link persistChangeOf} then {@link applyPersistChange}, after the check that persistence is
 * enabled (which the AIO CLI makes first).
 */
export function applyPersistUpdate(current: Persistence | undefined, args: PersistUpdateArgs): Persistence {
  assertPersistenceEnabled(current);
  return applyPersistChange(current, persistChangeOf(args));
}

/** The create-time `--persist-*` flags. */
export interface CreatePersistArgs {
  maxSize?: string;
  pvcStorageClass?: string;
  persistMode?: readonly string[];
}

/**
 * Builds `persistence` for `create` like the AIO CLI: with only a max size, all three components are
 * Custom with dynamic Enabled; `--persist-mode` resets components. Undefined when no max size.
 */
export function buildCreatePersistence(args: CreatePersistArgs): Persistence | undefined {
  if (args.maxSize === undefined) {
    if (args.pvcStorageClass !== undefined || (args.persistMode?.length ?? 0) > 0) fail(PERSIST_MESSAGES.maxSizeRequired);
    return undefined;
  }
  // Checked here, before anything is created: the broker would refuse the size only after its spawn.
  const sizeProblem = persistenceSizeProblem(args.maxSize);
  if (sizeProblem !== undefined) throw new OpsError('CFG_FLAG_INVALID', { message: `argument --persist-max-size: ${sizeProblem}` });
  const custom = (key: PersistComponent): Component => ({ mode: 'Custom', [settingsKey(key)]: { dynamic: { mode: 'Enabled' } } });
  const p: Record<string, unknown> = {
    maxSize: args.maxSize,
    stateStore: custom('stateStore'),
    retain: custom('retain'),
    subscriberQueue: custom('subscriberQueue'),
  };
  resetComponents(p, modesOf(args.persistMode ?? []));
  if (args.pvcStorageClass !== undefined) {
    p['persistentVolumeClaimSpec'] = { storageClassName: args.pvcStorageClass, accessModes: ['ReadWriteOncePod'] };
  }
  return p as unknown as Persistence;
}
