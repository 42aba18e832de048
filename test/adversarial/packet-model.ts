/**
 * MQTT packets as fields, for the property-aware fuzzer: every length prefix, property and flag is
 * a value that a mutation can change (repeat, drop or corrupt a property, give a field a wrong
 * length, zero an id), and {@link encodePacket} writes exactly what the model says, however wrong.
 */
import { varInt } from '../helpers/bad-input.js';

/** How a property's value is encoded on the wire [MQTT 2.2.2.2]. */
export type PropType = 'byte' | 'u16' | 'u32' | 'varint' | 'str' | 'bin' | 'pair';

/** The wire type of every v5 property id. */
export const PROPERTY_TYPES: Readonly<Record<number, PropType>> = {
  0x01: 'byte', // Payload Format Indicator
  0x02: 'u32', // Message Expiry Interval
  0x03: 'str', // Content Type
  0x08: 'str', // Response Topic
  0x09: 'bin', // Correlation Data
  0x0b: 'varint', // Subscription Identifier
  0x11: 'u32', // Session Expiry Interval
  0x12: 'str', // Assigned Client Identifier
  0x13: 'u16', // Server Keep Alive
  0x15: 'str', // Authentication Method
  0x16: 'bin', // Authentication Data
  0x17: 'byte', // Request Problem Information
  0x18: 'u32', // Will Delay Interval
  0x19: 'byte', // Request Response Information
  0x1a: 'str', // Response Information
  0x1c: 'str', // Server Reference
  0x1f: 'str', // Reason String
  0x21: 'u16', // Receive Maximum
  0x22: 'u16', // Topic Alias Maximum
  0x23: 'u16', // Topic Alias
  0x24: 'byte', // Maximum QoS
  0x25: 'byte', // Retain Available
  0x26: 'pair', // User Property
  0x27: 'u32', // Maximum Packet Size
  0x28: 'byte', // Wildcard Subscription Available
  0x29: 'byte', // Subscription Identifier Available
  0x2a: 'byte', // Shared Subscription Available
};

/** A property value as encoded: a number for the integer types, bytes for strings and binary, two byte strings for a pair. */
export type PropValue = number | Buffer | readonly [Buffer, Buffer];

/** One property; `as` encodes the value as another type than the id's (a wrong-type mutation). */
export interface Prop {
  id: number;
  value: PropValue;
  as?: PropType;
}

/** One field of a packet after the fixed header. `length` overrides a length prefix (a wrong-length mutation). */
export type Part =
  | { kind: 'u8'; value: number; role?: 'connect-flags' | 'sub-options' | 'reason' | 'level' }
  | { kind: 'u16'; value: number; role?: 'packet-id' | 'keepalive' }
  | { kind: 'str'; value: Buffer; length?: number; role?: 'topic' | 'client-id' | 'filter' | 'protocol-name' }
  | { kind: 'bin'; value: Buffer; length?: number }
  | { kind: 'raw'; value: Buffer }
  | { kind: 'props'; props: Prop[]; length?: number; role?: 'will' };

/** A packet: type and flags of the fixed header, then its fields; `remaining` overrides the Remaining Length. */
export interface PacketModel {
  type: number;
  flags: number;
  parts: Part[];
  remaining?: number;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function prefixed(value: Buffer, length?: number): Buffer {
  return Buffer.concat([u16(length ?? value.length), value]);
}

function asBytes(value: PropValue): Buffer {
  if (typeof value === 'number') return Buffer.from(String(value));
  if (Buffer.isBuffer(value)) return value;
  return Buffer.concat([value[0], value[1]]);
}

function asNumber(value: PropValue): number {
  if (typeof value === 'number') return value;
  const bytes = asBytes(value);
  return bytes.length === 0 ? 0 : (bytes[0] as number);
}

/** A property value in a wire type (its own, or a wrong one). */
function encodeValue(type: PropType, value: PropValue): Buffer {
  switch (type) {
    case 'byte':
      return Buffer.from([asNumber(value) & 0xff]);
    case 'u16':
      return u16(asNumber(value));
    case 'u32':
      return u32(asNumber(value));
    case 'varint':
      return Buffer.from(varInt(Math.min(Math.max(asNumber(value), 0), 268_435_455)));
    case 'str':
    case 'bin':
      return prefixed(asBytes(value));
    case 'pair':
      return Array.isArray(value) ? Buffer.concat([prefixed(value[0]), prefixed(value[1])]) : Buffer.concat([prefixed(asBytes(value)), prefixed(Buffer.alloc(0))]);
  }
}

/** A property block: its length, then each property (id as a Variable Byte Integer, then its value). */
export function encodeProps(props: readonly Prop[], length?: number): Buffer {
  const body = Buffer.concat(props.map((p) => Buffer.concat([Buffer.from(varInt(p.id)), encodeValue(p.as ?? PROPERTY_TYPES[p.id] ?? 'byte', p.value)])));
  return Buffer.concat([Buffer.from(varInt(length ?? body.length)), body]);
}

function encodePart(part: Part): Buffer {
  switch (part.kind) {
    case 'u8':
      return Buffer.from([part.value & 0xff]);
    case 'u16':
      return u16(part.value);
    case 'str':
    case 'bin':
      return prefixed(part.value, part.length);
    case 'raw':
      return part.value;
    case 'props':
      return encodeProps(part.props, part.length);
  }
}

/** The packet's bytes, exactly as modelled. */
export function encodePacket(model: PacketModel): Buffer {
  const body = Buffer.concat(model.parts.map(encodePart));
  return Buffer.concat([Buffer.from([((model.type & 0x0f) << 4) | (model.flags & 0x0f), ...varInt(model.remaining ?? body.length)]), body]);
}

/** A deep copy (mutations change the copy, never the corpus). */
export function clonePacket(model: PacketModel): PacketModel {
  return {
    type: model.type,
    flags: model.flags,
    ...(model.remaining !== undefined ? { remaining: model.remaining } : {}),
    parts: model.parts.map((part): Part => (part.kind === 'props' ? { ...part, props: part.props.map((p) => ({ ...p })) } : { ...part })),
  };
}
