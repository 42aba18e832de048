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
 * (HMAC-SHA256) when encryption is on. Client ids and topics are hostile input, and a `{` or `}`
 * in them must never end or start a hash tag (base64url has neither). Topics and state-store keys
 * are hash fields (their bytes, or keyed hashes when encrypted), never in key names. Buckets are
 * FNV-1a of those bytes modulo {@link BUCKETS}: loads read every bucket, one slot each, instead
 * of scanning the key space of every master.
 */

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

/** The hash-tag-safe form of a client id's key bytes (UTF-8, or its keyed hash when encrypted): base64url (no `{`, `}`). */
export function clientTag(idBytes: Buffer): string {
  return idBytes.toString('base64url');
}

/** The session record key of a client, by its {@link clientTag}. */
export function sessionKey(tag: string): string {
  return `s:{c:${tag}}`;
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
