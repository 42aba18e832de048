import type { MessageRecord, QueueEntryRecord, SessionRecord, StateStoreKeyRecord } from '../broker-store.js';
import { queueEntryBytes, writeQueueEntryAt } from '../message-codec.js';
import {
  decodeQueueEntry,
  decodeRetained,
  decodeSession,
  decodeStateStoreKey,
  encodeRetained,
  encodeSession,
  encodeStateStoreKey,
} from '../record-codec.js';

/**
 * Values of the Redis store: `[format u8][record]` (record-codec.ts). Format 0 is plain; the byte
 * leaves room for sealed values (AES-256-GCM, format 1 as in the level store), planned.
 * Decoders throw (RecordFormatError or {@link ValueFormatError}) on anything malformed.
 */

/** Format byte of a plain value. */
export const PLAIN_VALUE = 0x00;

/** A stored value is not in a format this store reads. */
export class ValueFormatError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ValueFormatError';
  }
}

function framed(record: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + record.length);
  out[0] = PLAIN_VALUE;
  record.copy(out, 1);
  return out;
}

function unframed(value: Buffer): Buffer {
  if (value.length === 0) throw new ValueFormatError('empty value');
  if (value[0] !== PLAIN_VALUE) throw new ValueFormatError(`value format ${String(value[0])} is not the plain format of an unencrypted store`);
  return value.subarray(1);
}

/** A session's stored value. */
export function sessionValue(record: SessionRecord): Buffer {
  return framed(encodeSession(record));
}

/** Reads a session's stored value. */
export function readSessionValue(value: Buffer): SessionRecord {
  return decodeSession(unframed(value));
}

/** A queue entry's stored value, written straight into its buffer. */
export function queueEntryValue(entry: QueueEntryRecord): Buffer {
  const out = Buffer.allocUnsafe(1 + queueEntryBytes(entry));
  out[0] = PLAIN_VALUE;
  writeQueueEntryAt(out, 1, entry);
  return out;
}

/** Reads a queue entry's stored value. */
export function readQueueEntryValue(value: Buffer): QueueEntryRecord {
  return decodeQueueEntry(unframed(value));
}

/** A retained message's stored value. */
export function retainedValue(message: MessageRecord): Buffer {
  return framed(encodeRetained(message));
}

/** Reads a retained message's stored value. */
export function readRetainedValue(value: Buffer): MessageRecord {
  return decodeRetained(unframed(value));
}

/** A state-store key's stored value. */
export function stateStoreKeyValue(record: StateStoreKeyRecord): Buffer {
  return framed(encodeStateStoreKey(record));
}

/** Reads a state-store key's stored value. */
export function readStateStoreKeyValue(value: Buffer): StateStoreKeyRecord {
  return decodeStateStoreKey(unframed(value));
}
