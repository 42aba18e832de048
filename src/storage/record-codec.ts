import type {
  HlcRecord,
  MessagePropertiesRecord,
  MessageRecord,
  QueueEntryRecord,
  SessionRecord,
  StateStoreKeyRecord,
  SubscriptionRecord,
} from './broker-store.js';
import { BinaryReader, BinaryWriter, RecordFormatError } from './binary-io.js';

/**
 * Versioned binary encoding of the store's records. Layout: `[codec version u8][kind u8][fields]`.
 * Buffers (payload, correlation data) are stored as raw length-prefixed bytes and round-trip
 * exactly; optional fields carry a presence bit, so `false` and absent stay distinct; user
 * properties keep their order and duplicates. A newer codec version must still read version 1.
 */
export const RECORD_CODEC_VERSION = 1;

/** What a stored value holds. */
export const RecordKind = { Session: 1, QueueEntry: 2, Retained: 3, StateStoreKey: 4 } as const;
/** One of {@link RecordKind}. */
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

// Message flag bits.
const M_RETAIN = 1 << 0;
const M_EXPIRES_AT = 1 << 1;
const M_EXPIRY_SET_PRESENT = 1 << 2;
const M_EXPIRY_SET = 1 << 3;
const M_SENDER = 1 << 4;
const M_PROPS = 1 << 5;
const M_PFI_PRESENT = 1 << 6;
const M_PFI = 1 << 7;
const M_CONTENT_TYPE = 1 << 8;
const M_RESPONSE_TOPIC = 1 << 9;
const M_CORRELATION = 1 << 10;
const M_USER_PROPS = 1 << 11;

function header(kind: RecordKind, sizeHint: number): BinaryWriter {
  const w = new BinaryWriter(sizeHint);
  w.u8(RECORD_CODEC_VERSION);
  w.u8(kind);
  return w;
}

function openRecord(bytes: Buffer, kind: RecordKind): BinaryReader {
  const r = new BinaryReader(bytes);
  const version = r.u8();
  if (version !== RECORD_CODEC_VERSION) throw new RecordFormatError(`unknown record codec version ${version}`);
  const found = r.u8();
  if (found !== kind) throw new RecordFormatError(`expected record kind ${kind}, found ${found}`);
  return r;
}

function qosOf(value: number): 0 | 1 | 2 {
  if (value === 0 || value === 1 || value === 2) return value;
  throw new RecordFormatError(`invalid QoS ${value}`);
}

function writeMessage(w: BinaryWriter, m: MessageRecord): void {
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
  w.u16(flags);
  w.u8(m.qos);
  w.str(m.topic);
  w.bytes(m.payload);
  if (m.expiresAt !== undefined) w.f64(m.expiresAt);
  if (m.senderId !== undefined) w.str(m.senderId);
  if (p?.contentType !== undefined) w.str(p.contentType);
  if (p?.responseTopic !== undefined) w.str(p.responseTopic);
  if (p?.correlationData !== undefined) w.bytes(p.correlationData);
  if (p?.userProperties !== undefined) {
    w.u32(p.userProperties.length);
    for (const [name, value] of p.userProperties) {
      w.str(name);
      w.str(value);
    }
  }
}

function readMessage(r: BinaryReader): MessageRecord {
  const flags = r.u16();
  const qos = qosOf(r.u8());
  const topic = r.str();
  const payload = r.bytes();
  const expiresAt = flags & M_EXPIRES_AT ? r.f64() : undefined;
  const senderId = flags & M_SENDER ? r.str() : undefined;
  let properties: MessagePropertiesRecord | undefined;
  if (flags & M_PROPS) {
    const contentType = flags & M_CONTENT_TYPE ? r.str() : undefined;
    const responseTopic = flags & M_RESPONSE_TOPIC ? r.str() : undefined;
    const correlationData = flags & M_CORRELATION ? r.bytes() : undefined;
    let userProperties: [string, string][] | undefined;
    if (flags & M_USER_PROPS) {
      const count = r.u32();
      userProperties = [];
      for (let i = 0; i < count; i++) userProperties.push([r.str(), r.str()]);
    }
    properties = {
      ...(flags & M_PFI_PRESENT ? { payloadFormatIndicator: (flags & M_PFI) !== 0 } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(responseTopic !== undefined ? { responseTopic } : {}),
      ...(correlationData !== undefined ? { correlationData } : {}),
      ...(userProperties !== undefined ? { userProperties } : {}),
    };
  }
  return {
    topic,
    payload,
    qos,
    retain: (flags & M_RETAIN) !== 0,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(flags & M_EXPIRY_SET_PRESENT ? { expirySet: (flags & M_EXPIRY_SET) !== 0 } : {}),
    ...(properties !== undefined ? { properties } : {}),
    ...(senderId !== undefined ? { senderId } : {}),
  };
}

/** Encodes a retained message. */
export function encodeRetained(message: MessageRecord): Buffer {
  const w = header(RecordKind.Retained, 64 + message.payload.length + message.topic.length * 3);
  writeMessage(w, message);
  return w.finish();
}

/** Decodes a retained message; throws {@link RecordFormatError} on malformed bytes. */
export function decodeRetained(bytes: Buffer): MessageRecord {
  const r = openRecord(bytes, RecordKind.Retained);
  const message = readMessage(r);
  r.end();
  return message;
}

// Queue entry flag bits.
const Q_RETAIN = 1 << 0;
const Q_SUB_IDS = 1 << 1;
const Q_PACKET_ID = 1 << 2;
const Q_RELEASED_PRESENT = 1 << 3;
const Q_RELEASED = 1 << 4;

/** Encodes a queue entry. */
export function encodeQueueEntry(entry: QueueEntryRecord): Buffer {
  const w = header(RecordKind.QueueEntry, 96 + entry.message.payload.length + entry.message.topic.length * 3);
  let flags = 0;
  if (entry.retain) flags |= Q_RETAIN;
  if (entry.subscriptionIds !== undefined) flags |= Q_SUB_IDS;
  if (entry.packetId !== undefined) flags |= Q_PACKET_ID;
  if (entry.released !== undefined) flags |= Q_RELEASED_PRESENT | (entry.released ? Q_RELEASED : 0);
  w.f64(entry.seq);
  w.u8(entry.qos);
  w.u8(flags);
  writeMessage(w, entry.message);
  if (entry.subscriptionIds !== undefined) {
    w.u32(entry.subscriptionIds.length);
    for (const id of entry.subscriptionIds) w.f64(id);
  }
  if (entry.packetId !== undefined) w.u16(entry.packetId);
  return w.finish();
}

/** Decodes a queue entry; throws {@link RecordFormatError} on malformed bytes. */
export function decodeQueueEntry(bytes: Buffer): QueueEntryRecord {
  const r = openRecord(bytes, RecordKind.QueueEntry);
  const seq = r.f64();
  const qos = qosOf(r.u8());
  const flags = r.u8();
  const message = readMessage(r);
  let subscriptionIds: number[] | undefined;
  if (flags & Q_SUB_IDS) {
    const count = r.u32();
    subscriptionIds = [];
    for (let i = 0; i < count; i++) subscriptionIds.push(r.f64());
  }
  const packetId = flags & Q_PACKET_ID ? r.u16() : undefined;
  r.end();
  return {
    seq,
    message,
    qos,
    retain: (flags & Q_RETAIN) !== 0,
    ...(subscriptionIds !== undefined ? { subscriptionIds } : {}),
    ...(packetId !== undefined ? { packetId } : {}),
    ...(flags & Q_RELEASED_PRESENT ? { released: (flags & Q_RELEASED) !== 0 } : {}),
  };
}

// Session and subscription flag bits.
const S_DISCONNECTED_AT = 1 << 0;
const S_WILL = 1 << 1;
const S_PERSIST_QUEUE_PRESENT = 1 << 2;
const S_PERSIST_QUEUE = 1 << 3;
const SUB_NO_LOCAL = 1 << 0;
const SUB_RAP = 1 << 1;
const SUB_ID = 1 << 2;

/** Encodes a session record (subscriptions and pending will included). */
export function encodeSession(session: SessionRecord): Buffer {
  const w = header(RecordKind.Session, 128 + session.subscriptions.length * 64 + (session.will?.message.payload.length ?? 0));
  w.str(session.clientId);
  w.u8(session.protocolVersion);
  w.f64(session.expiryIntervalSeconds);
  w.u8(
    (session.disconnectedAt !== undefined ? S_DISCONNECTED_AT : 0) |
      (session.will !== undefined ? S_WILL : 0) |
      (session.persistQueue !== undefined ? S_PERSIST_QUEUE_PRESENT | (session.persistQueue ? S_PERSIST_QUEUE : 0) : 0),
  );
  if (session.disconnectedAt !== undefined) w.f64(session.disconnectedAt);
  w.u32(session.subscriptions.length);
  for (const sub of session.subscriptions) {
    w.str(sub.filter);
    w.u8(sub.qos);
    w.u8((sub.noLocal ? SUB_NO_LOCAL : 0) | (sub.retainAsPublished ? SUB_RAP : 0) | (sub.subscriptionId !== undefined ? SUB_ID : 0));
    w.u8(sub.retainHandling);
    if (sub.subscriptionId !== undefined) w.f64(sub.subscriptionId);
  }
  if (session.will !== undefined) {
    writeMessage(w, session.will.message);
    w.f64(session.will.delaySeconds);
  }
  return w.finish();
}

function readSubscription(r: BinaryReader): SubscriptionRecord {
  const filter = r.str();
  const qos = qosOf(r.u8());
  const flags = r.u8();
  const retainHandling = r.u8();
  if (retainHandling !== 0 && retainHandling !== 1 && retainHandling !== 2) throw new RecordFormatError(`invalid retain handling ${retainHandling}`);
  const subscriptionId = flags & SUB_ID ? r.f64() : undefined;
  return {
    filter,
    qos,
    noLocal: (flags & SUB_NO_LOCAL) !== 0,
    retainAsPublished: (flags & SUB_RAP) !== 0,
    retainHandling,
    ...(subscriptionId !== undefined ? { subscriptionId } : {}),
  };
}

/** Decodes a session record; throws {@link RecordFormatError} on malformed bytes. */
export function decodeSession(bytes: Buffer): SessionRecord {
  const r = openRecord(bytes, RecordKind.Session);
  const clientId = r.str();
  const protocolVersion = r.u8();
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new RecordFormatError(`invalid protocol version ${protocolVersion}`);
  const expiryIntervalSeconds = r.f64();
  const flags = r.u8();
  const disconnectedAt = flags & S_DISCONNECTED_AT ? r.f64() : undefined;
  const count = r.u32();
  const subscriptions: SubscriptionRecord[] = [];
  for (let i = 0; i < count; i++) subscriptions.push(readSubscription(r));
  let will: SessionRecord['will'];
  if (flags & S_WILL) {
    const message = readMessage(r);
    will = { message, delaySeconds: r.f64() };
  }
  r.end();
  return {
    clientId,
    protocolVersion,
    expiryIntervalSeconds,
    ...(flags & S_PERSIST_QUEUE_PRESENT ? { persistQueue: (flags & S_PERSIST_QUEUE) !== 0 } : {}),
    subscriptions,
    ...(disconnectedAt !== undefined ? { disconnectedAt } : {}),
    ...(will !== undefined ? { will } : {}),
  };
}

// State-store key flag bits.
const K_FENCING = 1 << 0;
const K_EXPIRES_AT = 1 << 1;

function writeHlc(w: BinaryWriter, h: HlcRecord): void {
  w.f64(h.wall);
  w.f64(h.counter);
  w.str(h.node);
}

function readHlc(r: BinaryReader): HlcRecord {
  const wall = r.f64();
  const counter = r.f64();
  const node = r.str();
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(counter) || wall < 0 || counter < 0) throw new RecordFormatError('invalid HLC');
  return { wall, counter, node };
}

/** Encodes a persisted state-store key (record kind 4; the other kinds are unchanged). */
export function encodeStateStoreKey(record: StateStoreKeyRecord): Buffer {
  const w = header(RecordKind.StateStoreKey, 96 + record.key.length + record.value.length);
  w.u8((record.fencingToken !== undefined ? K_FENCING : 0) | (record.expiresAt !== undefined ? K_EXPIRES_AT : 0));
  w.bytes(record.key);
  w.bytes(record.value);
  writeHlc(w, record.version);
  if (record.fencingToken !== undefined) writeHlc(w, record.fencingToken);
  if (record.expiresAt !== undefined) w.f64(record.expiresAt);
  return w.finish();
}

/** Decodes a persisted state-store key; throws {@link RecordFormatError} on malformed bytes. */
export function decodeStateStoreKey(bytes: Buffer): StateStoreKeyRecord {
  const r = openRecord(bytes, RecordKind.StateStoreKey);
  const flags = r.u8();
  const key = r.bytes();
  const value = r.bytes();
  const version = readHlc(r);
  const fencingToken = flags & K_FENCING ? readHlc(r) : undefined;
  const expiresAt = flags & K_EXPIRES_AT ? r.f64() : undefined;
  r.end();
  return { key, value, version, ...(fencingToken !== undefined ? { fencingToken } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) };
}
