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
import {
  M_CONTENT_TYPE,
  M_CORRELATION,
  M_EXPIRES_AT,
  M_EXPIRY_SET,
  M_EXPIRY_SET_PRESENT,
  M_PFI,
  M_PFI_PRESENT,
  M_PROPS,
  M_RESPONSE_TOPIC,
  M_RETAIN,
  M_SENDER,
  M_USER_PROPS,
  messageBytes,
  Q_PACKET_ID,
  Q_RELEASED,
  Q_GROUP,
  Q_RELEASED_PRESENT,
  Q_RETAIN,
  Q_SUB_IDS,
  queueEntryBytes,
  RECORD_CODEC_VERSION,
  RecordKind,
  retainedBytes,
  writeMessageAt,
  writeQueueEntryAt,
  writeRetainedAt,
} from './message-codec.js';

/**
 * Versioned binary encoding of the store's records. Layout: `[codec version u8][kind u8][fields]`.
 * Buffers (payload, correlation data) are stored as raw length-prefixed bytes and round-trip
 * exactly; optional fields carry a presence bit, so `false` and absent stay distinct; user
 * properties keep their order and duplicates. A newer codec version must still read version 1.
 * Messages and queue entries are written by the exact-size encoders of message-codec.ts.
 */
export { RECORD_CODEC_VERSION, RecordKind } from './message-codec.js';

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
  w.fill(messageBytes(m), (out, at) => writeMessageAt(out, at, m));
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
    const userProperties = flags & M_USER_PROPS ? r.strPairs() : undefined;
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
  const out = Buffer.allocUnsafe(retainedBytes(message));
  writeRetainedAt(out, 0, message);
  return out;
}

/** Decodes a retained message; throws {@link RecordFormatError} on malformed bytes. */
export function decodeRetained(bytes: Buffer): MessageRecord {
  const r = openRecord(bytes, RecordKind.Retained);
  const message = readMessage(r);
  r.end();
  return message;
}

/** Encodes a queue entry. */
export function encodeQueueEntry(entry: QueueEntryRecord): Buffer {
  const out = Buffer.allocUnsafe(queueEntryBytes(entry));
  writeQueueEntryAt(out, 0, entry);
  return out;
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
  const group = flags & Q_GROUP ? { name: r.str(), topicFilter: r.str() } : undefined;
  r.end();
  return {
    seq,
    message,
    qos,
    retain: (flags & Q_RETAIN) !== 0,
    ...(subscriptionIds !== undefined ? { subscriptionIds } : {}),
    ...(packetId !== undefined ? { packetId } : {}),
    ...(flags & Q_RELEASED_PRESENT ? { released: (flags & Q_RELEASED) !== 0 } : {}),
    ...(group !== undefined ? { group } : {}),
  };
}

// Session and subscription flag bits.
const S_DISCONNECTED_AT = 1 << 0;
const S_WILL = 1 << 1;
const S_PERSIST_QUEUE_PRESENT = 1 << 2;
const S_PERSIST_QUEUE = 1 << 3;
/** The record ends with the owner's principal (records written before owners have no such bit). */
const S_OWNER = 1 << 4;
/** The record ends with the CONNECT's user properties (after the owner, when both are present). */
const S_CONNECT_PROPS = 1 << 5;
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
      (session.persistQueue !== undefined ? S_PERSIST_QUEUE_PRESENT | (session.persistQueue ? S_PERSIST_QUEUE : 0) : 0) |
      (session.owner !== undefined ? S_OWNER : 0) |
      (session.connectUserProperties !== undefined ? S_CONNECT_PROPS : 0),
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
  if (session.owner !== undefined) w.str(session.owner);
  if (session.connectUserProperties !== undefined) w.strPairs(session.connectUserProperties);
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
  const owner = flags & S_OWNER ? r.str() : undefined;
  const connectUserProperties = flags & S_CONNECT_PROPS ? r.strPairs() : undefined;
  r.end();
  return {
    clientId,
    protocolVersion,
    expiryIntervalSeconds,
    ...(flags & S_PERSIST_QUEUE_PRESENT ? { persistQueue: (flags & S_PERSIST_QUEUE) !== 0 } : {}),
    ...(owner !== undefined ? { owner } : {}),
    ...(connectUserProperties !== undefined ? { connectUserProperties } : {}),
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
