import type { MessageRecord, QueueEntryRecord } from './broker-store.js';

/**
 * Exact-size encoders of the message part of records and of whole queue entry records, for the
 * persisted QoS 1/2 path: the size is computed first (one `byteLength` per string), then the
 * fields are written straight into the destination, which for queue entries is the segment being
 * built (segment-codec.ts): no growing buffer, no intermediate copy. The bytes are exactly those
 * the record codec has always written (record-codec.ts documents the layout and reads them).
 */

/** Version byte of every record (record-codec.ts). A newer codec version must still read version 1. */
export const RECORD_CODEC_VERSION = 1;

/** What a stored value holds (its second byte). */
export const RecordKind = { Session: 1, QueueEntry: 2, Retained: 3, StateStoreKey: 4 } as const;
/** One of {@link RecordKind}. */
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

// Message flag bits (record-codec.ts reads them).
export const M_RETAIN = 1 << 0;
export const M_EXPIRES_AT = 1 << 1;
export const M_EXPIRY_SET_PRESENT = 1 << 2;
export const M_EXPIRY_SET = 1 << 3;
export const M_SENDER = 1 << 4;
export const M_PROPS = 1 << 5;
export const M_PFI_PRESENT = 1 << 6;
export const M_PFI = 1 << 7;
export const M_CONTENT_TYPE = 1 << 8;
export const M_RESPONSE_TOPIC = 1 << 9;
export const M_CORRELATION = 1 << 10;
export const M_USER_PROPS = 1 << 11;

// Queue entry flag bits.
export const Q_RETAIN = 1 << 0;
export const Q_SUB_IDS = 1 << 1;
export const Q_PACKET_ID = 1 << 2;
export const Q_RELEASED_PRESENT = 1 << 3;
export const Q_RELEASED = 1 << 4;
/** The entry ends with its shared group: name and topic filter (u32-length-prefixed UTF-8 each). */
export const Q_GROUP = 1 << 5;

/** Strings up to this length are checked for ASCII in JS: cheaper than a call into Buffer's native UTF-8 code. */
const SHORT_STRING = 64;

/** Whether `value` is short and ASCII only (one byte per UTF-16 unit). */
function shortAscii(value: string): boolean {
  const n = value.length;
  if (n > SHORT_STRING) return false;
  for (let i = 0; i < n; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

function strBytes(value: string): number {
  return 4 + (shortAscii(value) ? value.length : Buffer.byteLength(value, 'utf8'));
}

/** Bytes of a message's encoding. */
export function messageBytes(m: MessageRecord): number {
  let n = 2 + 1 + strBytes(m.topic) + 4 + m.payload.length;
  if (m.expiresAt !== undefined) n += 8;
  if (m.senderId !== undefined) n += strBytes(m.senderId);
  const p = m.properties;
  if (p === undefined) return n;
  if (p.contentType !== undefined) n += strBytes(p.contentType);
  if (p.responseTopic !== undefined) n += strBytes(p.responseTopic);
  if (p.correlationData !== undefined) n += 4 + p.correlationData.length;
  if (p.userProperties !== undefined) {
    n += 4;
    for (const [name, value] of p.userProperties) n += strBytes(name) + strBytes(value);
  }
  return n;
}

function writeStr(out: Buffer, at: number, value: string): number {
  let len: number;
  if (shortAscii(value)) {
    len = value.length;
    for (let i = 0; i < len; i++) out[at + 4 + i] = value.charCodeAt(i);
  } else len = out.write(value, at + 4, 'utf8');
  out.writeUInt32BE(len, at);
  return at + 4 + len;
}

function writeBytes(out: Buffer, at: number, value: Buffer): number {
  out.writeUInt32BE(value.length, at);
  value.copy(out, at + 4);
  return at + 4 + value.length;
}

/** Writes a message's encoding at `at` (room for {@link messageBytes} needed); returns the end. */
export function writeMessageAt(out: Buffer, at: number, m: MessageRecord): number {
  const p = m.properties;
  let flags = 0;
  if (m.retain) flags |= M_RETAIN;
  if (m.expiresAt !== undefined) flags |= M_EXPIRES_AT;
  if (m.expirySet !== undefined) flags |= M_EXPIRY_SET_PRESENT | (m.expirySet ? M_EXPIRY_SET : 0);
  if (m.senderId !== undefined) flags |= M_SENDER;
  if (p !== undefined) {
    flags |= M_PROPS;
    if (p.payloadFormatIndicator !== undefined) flags |= M_PFI_PRESENT | (p.payloadFormatIndicator ? M_PFI : 0);
    if (p.contentType !== undefined) flags |= M_CONTENT_TYPE;
    if (p.responseTopic !== undefined) flags |= M_RESPONSE_TOPIC;
    if (p.correlationData !== undefined) flags |= M_CORRELATION;
    if (p.userProperties !== undefined) flags |= M_USER_PROPS;
  }
  out.writeUInt16BE(flags, at);
  out[at + 2] = m.qos;
  at = writeStr(out, at + 3, m.topic);
  at = writeBytes(out, at, m.payload);
  if (m.expiresAt !== undefined) at = out.writeDoubleBE(m.expiresAt, at);
  if (m.senderId !== undefined) at = writeStr(out, at, m.senderId);
  if (p === undefined) return at;
  if (p.contentType !== undefined) at = writeStr(out, at, p.contentType);
  if (p.responseTopic !== undefined) at = writeStr(out, at, p.responseTopic);
  if (p.correlationData !== undefined) at = writeBytes(out, at, p.correlationData);
  if (p.userProperties !== undefined) {
    at = out.writeUInt32BE(p.userProperties.length, at);
    for (const [name, value] of p.userProperties) at = writeStr(out, writeStr(out, at, name), value);
  }
  return at;
}

/** Bytes of a retained message record. */
export function retainedBytes(message: MessageRecord): number {
  return 2 + messageBytes(message);
}

/** Writes a retained message record at `at`; returns the end. */
export function writeRetainedAt(out: Buffer, at: number, message: MessageRecord): number {
  out[at] = RECORD_CODEC_VERSION;
  out[at + 1] = RecordKind.Retained;
  return writeMessageAt(out, at + 2, message);
}

/** Bytes of a queue entry record. */
export function queueEntryBytes(entry: QueueEntryRecord): number {
  let n = 2 + 8 + 1 + 1 + messageBytes(entry.message);
  if (entry.subscriptionIds !== undefined) n += 4 + 8 * entry.subscriptionIds.length;
  if (entry.packetId !== undefined) n += 2;
  if (entry.group !== undefined) n += 8 + Buffer.byteLength(entry.group.name, 'utf8') + Buffer.byteLength(entry.group.topicFilter, 'utf8');
  return n;
}

/** Writes a whole queue entry record at `at` (room for {@link queueEntryBytes} needed); returns the end. */
export function writeQueueEntryAt(out: Buffer, at: number, entry: QueueEntryRecord): number {
  let flags = 0;
  if (entry.retain) flags |= Q_RETAIN;
  if (entry.subscriptionIds !== undefined) flags |= Q_SUB_IDS;
  if (entry.packetId !== undefined) flags |= Q_PACKET_ID;
  if (entry.released !== undefined) flags |= Q_RELEASED_PRESENT | (entry.released ? Q_RELEASED : 0);
  if (entry.group !== undefined) flags |= Q_GROUP;
  out[at] = RECORD_CODEC_VERSION;
  out[at + 1] = RecordKind.QueueEntry;
  at = out.writeDoubleBE(entry.seq, at + 2);
  out[at] = entry.qos;
  out[at + 1] = flags;
  at = writeMessageAt(out, at + 2, entry.message);
  if (entry.subscriptionIds !== undefined) {
    at = out.writeUInt32BE(entry.subscriptionIds.length, at);
    for (const id of entry.subscriptionIds) at = out.writeDoubleBE(id, at);
  }
  if (entry.packetId !== undefined) at = out.writeUInt16BE(entry.packetId, at);
  if (entry.group !== undefined) {
    for (const text of [entry.group.name, entry.group.topicFilter]) {
      const length = out.write(text, at + 4, 'utf8');
      out.writeUInt32BE(length, at);
      at += 4 + length;
    }
  }
  return at;
}
