import { isUtf8 } from 'node:buffer';
import { AUTHENTICATION_DATA, AUTHENTICATION_METHOD, PROPERTY_RULES, type PropertySection, type PropertyType, type PropertyValue } from './property-rules.js';
import { PacketViolation } from './violation.js';

/**
 * Validates one property section in its wire form, before the codec turns it into an object
 * (where a repeated property would become an array, and a Byte of 2 would become `true`):
 * - the Property Length and every value lie inside the packet, and the values fill the section
 *   exactly (else Malformed Packet);
 * - every identifier is known and valid in `section` [MQTT-2.2.2-2] (else Malformed Packet);
 * - every value has its type: UTF-8 well-formed and without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]
 *   (else Malformed Packet);
 * - no property but User Property appears twice (else Protocol Error);
 * - the values are ones the protocol allows: booleans 0 or 1, no 0 where 0 is forbidden, no
 *   wildcard Response Topic, no Authentication Data without a Method (else Protocol Error).
 *
 * @param bytes holds the section at `from` (its Property Length); `packetEnd` is where the packet ends
 * @returns where the section ends
 * @throws PacketViolation
 */
export function validatePropertySection(bytes: Buffer, section: PropertySection, from = 0, packetEnd = bytes.length): number {
  const length = readVarint(bytes, from, packetEnd, 'Property Length');
  const start = length.next;
  const end = start + length.value;
  if (end > packetEnd) throw malformed(`the ${section} properties (${length.value} bytes) run past the end of the packet`);
  let seenLow = 0; // bit per identifier seen: 0x00..0x1f here, 0x20..0x3f in seenHigh (Table 2-4 ends at 0x2a)
  let seenHigh = 0;
  let pos = start;
  while (pos < end) {
    const id = bytes[pos] as number;
    pos++;
    const rule = PROPERTY_RULES.get(id);
    if (rule === undefined) throw malformed(`unknown property identifier 0x${id.toString(16).padStart(2, '0')}`);
    // [MQTT-2.2.2-2] an identifier not valid for its packet type makes the packet malformed
    if (!rule.sections.has(section)) throw malformed(`${rule.name} is not allowed in ${sectionName(section)}`);
    const value = readValue(bytes, pos, end, rule.type, rule.name, rule.check !== undefined);
    pos = value.next;
    const bit = 1 << (id & 31);
    const seen = id < 32 ? seenLow : seenHigh;
    if ((seen & bit) !== 0 && !rule.repeatable) throw protocolError(`${rule.name} appears more than once in ${sectionName(section)}`);
    if (id < 32) seenLow |= bit;
    else seenHigh |= bit;
    const problem = value.value === undefined ? undefined : rule.check?.(value.value);
    if (problem !== undefined) throw protocolError(`${rule.name}: ${problem}`);
  }
  if (section === 'connect' && (seenLow & (1 << AUTHENTICATION_DATA)) !== 0 && (seenLow & (1 << AUTHENTICATION_METHOD)) === 0) {
    // MQTT 5.0 3.1.2.11.10: Authentication Data without an Authentication Method is a Protocol Error
    throw protocolError('Authentication Data without an Authentication Method');
  }
  return end;
}

interface Read<T> {
  readonly value: T;
  readonly next: number;
}

/** Reads and type-checks one value; strings and binary data are decoded only when `decode` (a value check needs them). */
function readValue(bytes: Buffer, pos: number, end: number, type: PropertyType, name: string, decode: boolean): Read<PropertyValue | undefined> {
  switch (type) {
    case 'byte':
      need(pos, 1, end, name);
      return { value: bytes[pos] as number, next: pos + 1 };
    case 'two-byte':
      need(pos, 2, end, name);
      return { value: bytes.readUInt16BE(pos), next: pos + 2 };
    case 'four-byte':
      need(pos, 4, end, name);
      return { value: bytes.readUInt32BE(pos), next: pos + 4 };
    case 'varint':
      return readVarint(bytes, pos, end, name);
    case 'utf8': {
      const next = skipString(bytes, pos, end, name);
      return { value: decode ? bytes.toString('utf8', pos + 2, next) : undefined, next };
    }
    case 'binary': {
      const next = skipBinary(bytes, pos, end, name);
      return { value: decode ? bytes.subarray(pos + 2, next) : undefined, next };
    }
    case 'pair': {
      const middle = skipString(bytes, pos, end, name);
      const next = skipString(bytes, middle, end, name);
      return { value: decode ? [bytes.toString('utf8', pos + 2, middle), bytes.toString('utf8', middle + 2, next)] : undefined, next };
    }
  }
}

/** A Variable Byte Integer of at most four bytes [MQTT-1.5.5-1], inside `end`. */
function readVarint(bytes: Buffer, pos: number, end: number, name: string): Read<number> {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) throw malformed(`${name} is cut short`);
    const byte = bytes[pos + i] as number;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
    multiplier *= 128;
  }
  throw malformed(`${name} is a Variable Byte Integer longer than four bytes`); // [MQTT-1.5.5-1]
}

/** Checks that Binary Data at `pos` lies inside `end`; returns where it ends. */
function skipBinary(bytes: Buffer, pos: number, end: number, name: string): number {
  need(pos, 2, end, name);
  const next = pos + 2 + bytes.readUInt16BE(pos);
  if (next > end) throw malformed(`${name} runs past the end of its property section`);
  return next;
}

/** Checks a UTF-8 Encoded String at `pos` (inside `end`, well-formed, no U+0000) without copying it; returns where it ends. */
function skipString(bytes: Buffer, pos: number, end: number, name: string): number {
  const next = skipBinary(bytes, pos, end, name);
  let ascii = true;
  for (let i = pos + 2; i < next; i++) {
    const byte = bytes[i] as number;
    if (byte === 0) throw malformed(`${name} contains U+0000`); // [MQTT-1.5.4-2] (in UTF-8, only U+0000 has a 0x00 byte)
    if (byte >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(bytes.subarray(pos + 2, next))) throw malformed(`${name} is not well-formed UTF-8`); // [MQTT-1.5.4-1]
  return next;
}

function need(pos: number, count: number, end: number, name: string): void {
  if (pos + count > end) throw malformed(`${name} runs past the end of its property section`);
}

function sectionName(section: PropertySection): string {
  return section === 'will' ? 'the will properties' : `a ${section.toUpperCase()}`;
}

function malformed(message: string): PacketViolation {
  return new PacketViolation('malformed', message);
}

function protocolError(message: string): PacketViolation {
  return new PacketViolation('protocol-error', message);
}
