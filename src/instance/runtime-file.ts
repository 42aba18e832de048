/**
 * runtime.json: everything about an instance that may change after create: the Broker's runtime
 * settings, the listeners, authentications and authorizations, the bind host, and the ops-only
 * abuse limits. Written atomically by whoever owns it at the moment (the running broker, or the
 * CLI while it is stopped).
 */
import { OpsError, reasonOf } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';
import { readJsonFile, writeJsonAtomic } from './files.js';

/** Runtime file format version. */
export const RUNTIME_VERSION = 1;

/** Sub-resource collections kept in the runtime file. */
export type CollectionName = 'listeners' | 'authentications' | 'authorizations';

/** Contents of runtime.json (resources are opaque here; the config schemas validate them). */
export interface RuntimeState {
  version: number;
  /** Address the broker's listeners bind to. */
  host: string;
  /** Runtime half of the Broker properties (diagnostics, persistence components). */
  broker: Record<string, unknown>;
  listeners: Record<string, Record<string, unknown>>;
  authentications: Record<string, Record<string, unknown>>;
  authorizations: Record<string, Record<string, unknown>>;
  /** Ops-only abuse limits (per-address connections and rate, CONNECT size); see config/connection-limits.ts. */
  limits?: Record<string, unknown>;
}

function collection(raw: Record<string, unknown>, key: CollectionName): Record<string, Record<string, unknown>> {
  const value = raw[key];
  if (value === undefined) return {};
  if (!isRecord(value) || !Object.values(value).every(isRecord)) throw new Error(`${key} must map names to objects`);
  return value as Record<string, Record<string, unknown>>;
}

/** Reads runtime.json; throws `INST_CORRUPT` when it is missing or malformed. */
export async function readRuntimeState(path: string): Promise<RuntimeState> {
  const raw = await readJsonFile(path);
  try {
    if (!isRecord(raw)) throw new Error(raw === undefined ? 'the file is missing' : 'expected a JSON object');
    const broker = raw['broker'] ?? {};
    if (!isRecord(broker)) throw new Error('broker must be an object');
    const limits = raw['limits'];
    if (limits !== undefined && !isRecord(limits)) throw new Error('limits must be an object');
    return {
      version: typeof raw['version'] === 'number' ? raw['version'] : RUNTIME_VERSION,
      host: typeof raw['host'] === 'string' ? raw['host'] : '127.0.0.1',
      broker,
      listeners: collection(raw, 'listeners'),
      authentications: collection(raw, 'authentications'),
      authorizations: collection(raw, 'authorizations'),
      ...(limits !== undefined ? { limits } : {}),
    };
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(err) });
  }
}

/** Writes runtime.json atomically. */
export async function writeRuntimeState(path: string, state: RuntimeState): Promise<void> {
  await writeJsonAtomic(path, state);
}
