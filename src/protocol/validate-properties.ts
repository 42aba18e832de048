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
 * @param bytes the packet from the Property Length to the end of the packet
 * @returns the length of the section (Property Length included)
 * @throws PacketViolation
 */
export function validatePropertySection(bytes: Buffer, section: PropertySection): number {
  const length = readVarint(bytes, 0, bytes.length, 'Property Length');
  const start = length.next;
  const end = start + length.value;
  if (end > bytes.length) throw malformed(`the ${section} properties (${length.value} bytes) run past the end of the packet`);
  const seen = new Set<number>();
  let pos = start;
  while (pos < end) {
    const id = bytes[pos] as number;
    pos++;
    const rule = PROPERTY_RULES.get(id);
    if (rule === undefined) throw malformed(`unknown property identifier 0x${id.toString(16).padStart(2, '0')}`);
    // [MQTT-2.2.2-2] an identifier not valid for its packet type makes the packet malformed
    if (!rule.sections.has(section)) throw malformed(`${rule.name} is not allowed in ${sectionName(section)}`);
    const value = readValue(bytes, pos, end, rule.type, rule.name);
    pos = value.next;
    if (seen.has(id) && !rule.repeatable) throw protocolError(`${rule.name} appears more than once in ${sectionName(section)}`);
    seen.add(id);
    const problem = rule.check?.(value.value);
    if (problem !== undefined) throw protocolError(`${rule.name}: ${problem}`);
  }
  if (seen.has(AUTHENTICATION_DATA) && !seen.has(AUTHENTICATION_METHOD) && section === 'connect') {
    // MQTT 5.0 3.1.2.11.10: Authentication Data without an Authentication Method is a Protocol Error
    throw protocolError('Authentication Data without an Authentication Method');
  }
  return end;
}

interface Read<T> {
  readonly value: T;
  readonly next: number;
}

function readValue(bytes: Buffer, pos: number, end: number, type: PropertyType, name: string): Read<PropertyValue> {
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
    case 'utf8':
      return readString(bytes, pos, end, name);
    case 'binary': {
      const data = readBinary(bytes, pos, end, name);
      return { value: data.value, next: data.next };
    }
    case 'pair': {
      const key = readString(bytes, pos, end, name);
      const value = readString(bytes, key.next, end, name);
      return { value: [key.value, value.value], next: value.next };
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

function readBinary(bytes: Buffer, pos: number, end: number, name: string): Read<Buffer> {
  need(pos, 2, end, name);
  const length = bytes.readUInt16BE(pos);
  need(pos + 2, length, end, name);
  return { value: bytes.subarray(pos + 2, pos + 2 + length), next: pos + 2 + length };
}

function readString(bytes: Buffer, pos: number, end: number, name: string): Read<string> {
  const raw = readBinary(bytes, pos, end, name);
  if (!isUtf8(raw.value)) throw malformed(`${name} is not well-formed UTF-8`); // [MQTT-1.5.4-1]
  const value = raw.value.toString('utf8');
  if (value.includes('\u0000')) throw malformed(`${name} contains U+0000`); // [MQTT-1.5.4-2]
  return { value, next: raw.next };
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
