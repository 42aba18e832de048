import { varInt } from './bad-input.js';

/**
 * Builders for MQTT packets as raw bytes, field by field, for input no encoder would produce:
 * repeated or misplaced properties, wrong values, trailing bytes, reserved bits. Used with
 * RawClient.sendBytes.
 */

/** Bytes of one field or a sequence of them. */
export type Bytes = Buffer | readonly number[];

function buf(bytes: Bytes): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
}

/** Concatenation of fields. */
export function cat(...parts: Bytes[]): Buffer {
  return Buffer.concat(parts.map(buf));
}

/** Two Byte Integer. */
export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** Four Byte Integer. */
export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** Variable Byte Integer. */
export function vbi(value: number): Buffer {
  return Buffer.from(varInt(value));
}

/** UTF-8 Encoded String (the text, or its raw bytes for ill-formed input). */
export function str(text: string | Bytes): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : buf(text);
  return cat(u16(bytes.length), bytes);
}

/** Binary Data. */
export function bin(data: Bytes): Buffer {
  return cat(u16(buf(data).length), data);
}

/** A whole packet: the first byte (type and flags), the Remaining Length, then the rest. */
export function packet(first: number, ...rest: Bytes[]): Buffer {
  const body = cat(...rest);
  return cat([first], vbi(body.length), body);
}

/** A property section: Property Length, then the properties (each `prop(...)`). */
export function props(...properties: Bytes[]): Buffer {
  const body = cat(...properties);
  return cat(vbi(body.length), body);
}

/** One property: identifier and value bytes. */
export function prop(id: number, value: Bytes): Buffer {
  return cat([id], value);
}

/** Property identifiers (MQTT 5.0 Table 2-4). */
export const P = {
  payloadFormat: 0x01,
  messageExpiry: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionId: 0x0b,
  sessionExpiry: 0x11,
  authMethod: 0x15,
  authData: 0x16,
  requestProblem: 0x17,
  willDelay: 0x18,
  requestResponse: 0x19,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
} as const;

/** Fields of a CONNECT (unset: a plain clean v5 CONNECT without will, user name or password). */
export interface ConnectFields {
  level?: number;
  protocolName?: string;
  /** Replaces the computed connect flags byte. */
  flags?: number;
  clean?: boolean;
  keepAlive?: number;
  /** v5 CONNECT properties (bytes of `props(...)`); default: none. */
  properties?: Bytes;
  clientId?: string | Bytes;
  will?: { qos?: number; retain?: boolean; properties?: Bytes; topic: string | Bytes; payload?: Bytes };
  username?: string | Bytes;
  password?: Bytes;
  /** Bytes appended after the last field. */
  trailing?: Bytes;
}

/** A CONNECT as bytes; the connect flags follow the fields given unless `flags` replaces them. */
export function connectBytes(f: ConnectFields = {}): Buffer {
  const level = f.level ?? 5;
  const v5 = level === 5;
  let flags = f.clean === false ? 0 : 0x02;
  if (f.will !== undefined) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain === true ? 0x20 : 0);
  if (f.password !== undefined) flags |= 0x40;
  if (f.username !== undefined) flags |= 0x80;
  const parts: Bytes[] = [str(f.protocolName ?? 'MQTT'), [level, f.flags ?? flags], u16(f.keepAlive ?? 0)];
  if (v5) parts.push(f.properties ?? [0]);
  parts.push(str(f.clientId ?? ''));
  if (f.will !== undefined) {
    if (v5) parts.push(f.will.properties ?? [0]);
    parts.push(str(f.will.topic), bin(f.will.payload ?? []));
  }
  if (f.username !== undefined) parts.push(str(f.username));
  if (f.password !== undefined) parts.push(bin(f.password));
  if (f.trailing !== undefined) parts.push(f.trailing);
  return packet(0x10, ...parts);
}

/** A PUBLISH as bytes (v5 when `properties` is given, else 3.1.1 layout unless `v5`). */
export function publishBytes(f: { topic: string | Bytes; qos?: number; dup?: boolean; retain?: boolean; packetId?: number; properties?: Bytes; v5?: boolean; payload?: Bytes }): Buffer {
  const qos = f.qos ?? 0;
  const first = 0x30 | (f.dup === true ? 0x08 : 0) | (qos << 1) | (f.retain === true ? 0x01 : 0);
  const v5 = f.v5 ?? f.properties !== undefined;
  return packet(first, str(f.topic), qos > 0 ? u16(f.packetId ?? 1) : [], v5 ? (f.properties ?? [0]) : [], f.payload ?? Buffer.from('x'));
}

/** A SUBSCRIBE as bytes: each filter with its options byte. */
export function subscribeBytes(f: { packetId?: number; properties?: Bytes; v5?: boolean; filters: [filter: string | Bytes, options: number][] }): Buffer {
  const v5 = f.v5 ?? true;
  return packet(0x82, u16(f.packetId ?? 1), v5 ? (f.properties ?? [0]) : [], ...f.filters.map(([filter, options]) => cat(str(filter), [options])));
}

/** An UNSUBSCRIBE as bytes. */
export function unsubscribeBytes(f: { packetId?: number; properties?: Bytes; v5?: boolean; filters: (string | Bytes)[] }): Buffer {
  const v5 = f.v5 ?? true;
  return packet(0xa2, u16(f.packetId ?? 1), v5 ? (f.properties ?? [0]) : [], ...f.filters.map((filter) => str(filter)));
}
