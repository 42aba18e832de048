/**
 * The encryption key of an instance's durable store: 32 random bytes made once at `ops create`
 * into `secrets/store.key` (base64 text, mode 0600), read by the broker at every start. The
 * environment variable `OPS_STORE_KEY` (base64 of 32 bytes) overrides the file, for users who keep
 * keys elsewhere. A missing or malformed key is `STO_WRONG_KEY`: the broker does not start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OpsError, reasonOf } from '../shared/errors.js';
import { writeFileOnce } from './files.js';

/** Length of an AES-256-GCM key. */
export const STORE_KEY_BYTES = 32;

/** The environment variable that supplies the key instead of the key file. */
export const STORE_KEY_ENV = 'OPS_STORE_KEY';

/** Where the key of a start came from. */
export type StoreKeySource = 'env' | 'file';

/** A key ready for the store. */
export interface StoreKey {
  readonly key: Buffer;
  readonly source: StoreKeySource;
}

/** Decodes base64 (standard or URL alphabet) of exactly 32 bytes; undefined otherwise. */
export function decodeStoreKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === STORE_KEY_BYTES ? key : undefined;
}

/**
 * Makes the key file once: 32 random bytes as base64, mode 0600, written atomically. Returns false
 * (and leaves the file alone) when it already exists.
 */
export async function createStoreKey(path: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return writeFileOnce(path, `${randomBytes(STORE_KEY_BYTES).toString('base64')}\n`, 0o600);
}

/**
 * The key for the store at `storePath`: `OPS_STORE_KEY` when set, else the key file. Throws
 * `STO_WRONG_KEY` when the variable is not base64 of 32 bytes, or the file is missing or malformed.
 */
export async function loadStoreKey(keyPath: string, storePath: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<StoreKey> {
  const fromEnv = env[STORE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const key = decodeStoreKey(fromEnv);
    if (!key) throw new OpsError('STO_WRONG_KEY', { path: storePath, reason: `${STORE_KEY_ENV} must be the base64 of ${STORE_KEY_BYTES} bytes` });
    return { key, source: 'env' };
  }
  let text: string;
  try {
    text = await readFile(keyPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `no key: ${keyPath} does not exist and ${STORE_KEY_ENV} is not set`
        : `the key file ${keyPath} cannot be read (${code ?? (reasonOf(err))})`;
    throw new OpsError('STO_WRONG_KEY', { path: storePath, reason }, { cause: err });
  }
  const key = decodeStoreKey(text);
  if (!key) throw new OpsError('STO_WRONG_KEY', { path: storePath, reason: `the key file ${keyPath} is not the base64 of ${STORE_KEY_BYTES} bytes` });
  return { key, source: 'file' };
}
