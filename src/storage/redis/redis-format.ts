import { randomBytes } from 'node:crypto';
import { OpsError } from '../../shared/errors.js';
import { openFailed } from '../store-errors.js';
import { aesGcmCipher, KEY_BYTES, makeKeyCheck, plainCipher, verifyKeyCheck, type ValueCipher } from '../value-cipher.js';
import type { RedisClusterCommands } from './cluster-commands.js';
import { BUCKETS, META_KEY } from './redis-keys.js';
import { bulkOrNull, checkReplies, notError, RedisReplyError } from './redis-replies.js';

/** Format of the Redis store's layout (redis-keys.ts); a newer one is refused at open. */
export const REDIS_STORE_FORMAT = 1;
const SALT_BYTES = 16;
/** AAD of the key check value. */
const KEYCHECK_AAD = Buffer.from(`${META_KEY}/keycheck`);

/**
 * Creates the format hash `m:{meta}` of a new store, or checks that of an existing one, like the
 * level store's meta records: format, encryption mode, salt (the HKDF salt of the cipher), key
 * check and the bucket count of redis-keys.ts. Several frontends may open an empty backend at once: every field is written with
 * `HSETNX` and read back, so the first writer's values win for all. A mode or key that does not
 * match is STO_WRONG_KEY; a newer format, STO_OPEN_FAILED. Returns the cipher of the values.
 */
export async function prepareRedisFormat(redis: RedisClusterCommands, path: string, encryptionKey: Buffer | undefined): Promise<ValueCipher> {
  if (encryptionKey !== undefined && encryptionKey.length !== KEY_BYTES) {
    throw new OpsError('STO_WRONG_KEY', { path, reason: `the key must be ${KEY_BYTES} bytes, got ${encryptionKey.length}` });
  }
  const mode = encryptionKey === undefined ? 'Disabled' : 'AES-256-GCM';
  const replies = await redis.exec(
    META_KEY,
    [
      ['HSETNX', META_KEY, 'format', String(REDIS_STORE_FORMAT)],
      ['HSETNX', META_KEY, 'encryption', mode],
      ['HSETNX', META_KEY, 'salt', randomBytes(SALT_BYTES)],
      ['HSETNX', META_KEY, 'buckets', String(BUCKETS)],
      ['HMGET', META_KEY, 'format', 'encryption', 'salt', 'keycheck', 'buckets'],
    ],
    { durable: true },
  );
  checkReplies(replies, 5, 'HSETNX m:{meta}');
  const fields = notError(replies[4], 'HMGET m:{meta}');
  if (!Array.isArray(fields) || fields.length !== 5) throw new RedisReplyError('HMGET m:{meta}: expected 5 values');
  const [format, storedMode, salt, keycheck, buckets] = fields.map((f) => bulkOrNull(f, 'HMGET m:{meta}'));
  const version = Number(format?.toString('latin1'));
  if (!Number.isSafeInteger(version) || version < 1) throw openFailed(path, 'the store format record is damaged');
  if (version > REDIS_STORE_FORMAT) throw openFailed(path, `store format ${version} is newer than this broker supports (${REDIS_STORE_FORMAT})`);
  // The bucket count places every bucketed record: a store written with another would look empty.
  const storedBuckets = buckets?.toString('latin1');
  if (storedBuckets !== String(BUCKETS)) throw openFailed(path, `the store was written with ${storedBuckets ?? 'no'} buckets per kind, this broker uses ${BUCKETS}`);
  const stored = storedMode?.toString('latin1');
  if (stored === 'Disabled') {
    if (encryptionKey !== undefined) throw new OpsError('STO_WRONG_KEY', { path, reason: 'the store was created with encryption Disabled, but a key was given' });
    return plainCipher();
  }
  if (stored !== 'AES-256-GCM') throw openFailed(path, 'the store format record is damaged');
  if (encryptionKey === undefined) throw new OpsError('STO_WRONG_KEY', { path, reason: 'the store is encrypted (AES-256-GCM) and no key was given' });
  if (salt === null || salt === undefined || salt.length !== SALT_BYTES) throw openFailed(path, 'the store format record is damaged (salt)');
  const cipher = aesGcmCipher(encryptionKey, salt);
  const check = keycheck ?? (await writeKeyCheck(redis, cipher));
  if (!verifyKeyCheck(cipher, KEYCHECK_AAD, check)) throw new OpsError('STO_WRONG_KEY', { path, reason: 'the key check value does not authenticate with this key' });
  return cipher;
}

/** Writes the key check value unless another opener did; returns the one stored. */
async function writeKeyCheck(redis: RedisClusterCommands, cipher: ValueCipher): Promise<Buffer> {
  const replies = await redis.exec(META_KEY, [['HSETNX', META_KEY, 'keycheck', makeKeyCheck(cipher, KEYCHECK_AAD)], ['HGET', META_KEY, 'keycheck']], { durable: true });
  checkReplies(replies, 2, 'HSETNX m:{meta} keycheck');
  const check = bulkOrNull(replies[1], 'HGET m:{meta} keycheck');
  if (check === null) throw new RedisReplyError('HGET m:{meta} keycheck: missing after HSETNX');
  return check;
}
