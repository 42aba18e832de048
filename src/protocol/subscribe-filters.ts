/**
 * Large SUBSCRIBE packets, decoded lazily. mqtt-packet decodes a SUBSCRIBE whole,
 * one object per filter: 1,000,000 filters took over a second of one event-loop turn. A SUBSCRIBE
 * above {@link LAZY_SUBSCRIBE_BYTES} is split by the framer instead: mqtt-packet decodes its head
 * (packet id, properties, first filter) and the rest of its filters are read on demand by a
 * {@link SubscribeFilterReader}, a slice at a time, by the SUBSCRIBE handler.
 */
import { isUtf8 } from 'node:buffer';
import type { SubscribePacket, SubscriptionRequest } from './packets.js';
import { varIntLength as encodedVarIntLength, writeVarInt } from './encoder.js';

/** A SUBSCRIBE bigger than this (bytes, whole packet) has its filters after the first read lazily. */
export const LAZY_SUBSCRIBE_BYTES = 16 * 1024;

/** Reads the subscription requests of a SUBSCRIBE payload one at a time, with the checks mqtt-packet makes. */
export class SubscribeFilterReader {
  readonly #bytes: Buffer;
  readonly #version: 4 | 5;
  #at = 0;

  /**
   * @param bytes the payload after the first filter (topic filter, options byte, repeated)
   * @param version protocol level of the connection
   */
  constructor(bytes: Buffer, version: 4 | 5) {
    this.#bytes = bytes;
    this.#version = version;
  }

  /** Starts again from the first filter. */
  rewind(): void {
    this.#at = 0;
  }

  /**
   * The next request; `undefined` after the last, or a string saying why the payload is malformed
   * [MQTT-3.8.3-1] [MQTT-3.8.3-5] [MQTT-1.5.4-1] (then `undefined` until {@link rewind}).
   */
  next(): SubscriptionRequest | string | undefined {
    const result = this.#read();
    if (typeof result === 'string') this.#at = this.#bytes.length;
    return result;
  }

  #read(): SubscriptionRequest | string | undefined {
    const bytes = this.#bytes;
    const at = this.#at;
    if (at >= bytes.length) return undefined;
    if (at + 2 > bytes.length) return 'truncated topic filter length';
    const end = at + 2 + bytes.readUInt16BE(at);
    if (end + 1 > bytes.length) return 'topic filter or its options past the end of the packet';
    const topic = bytes.toString('utf8', at + 2, end);
    if (topic.includes('\uFFFD') && !isUtf8(bytes.subarray(at + 2, end))) return 'ill-formed UTF-8 in a topic filter'; // [MQTT-1.5.4-1]
    if (topic.includes('\u0000')) return 'U+0000 in a topic filter'; // [MQTT-1.5.4-2]
    const options = bytes[end] as number;
    this.#at = end + 1;
    // [MQTT-3.8.3-5] reserved bits: 7-6 on v5, 7-2 on 3.1.1 [MQTT-3-8.3-4]
    if ((options & (this.#version === 5 ? 0xc0 : 0xfc)) !== 0) return 'reserved subscription option bits set';
    const qos = options & 0x03;
    if (qos > 2) return 'QoS 3 in a subscription'; // [MQTT-3-8.3-4]
    if (this.#version === 4) return { topic, qos: qos as 0 | 1 | 2 };
    const rh = (options >> 4) & 0x03;
    if (rh > 2) return 'Retain Handling 3'; // MQTT 5.0 3.8.3.1: 3 is a Protocol Error
    return { topic, qos: qos as 0 | 1 | 2, nl: (options & 0x04) !== 0, rap: (options & 0x08) !== 0, rh };
  }
}

/** The lazily read rest of each large SUBSCRIBE, keyed by its decoded head. */
const lazyRest = new WeakMap<SubscribePacket, SubscribeFilterReader>();

/** The reader of the filters after `packet.subscriptions` (the first), when the packet was split; else undefined. */
export function moreFilters(packet: SubscribePacket): SubscribeFilterReader | undefined {
  return lazyRest.get(packet);
}

/** @internal the framer attaches the rest of a split SUBSCRIBE to its decoded head. */
export function attachMoreFilters(packet: SubscribePacket, reader: SubscribeFilterReader): void {
  lazyRest.set(packet, reader);
}

/** Bytes of a Variable Byte Integer at `at`, or -1 when it is not one. */
function varIntLength(bytes: Buffer, at: number): number {
  for (let i = 0; i < 4; i++) {
    if (at + i >= bytes.length) return -1;
    if (((bytes[at + i] as number) & 0x80) === 0) return i + 1;
  }
  return -1;
}

function readVarInt(bytes: Buffer, at: number, length: number): number {
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 128 + ((bytes[at + i] as number) & 0x7f);
  return value;
}

/** The Variable Byte Integer encoding of `value` (encoder.ts writes it). */
function encodeVarInt(value: number): Buffer {
  const out = Buffer.alloc(encodedVarIntLength(value));
  writeVarInt(out, 0, value);
  return out;
}

/**
 * Splits a whole SUBSCRIBE packet into a head packet (fixed header rewritten; packet id,
 * properties, first filter) for mqtt-packet and the rest of the payload. `undefined` when the
 * packet has a single filter or its framing is not as expected (then it is decoded whole, and
 * mqtt-packet reports what is wrong).
 */
export function splitSubscribe(packet: Buffer, version: 4 | 5): { head: Buffer; rest: Buffer } | undefined {
  const remainingLength = varIntLength(packet, 1);
  if (remainingLength < 0) return undefined;
  const bodyStart = 1 + remainingLength;
  let at = bodyStart + 2; // packet identifier
  if (version === 5) {
    const propertyLength = varIntLength(packet, at);
    if (propertyLength < 0) return undefined;
    at += propertyLength + readVarInt(packet, at, propertyLength);
  }
  if (at + 2 > packet.length) return undefined;
  const firstEnd = at + 2 + packet.readUInt16BE(at) + 1;
  if (firstEnd >= packet.length) return undefined; // one filter, or truncated: decode it whole
  const body = packet.subarray(bodyStart, firstEnd);
  return { head: Buffer.concat([packet.subarray(0, 1), encodeVarInt(body.length), body]), rest: packet.subarray(firstEnd) };
}
