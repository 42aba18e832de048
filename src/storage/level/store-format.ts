import { randomBytes } from 'node:crypto';
import { OpsError } from '../../shared/errors.js';
import { corruptRecord, openFailed } from '../store-errors.js';
import { aesGcmCipher, KEY_BYTES, makeKeyCheck, plainCipher, verifyKeyCheck, type ValueCipher } from '../value-cipher.js';
import type { WriteOp } from './group-commit.js';
import { META_FORMAT_KEY, META_KEYCHECK_KEY } from './keys.js';

/**
 * Version of the on-disk layout (keys, value framing, record codec). 2: queue entries in
 * segments (one sealed value per batch, empty-valued entry keys). A version 1 store opens and is
 * marked version 2 at once: its per-entry records are still read, replaced and deleted, new
 * entries go into segments, and a broker that only knows version 1 refuses it from then on.
 */
export const STORE_FORMAT_VERSION = 2;

/** The plain `meta/format` record. */
interface FormatRecord {
  readonly version: number;
  readonly encryption: 'AES-256-GCM' | 'Disabled';
  /** Base64 HKDF salt, random per store. */
  readonly salt: string;
}

/** What the format check needs from the database. */
export interface MetaAccess {
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Whether any session, queue or retained key exists. */
  hasData(): Promise<boolean>;
  /** An atomic, synced write. */
  write(ops: WriteOp[]): Promise<void>;
}

function parseFormat(raw: Buffer, path: string): FormatRecord {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw corruptRecord(path, 'meta/format', 'not JSON');
  }
  if (typeof value !== 'object' || value === null) throw corruptRecord(path, 'meta/format', 'not an object');
  const { version, encryption, salt } = value as Record<string, unknown>;
  if (typeof version !== 'number' || (encryption !== 'AES-256-GCM' && encryption !== 'Disabled') || typeof salt !== 'string') {
    throw corruptRecord(path, 'meta/format', 'missing or invalid fields');
  }
  return { version, encryption, salt };
}

async function create(meta: MetaAccess, path: string, encryptionKey: Buffer | undefined): Promise<ValueCipher> {
  if (await meta.hasData()) {
    throw corruptRecord(path, 'meta/format', 'the store holds data but no format record');
  }
  const salt = randomBytes(16);
  const format: FormatRecord = { version: STORE_FORMAT_VERSION, encryption: encryptionKey === undefined ? 'Disabled' : 'AES-256-GCM', salt: salt.toString('base64') };
  const cipher = encryptionKey === undefined ? plainCipher() : aesGcmCipher(encryptionKey, salt);
  const ops: WriteOp[] = [{ type: 'put', key: META_FORMAT_KEY, value: Buffer.from(JSON.stringify(format)) }];
  if (encryptionKey !== undefined) ops.push({ type: 'put', key: META_KEYCHECK_KEY, value: makeKeyCheck(cipher, META_KEYCHECK_KEY) });
  await meta.write(ops);
  return cipher;
}

/**
 * Creates the format records of a new store, or checks those of an existing one: format
 * version, encryption mode, and the key check value (a wrong key is reported here, at open,
 * as STO_WRONG_KEY). Returns the cipher for the store's values.
 */
export async function prepareStoreFormat(meta: MetaAccess, path: string, encryptionKey: Buffer | undefined): Promise<ValueCipher> {
  if (encryptionKey !== undefined && encryptionKey.length !== KEY_BYTES) {
    throw new OpsError('STO_WRONG_KEY', { path, reason: `the key must be ${KEY_BYTES} bytes, got ${encryptionKey.length}` });
  }
  const raw = await meta.get(META_FORMAT_KEY);
  if (raw === undefined) return create(meta, path, encryptionKey);
  const format = parseFormat(raw, path);
  if (format.version > STORE_FORMAT_VERSION) {
    throw openFailed(path, `store format ${format.version} is newer than this broker supports (${STORE_FORMAT_VERSION})`);
  }
  const cipher = await openCipher(meta, path, format, encryptionKey);
  if (format.version < STORE_FORMAT_VERSION) {
    const upgraded: FormatRecord = { ...format, version: STORE_FORMAT_VERSION };
    await meta.write([{ type: 'put', key: META_FORMAT_KEY, value: Buffer.from(JSON.stringify(upgraded)) }]);
  }
  return cipher;
}

/** The cipher of an existing store, its key checked. */
async function openCipher(meta: MetaAccess, path: string, format: FormatRecord, encryptionKey: Buffer | undefined): Promise<ValueCipher> {
  if (format.encryption === 'Disabled') {
    if (encryptionKey !== undefined) throw new OpsError('STO_WRONG_KEY', { path, reason: 'the store was created with encryption Disabled, but a key was given' });
    return plainCipher();
  }
  if (encryptionKey === undefined) throw new OpsError('STO_WRONG_KEY', { path, reason: 'the store is encrypted (AES-256-GCM) and no key was given' });
  const cipher = aesGcmCipher(encryptionKey, Buffer.from(format.salt, 'base64'));
  const check = await meta.get(META_KEYCHECK_KEY);
  if (check === undefined) throw new OpsError('STO_CORRUPT_RECORD', { path, record: 'meta/keycheck', reason: 'missing' });
  if (!verifyKeyCheck(cipher, META_KEYCHECK_KEY, check)) {
    throw new OpsError('STO_WRONG_KEY', { path, reason: 'the key check value does not authenticate with this key' });
  }
  return cipher;
}
