/**
 * The typed contents of runtime.json: everything about an instance that may change after create
 * (the Broker's runtime settings, the listeners, authentications and authorizations, the bind host,
 * the ops-only abuse limits). {@link parseRuntimeState} checks a parsed document once, where it is
 * read; the rest of the code works on the typed value.
 */
import { isRecord } from '../shared/plain-objects.js';
import { readConnectionLimits, type ConnectionLimitSettings } from './connection-limits.js';
import type { RuntimeBrokerSettings } from './split.js';
import type { AuthenticationProperties, AuthorizationProperties, ListenerProperties } from './types.js';
import { assertValid } from './validate.js';

/** Runtime file format version. */
export const RUNTIME_VERSION = 1;

/** The runtime state of an instance, as runtime.json holds it. */
export interface RuntimeState {
  readonly version: number;
  /** Address the broker's listeners bind to. */
  readonly host: string;
  /** Runtime half of the Broker properties (diagnostics, persistence components). */
  readonly broker: RuntimeBrokerSettings;
  readonly listeners: Readonly<Record<string, ListenerProperties>>;
  readonly authentications: Readonly<Record<string, AuthenticationProperties>>;
  readonly authorizations: Readonly<Record<string, AuthorizationProperties>>;
  /** Ops-only abuse limits (per-address connections and rate, CONNECT size); see connection-limits.ts. */
  readonly limits?: ConnectionLimitSettings;
}

/** Sub-resource collections kept in the runtime state. */
export type CollectionName = 'listeners' | 'authentications' | 'authorizations';

/** The entries of a collection as objects; throws a plain Error when it is not a map of objects. */
function entriesOf(raw: Record<string, unknown>, key: CollectionName): [string, Record<string, unknown>][] {
  const value = raw[key];
  if (value === undefined) return [];
  if (!isRecord(value)) throw new Error(`${key} must map names to objects`);
  const entries = Object.entries(value);
  const objects = entries.filter((entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]));
  if (objects.length !== entries.length) throw new Error(`${key} must map names to objects`);
  return objects;
}

/**
 * The runtime settings of the Broker: an object whose fields the Broker schema checks against the
 * locked half when the two are joined (at start and at every change), as only then is the whole
 * document known.
 */
function brokerOf(raw: Record<string, unknown>): RuntimeBrokerSettings {
  const broker = raw['broker'] ?? {};
  if (!isRecord(broker)) throw new Error('broker must be an object');
  const { diagnostics, persistence } = broker;
  if (diagnostics !== undefined && !isRecord(diagnostics)) throw new Error('broker.diagnostics must be an object');
  if (persistence !== undefined && !isRecord(persistence)) throw new Error('broker.persistence must be an object');
  return broker as RuntimeBrokerSettings; // the one narrowing: the joined document is schema-checked where it is used
}

/**
 * Checks a parsed runtime.json and returns it typed. Structural problems throw a plain Error (the
 * file reader reports them as `INST_CORRUPT`); a stored resource the schema refuses throws
 * `CFG_SCHEMA_INVALID` naming `path` and the resource.
 */
export function parseRuntimeState(raw: unknown, path: string): RuntimeState {
  if (!isRecord(raw)) throw new Error(raw === undefined ? 'the file is missing' : 'expected a JSON object');
  const broker = brokerOf(raw);
  const limits = raw['limits'] === undefined ? undefined : readConnectionLimits(raw['limits']);
  const listeners = Object.fromEntries(entriesOf(raw, 'listeners').map(([n, v]) => [n, assertValid('listener', v, `${path} (listener ${n})`)]));
  const authentications = Object.fromEntries(entriesOf(raw, 'authentications').map(([n, v]) => [n, assertValid('authentication', v, `${path} (authentication ${n})`)]));
  const authorizations = Object.fromEntries(entriesOf(raw, 'authorizations').map(([n, v]) => [n, assertValid('authorization', v, `${path} (authorization ${n})`)]));
  return {
    version: typeof raw['version'] === 'number' ? raw['version'] : RUNTIME_VERSION,
    host: typeof raw['host'] === 'string' ? raw['host'] : '127.0.0.1',
    broker,
    listeners,
    authentications,
    authorizations,
    ...(limits !== undefined ? { limits } : {}),
  };
}
