import type { IdEncoder } from '../value-cipher.js';

/**
 * Level key layout (binary keys, compared bytewise):
 *
 * - `meta/format`   store format record (plain JSON: format version, encryption mode, salt)
 * - `meta/keycheck` a known constant sealed with the store key (encrypted stores only)
 * - `s/<id>`        a session, `<id>` from the client id
 * - `q/<len u16><id><seq u64 BE><segment u64 BE>` a queue entry held in segment `<segment>`, with
 *                   an empty value (format 2); big-endian seq makes iteration follow seq order,
 *                   and the length prefix keeps one client's range from containing another's
 * - `q/<len u16><id><seq u64 BE>` a queue entry with its own sealed record (format 1, still read)
 * - `seg/<segment u64 BE>` a segment: the sealed queue entries of one batch (segment-codec.ts)
 * - `r/<id>`        a retained message, `<id>` from the topic
 * - `k/<key>`       a persisted state-store key: its raw bytes when encryption is Disabled, a
 *                   keyed hash of them when it is on (a store without `k/` records has no
 *                   persisted state-store keys)
 *
 * `<id>` is what {@link IdEncoder} makes of the client id or topic: its UTF-8 bytes when
 * encryption is Disabled, a keyed hash (HMAC-SHA256) when it is on, so client ids and topics
 * never appear in plain text on disk; the real value is inside the encrypted record.
 */

export type { IdEncoder } from '../value-cipher.js';

/** Key of the store format record. */
export const META_FORMAT_KEY = Buffer.from('meta/format');
/** Key of the key check value. */
export const META_KEYCHECK_KEY = Buffer.from('meta/keycheck');

const SESSION = Buffer.from('s/');
const QUEUE = Buffer.from('q/');
const RETAINED = Buffer.from('r/');
const STATE_STORE = Buffer.from('k/');
const SEGMENT = Buffer.from('seg/');

/** Ids of queue prefixes: the store passes the same prefix Buffer for a client every time. */
const queueIds = new WeakMap<Buffer, string>();

/** The id of a queue in in-memory maps (size ledger, segment index): its key prefix as a latin1 string, made once per prefix Buffer. */
export function queueIdOf(prefix: Buffer): string {
  let id = queueIds.get(prefix);
  if (id === undefined) {
    id = prefix.toString('latin1');
    queueIds.set(prefix, id);
  }
  return id;
}

/** A `[gte, lt)` key range. */
export interface KeyRange {
  readonly gte: Buffer;
  readonly lt: Buffer;
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new Error('prefix has no upper bound');
}

function rangeOf(prefix: Buffer): KeyRange {
  return { gte: prefix, lt: prefixEnd(prefix) };
}

/** Builds the keys of one store, given how ids are encoded. */
export class KeyLayout {
  readonly #encode: IdEncoder;
  /** Encoded ids (an HMAC per id when encrypted): computed once per client id or topic. */
  readonly #ids = new Map<string, Buffer>();
  /** Queue key prefixes by client id, built once per client. */
  readonly #queuePrefixes = new Map<string, Buffer>();

  constructor(id: IdEncoder) {
    this.#encode = id;
  }

  #id(value: string): Buffer {
    let encoded = this.#ids.get(value);
    if (encoded === undefined) {
      if (this.#ids.size >= 10_000) this.#ids.clear(); // bounded: a cache, not an index
      encoded = this.#encode(value);
      this.#ids.set(value, encoded);
    }
    return encoded;
  }

  session(clientId: string): Buffer {
    return Buffer.concat([SESSION, this.#id(clientId)]);
  }

  /** The queue key prefix of a client (the same Buffer for every call: callers must not modify it). */
  queuePrefix(clientId: string): Buffer {
    let prefix = this.#queuePrefixes.get(clientId);
    if (prefix !== undefined) return prefix;
    const id = this.#id(clientId);
    if (id.length > 0xffff) throw new RangeError('client id longer than 65535 bytes');
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(id.length, 0);
    prefix = Buffer.concat([QUEUE, len, id]);
    if (this.#queuePrefixes.size >= 10_000) this.#queuePrefixes.clear(); // bounded like #ids
    this.#queuePrefixes.set(clientId, prefix);
    return prefix;
  }

  queueEntry(clientId: string, seq: number): Buffer {
    return queueEntryKey(this.queuePrefix(clientId), seq);
  }

  retained(topic: string): Buffer {
    return Buffer.concat([RETAINED, this.#id(topic)]);
  }

  /** Key of a state-store key; `hashed` (encrypted stores): the key's bytes go through the id encoder. */
  stateStoreKey(key: Buffer, hashed: boolean): Buffer {
    // latin1 maps bytes to distinct strings, so the keyed hash input is unique per key.
    return Buffer.concat([STATE_STORE, hashed ? this.#encode(key.toString('latin1')) : key]);
  }

  queueRange(clientId: string): KeyRange {
    return rangeOf(this.queuePrefix(clientId));
  }

  static readonly sessions: KeyRange = rangeOf(SESSION);
  static readonly retained: KeyRange = rangeOf(RETAINED);
  static readonly stateStore: KeyRange = rangeOf(STATE_STORE);
  static readonly allData: readonly KeyRange[] = [rangeOf(SESSION), rangeOf(QUEUE), rangeOf(RETAINED), rangeOf(STATE_STORE), rangeOf(SEGMENT)];
}

/** Throws the RangeError of a key builder if `seq` cannot be a queue entry's seq (a non-negative safe integer). */
export function checkQueueSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`invalid queue seq ${seq}`);
}

/** `prefix` followed by `seq` as a big-endian u64 (seq: a non-negative safe integer). */
export function queueEntryKey(prefix: Buffer, seq: number): Buffer {
  checkQueueSeq(seq);
  const key = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(key, 0);
  key.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), prefix.length);
  key.writeUInt32BE(seq >>> 0, prefix.length + 4);
  return key;
}

function writeU64(key: Buffer, value: number, at: number): void {
  key.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  key.writeUInt32BE(value >>> 0, at + 4);
}

function readU64(key: Buffer, at: number): number {
  return key.readUInt32BE(at) * 0x1_0000_0000 + key.readUInt32BE(at + 4);
}

/** Key of queue entry `seq` held in segment `segment` (its value is empty): `prefix`, seq, segment id (u64 BE each). */
export function segmentedEntryKey(prefix: Buffer, seq: number, segment: number): Buffer {
  checkQueueSeq(seq);
  const key = Buffer.allocUnsafe(prefix.length + 16);
  prefix.copy(key, 0);
  writeU64(key, seq, prefix.length);
  writeU64(key, segment, prefix.length + 8);
  return key;
}

/**
 * Builds segmented entry keys ({@link segmentedEntryKey}) in reused buffers, one per key length:
 * for writes that consume the key at once (a native batch copies it). The queue prefix is copied
 * only when it differs from the last one written into that buffer (prefix Buffers are per queue
 * and never modified, see {@link KeyLayout.queuePrefix}), then seq and segment id.
 */
export class EntryKeyScratch {
  readonly #slots = new Map<number, { readonly key: Buffer; prefix: Buffer | undefined }>();

  /** The key of entry `seq` of queue `prefix` in `segment`: valid until the next call. */
  key(prefix: Buffer, seq: number, segment: number): Buffer {
    checkQueueSeq(seq);
    const length = prefix.length + 16;
    let slot = this.#slots.get(length);
    if (slot === undefined) {
      if (this.#slots.size >= 64) this.#slots.clear(); // bounded: one per client id length in use
      slot = { key: Buffer.allocUnsafeSlow(length), prefix: undefined };
      this.#slots.set(length, slot);
    }
    const key = slot.key;
    if (slot.prefix !== prefix) {
      prefix.copy(key, 0);
      slot.prefix = prefix;
    }
    writeU64(key, seq, prefix.length);
    writeU64(key, segment, prefix.length + 8);
    return key;
  }
}

/** Length of a segment key (`seg/` + u64). */
export const SEGMENT_KEY_BYTES = SEGMENT.length + 8;

/** Key of segment `id` (a positive safe integer). */
export function segmentKey(id: number): Buffer {
  const key = Buffer.allocUnsafe(SEGMENT_KEY_BYTES);
  SEGMENT.copy(key, 0);
  writeU64(key, id, SEGMENT.length);
  return key;
}

/** The segment id of a `seg/` key; undefined for any other key. */
export function parseSegmentKey(key: Buffer): number | undefined {
  if (key.length !== SEGMENT_KEY_BYTES || key.compare(SEGMENT, 0, SEGMENT.length, 0, SEGMENT.length) !== 0) return undefined;
  return readU64(key, SEGMENT.length);
}

/** A queue key taken apart. `segment` 0: a format 1 entry with its own record. */
export interface ParsedQueueKey {
  /** Length of the queue prefix (`q/<len><id>`). */
  readonly prefixLength: number;
  readonly seq: number;
  readonly segment: number;
}

/** Parses a `q/` key of either format; undefined when it is not one. */
export function parseQueueKey(key: Buffer): ParsedQueueKey | undefined {
  if (key.length < QUEUE.length + 2 || key.compare(QUEUE, 0, QUEUE.length, 0, QUEUE.length) !== 0) return undefined;
  const prefixLength = QUEUE.length + 2 + key.readUInt16BE(QUEUE.length);
  const rest = key.length - prefixLength;
  if (rest === 8) return { prefixLength, seq: readU64(key, prefixLength), segment: 0 };
  if (rest === 16) return { prefixLength, seq: readU64(key, prefixLength), segment: readU64(key, prefixLength + 8) };
  return undefined;
}
