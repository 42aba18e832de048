/**
 * The cluster backend of an instance (`ops create --backend redis://...`): `backend.json`, written
 * once at create (read-only, like the deployment lock), read by the broker at every start. An
 * instance without it is a standalone broker. `ops broker run|start --backend` and `ops-broker
 * --backend` override it for one run without changing it.
 */
import { chmod } from 'node:fs/promises';
import { formatBackendAddress, parseBackendAddress, type BackendAddress } from '../config/backend-address.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';
import { readJsonFile, writeFileOnce } from './files.js';

/** Format version of backend.json. */
export const BACKEND_FILE_VERSION = 1;

/** Writes backend.json once (read-only); false when it already exists. */
export async function writeBackendFile(path: string, backend: BackendAddress): Promise<boolean> {
  const text = `${JSON.stringify({ version: BACKEND_FILE_VERSION, kind: backend.kind, address: formatBackendAddress(backend) }, null, 2)}\n`;
  const written = await writeFileOnce(path, text, 0o444);
  if (written) await chmod(path, 0o444);
  return written;
}

/** Reads backend.json: undefined when absent; `INST_CORRUPT` when it is not a backend this version knows. */
export async function readBackendFile(path: string): Promise<BackendAddress | undefined> {
  const raw = await readJsonFile(path);
  if (raw === undefined) return undefined;
  if (!isRecord(raw) || raw['version'] !== BACKEND_FILE_VERSION || raw['kind'] !== 'redis-cluster' || typeof raw['address'] !== 'string') {
    throw new OpsError('INST_CORRUPT', { path, reason: `not a backend of format ${BACKEND_FILE_VERSION} (kind redis-cluster, address redis://...)` });
  }
  try {
    return parseBackendAddress(raw['address'], 'backend.json address');
  } catch (err) {
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(err) }, { cause: err });
  }
}
