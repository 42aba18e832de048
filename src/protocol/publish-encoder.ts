import { varIntLength, writeVarInt } from './encoder.js';
import type { UserProperty } from './user-properties.js';

/** v5 PUBLISH properties that are forwarded unchanged from publisher to subscribers [MQTT-3.3.2-*]. */
export interface ForwardedProperties {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** In wire order [MQTT-3.3.2-18]. */
  userProperties?: readonly UserProperty[];
}

/**
 * The per-message bytes every delivery shares: the topic and the v5 properties forwarded
 * unchanged. Built once per message, reused for every subscriber.
 */
export interface PublishTemplate {
  readonly topic: Buffer;
  /** Encoded forwarded v5 properties (without length prefix); empty when none. */
  readonly properties: Buffer;
  readonly payload: Buffer;
}

/** One delivery of a message to one connection. */
export interface PublishDelivery {
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  /** Packet identifier, for QoS 1 and 2. */
  packetId: number;
  /** Topic alias to send; with `aliasOnly` the topic name is sent empty [MQTT-3.3.2-12]. */
  topicAlias: number;
  aliasOnly: boolean;
  /** Remaining message expiry in seconds, or -1 for none [MQTT-3.3.2-6]. */
  messageExpiry: number;
  /** Subscription identifiers of the matching subscriptions [MQTT-3.3.4-3]. */
  subscriptionIds: readonly number[] | undefined;
}

const PROP_PAYLOAD_FORMAT = 0x01;
const PROP_MESSAGE_EXPIRY = 0x02;
const PROP_CONTENT_TYPE = 0x03;
const PROP_RESPONSE_TOPIC = 0x08;
const PROP_CORRELATION_DATA = 0x09;
const PROP_SUBSCRIPTION_ID = 0x0b;
const PROP_TOPIC_ALIAS = 0x23;
const PROP_USER_PROPERTY = 0x26;

/** Longest UTF-8 string of a PUBLISH (topic, string properties, Correlation Data): a two-byte length [MQTT-1.5.4-1]. */
const MAX_STRING_BYTES = 65_535;

/**
 * Builds the shared part of a message's PUBLISH packets. Throws (RangeError, TypeError) when the
 * message cannot be encoded: a property of the wrong type, or a string over 65,535 bytes.
 */
export function createPublishTemplate(topic: string, payload: Buffer, forwarded: ForwardedProperties | undefined): PublishTemplate {
  const topicBytes = Buffer.from(topic, 'utf8');
  if (topicBytes.length > MAX_STRING_BYTES) throw new RangeError(`topic of ${topicBytes.length} bytes: at most ${MAX_STRING_BYTES}`);
  return { topic: topicBytes, properties: encodeForwarded(forwarded), payload };
}

/** Encodes the forwarded properties into one buffer (sizes first, then one allocation, no per-string buffers). */
function encodeForwarded(p: ForwardedProperties | undefined): Buffer {
  if (p === undefined) return EMPTY;
  let size = 0;
  if (p.payloadFormatIndicator !== undefined) size += 2;
  if (p.contentType !== undefined) size += 3 + Buffer.byteLength(p.contentType, 'utf8');
  if (p.responseTopic !== undefined) size += 3 + Buffer.byteLength(p.responseTopic, 'utf8');
  if (p.correlationData !== undefined) size += 3 + p.correlationData.length;
  if (p.userProperties !== undefined) {
    for (const [name, value] of p.userProperties) size += 5 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  if (size === 0) return EMPTY;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  if (p.payloadFormatIndicator !== undefined) {
    out[o++] = PROP_PAYLOAD_FORMAT;
    out[o++] = p.payloadFormatIndicator ? 1 : 0;
  }
  if (p.contentType !== undefined) o = writeString(out, o, PROP_CONTENT_TYPE, p.contentType);
  if (p.responseTopic !== undefined) o = writeString(out, o, PROP_RESPONSE_TOPIC, p.responseTopic);
  if (p.correlationData !== undefined) {
    out[o] = PROP_CORRELATION_DATA;
    out.writeUInt16BE(p.correlationData.length, o + 1);
    o += 3 + p.correlationData.copy(out, o + 3);
  }
  if (p.userProperties !== undefined) {
    // [MQTT-3.3.2-18] user properties forwarded in the order received
    for (const [name, value] of p.userProperties) {
      out[o++] = PROP_USER_PROPERTY;
      o = writeUtf8(out, o, name);
      o = writeUtf8(out, o, value);
    }
  }
  return out;
}

const EMPTY = Buffer.alloc(0);

/** A string property: id, then the length-prefixed UTF-8 string. */
function writeString(out: Buffer, o: number, id: number, value: string): number {
  out[o] = id;
  return writeUtf8(out, o + 1, value);
}

/** A length-prefixed UTF-8 string; returns the next offset. */
function writeUtf8(out: Buffer, o: number, value: string): number {
  const n = out.write(value, o + 2, 'utf8');
  out.writeUInt16BE(n, o);
  return o + 2 + n;
}

/** Length of the v5 property section for a delivery (without its own length prefix). */
function propertiesLength(t: PublishTemplate, d: PublishDelivery): number {
  let n = t.properties.length;
  if (d.messageExpiry >= 0) n += 5;
  if (d.topicAlias > 0) n += 3;
  if (d.subscriptionIds !== undefined) for (const id of d.subscriptionIds) n += 1 + varIntLength(id);
  return n;
}

/** Encoded size of the PUBLISH for this delivery, to compare with the client's Maximum Packet Size. */
export function publishSize(t: PublishTemplate, d: PublishDelivery, version: 4 | 5): number {
  const remaining = remainingLength(t, d, version);
  return 1 + varIntLength(remaining) + remaining;
}

function remainingLength(t: PublishTemplate, d: PublishDelivery, version: 4 | 5): number {
  let n = 2 + (d.aliasOnly ? 0 : t.topic.length) + t.payload.length;
  if (d.qos > 0) n += 2;
  if (version === 5) {
    const props = propertiesLength(t, d);
    n += varIntLength(props) + props;
  }
  return n;
}

/** Encodes one PUBLISH into a single buffer (one copy of the payload). */
export function encodePublish(t: PublishTemplate, d: PublishDelivery, version: 4 | 5): Buffer {
  const remaining = remainingLength(t, d, version);
  const out = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
  out[0] = 0x30 | (d.dup ? 0x08 : 0) | (d.qos << 1) | (d.retain ? 1 : 0);
  let o = writeVarInt(out, 1, remaining);
  const topicLen = d.aliasOnly ? 0 : t.topic.length;
  out.writeUInt16BE(topicLen, o);
  o += 2;
  if (topicLen > 0) o += t.topic.copy(out, o);
  if (d.qos > 0) {
    out.writeUInt16BE(d.packetId, o);
    o += 2;
  }
  if (version === 5) {
    o = writeVarInt(out, o, propertiesLength(t, d));
    if (d.messageExpiry >= 0) {
      out[o++] = PROP_MESSAGE_EXPIRY;
      out.writeUInt32BE(d.messageExpiry, o);
      o += 4;
    }
    if (d.topicAlias > 0) {
      out[o++] = PROP_TOPIC_ALIAS;
      out.writeUInt16BE(d.topicAlias, o);
      o += 2;
    }
    if (d.subscriptionIds !== undefined) {
      for (const id of d.subscriptionIds) {
        out[o++] = PROP_SUBSCRIPTION_ID;
        o = writeVarInt(out, o, id);
      }
    }
    o += t.properties.copy(out, o);
  }
  t.payload.copy(out, o);
  return out;
}
