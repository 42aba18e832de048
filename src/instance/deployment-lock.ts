/**
 * The deployment lock: deployment-time settings written once at create with a sha256 checksum and
 * read-only mode. The broker verifies it at every start; a hand-edited lock refuses to start.
 */
import { createHash } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { OpsError } from '../shared/errors.js';
import { isRecord } from '../shared/plain-objects.js';
import { readJsonFile } from './files.js';

/** Lock file format version. */
export const LOCK_VERSION = 1;

/** Contents of deployment.json. */
export interface DeploymentLock {
  readonly version: number;
  readonly createdAt: string;
  /** The locked settings (opaque here; config/split.ts gives them their type). */
  readonly settings: Record<string, unknown>;
  /** `sha256:<hex>` of the canonical JSON of `settings`. */
  readonly checksum: string;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The checksum the lock stores for `settings`. */
export function lockChecksum(settings: Record<string, unknown>): string {
  return `sha256:${createHash('sha256').update(canonical(settings)).digest('hex')}`;
}

/** Writes the lock once (fails if it exists) and makes it read-only. */
export async function writeDeploymentLock(path: string, settings: Record<string, unknown>, now = new Date()): Promise<DeploymentLock> {
  const lock: DeploymentLock = { version: LOCK_VERSION, createdAt: now.toISOString(), settings, checksum: lockChecksum(settings) };
  await writeFile(path, `${JSON.stringify(lock, null, 2)}\n`, { flag: 'wx', mode: 0o444 });
  await chmod(path, 0o444);
  return lock;
}

/** Reads and verifies the lock; throws `INST_LOCK_TAMPERED` when its checksum does not match. */
export async function readDeploymentLock(path: string): Promise<DeploymentLock> {
  const raw = await readJsonFile(path);
  if (raw === undefined) throw new OpsError('INST_CORRUPT', { path, reason: 'the deployment lock is missing' });
  if (!isRecord(raw) || !isRecord(raw['settings']) || typeof raw['checksum'] !== 'string') {
    throw new OpsError('INST_LOCK_TAMPERED', { path });
  }
  if (raw['checksum'] !== lockChecksum(raw['settings'])) throw new OpsError('INST_LOCK_TAMPERED', { path });
  return {
    version: typeof raw['version'] === 'number' ? raw['version'] : LOCK_VERSION,
    createdAt: typeof raw['createdAt'] === 'string' ? raw['createdAt'] : '',
    settings: raw['settings'],
    checksum: raw['checksum'],
  };
}
