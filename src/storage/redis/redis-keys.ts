/**
 * Key layout of the Redis store (docs/cluster.md, "Key layout"). Every key carries a hash tag
 * (`{...}`) so that what one operation touches lies in one hash slot, hence on one master:
 *
 * - `s:{c:<id>}`   string: the session record of client `<id>`;
 * - `q:{c:<id>}`   hash: the session's queue, field = seq (decimal), value = queue entry record;
 * - `si:{b<n>}`    set: index of the `<id>`s whose session is in bucket `n`;
 * - `r:{b<n>}`     hash: retained messages of bucket `n`, field = topic;
 * - `k:{h<n>}`     hash: state-store keys of bucket `n`, field = key;
 * - `m:{meta}`     hash: store format, encryption mode, salt and key check (redis-format.ts).
 *
 * `<id>` is the base64url of the client id's key bytes: its UTF-8 bytes, or their keyed hash
 * (HMAC-SHA256) when encryption is on; above 48 bytes, `h.` and the base64url of their SHA-256. Client ids and topics are hostile input, and a `{` or `}`
 * in them must never end or start a hash tag (base64url has neither). Topics and state-store keys
 * are hash fields (their bytes, or keyed hashes when encrypted), never in key names. Buckets are
 * FNV-1a of those bytes modulo {@link BUCKETS}: loads read every bucket, one slot each, instead
 * of scanning the key space of every master.
 */

import { createHash } from 'node:crypto';

/** Buckets of the session index, the retained messages and the state-store keys. Fixed: changing it moves every bucketed record. */
export const BUCKETS = 64;

/** FNV-1a (32 bits) of `bytes`. */
function fnv1a(bytes: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The bucket of a client id, topic or state-store key. */
export function bucketOf(bytes: Buffer): number {
  return fnv1a(bytes) % BUCKETS;
}

/** Client id key bytes above this length are tagged by their SHA-256, so that key names stay short. */
export const LONG_ID_BYTES = 48;
/** What {@link clientTag} writes: base64url, or `h.` and the base64url SHA-256 of a long id. */
export const CLIENT_TAG = /^(?:[A-Za-z0-9_-]*|h\.[A-Za-z0-9_-]{43})$/;

/**
 * The hash-tag-safe form of a client id's key bytes (UTF-8, or its keyed hash when encrypted):
 * their base64url (no `{`, `}`), or for ids longer than {@link LONG_ID_BYTES} bytes `h.` and the
 * base64url of their SHA-256 (a 65,535-byte client id must not make a 87 KB key name; `.` is not
 * base64url, so the two forms never meet).
 */
export function clientTag(idBytes: Buffer): string {
  if (idBytes.length <= LONG_ID_BYTES) return idBytes.toString('base64url');
  return `h.${createHash('sha256').update(idBytes).digest('base64url')}`;
}

/** The session record key of a client, by its {@link clientTag}. */
export function sessionKey(tag: string): string {
  return `s:{c:${tag}}`;
}

/** The key holding the id of the cluster frontend owning a client's session, by its {@link clientTag} (same slot as its session). */
export function ownerKey(tag: string): string {
  return `o:{c:${tag}}`;
}

/** The key of the will of a client connected to a frontend, by its {@link clientTag} (same slot as its session). */
export function willKey(tag: string): string {
  return `w:{c:${tag}}`;
}

/**
 * The set of a client's inbound QoS 2 packet ids taken and not released (PUBREC sent, PUBREL not yet
 * received), by its {@link clientTag} (same slot as its session): members are the ids in decimal.
 */
export function incomingQos2Key(tag: string): string {
  return `i2:{c:${tag}}`;
}

/** The set of the client tags whose sessions a cluster frontend owns (frontend ids are base64url: no brace). */
export function ownedKey(frontendId: string): string {
  return `fo:{f:${frontendId}}`;
}

/** The queue hash key of a client, by its {@link clientTag} (same slot as its session). */
export function queueKey(tag: string): string {
  return `q:{c:${tag}}`;
}

/** The session index set of bucket `n`. */
export function sessionIndexKey(n: number): string {
  return `si:{b${n}}`;
}

/** The retained hash of bucket `n`. */
export function retainedKey(n: number): string {
  return `r:{b${n}}`;
}

/** The state-store key hash of bucket `n`. */
export function stateStoreKey(n: number): string {
  return `k:{h${n}}`;
}

/** A queue entry's field in the queue hash: its seq in decimal. */
export function seqField(seq: number): string {
  return String(seq);
}

/** The seq of a queue hash field; undefined when the field is not a non-negative safe integer in canonical decimal. */
export function parseSeqField(field: Buffer): number | undefined {
  const text = field.toString('latin1');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) return undefined;
  const seq = Number(text);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** The store's format hash. */
export const META_KEY = 'm:{meta}';

/** The authenticated data a value is sealed with: its key, and its field in a hash (a value moved elsewhere fails to open). */
export function valueAad(key: string, field?: Buffer | string): Buffer {
  const name = Buffer.from(key, 'utf8');
  if (field === undefined) return name;
  return Buffer.concat([name, Buffer.from([0]), Buffer.isBuffer(field) ? field : Buffer.from(field, 'utf8')]);
}
