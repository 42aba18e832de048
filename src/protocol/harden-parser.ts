import type { PropertySection } from './property-rules.js';
import { validatePropertySection } from './validate-properties.js';
import { PacketViolation } from './violation.js';

/** The mqtt-packet parser internals the hardening wraps (positions are relative to the packet's variable header). */
export interface HardenableParser {
  _pos: number;
  _list: { length: number; slice(start: number, end: number): Buffer; readUInt8(offset: number): number; _bufs?: Buffer[] };
  packet: { cmd: string; length: number; clientId?: string; reasonCode?: number };
  settings: { protocolVersion?: number };
  _parseProperties(): object | false;
  _parseConnect(): unknown;
  _parseDisconnect(): unknown;
  _parseAuth(): unknown;
  _parseSubscribe(): unknown;
  _emitError(error: Error): void;
}

const SECTIONS: ReadonlySet<string> = new Set(['connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth']);

/**
 * Makes an mqtt-packet parser refuse what it would let through:
 * - each property section is validated in its wire form before it is decoded
 *   (validate-properties.ts), so no handler sees a repeated, misplaced or ill-typed property;
 * - a v5 DISCONNECT or AUTH of Remaining Length 0 is reason 0x00 without properties (mqtt-packet
 *   would read the next packet's bytes as its reason code), and one of length 1 has no properties
 *   (MQTT 5.0 3.14.2.1, 3.15.2.1);
 * - a CONNECT of a protocol level other than 3, 4 or 5 is reported as such, so it can be answered
 *   with return code 0x01 [MQTT-3.1.2-2]; "MQIsdp" names only level 3;
 * - an MQTT 5 SUBSCRIBE asking for QoS 3 or Retain Handling 3 is a Protocol Error (MQTT 5.0
 *   3.8.3.1), not the Malformed Packet mqtt-packet reports (that stays for reserved bits [MQTT-3.8.3-5]).
 */
export function hardenParser(parser: HardenableParser): void {
  const parseProperties = parser._parseProperties;
  const parseConnect = parser._parseConnect;
  const parseDisconnect = parser._parseDisconnect;
  const parseAuth = parser._parseAuth;
  const parseSubscribe = parser._parseSubscribe;

  parser._parseProperties = function (this: HardenableParser) {
    const packet = this.packet;
    const end = packet.length;
    const cmd = packet.cmd;
    if ((cmd === 'disconnect' || cmd === 'auth') && this._pos >= end) return {}; // Property Length omitted: 0
    const section: PropertySection | undefined = cmd === 'connect' ? (packet.clientId === undefined ? 'connect' : 'will') : SECTIONS.has(cmd) ? (cmd as PropertySection) : undefined;
    if (section !== undefined && !(this._pos < end && this._list.readUInt8(this._pos) === 0)) {
      // (a Property Length of 0 inside the packet is valid everywhere: nothing to check)
      try {
        if (this._pos > end) throw new PacketViolation('malformed', `the ${cmd.toUpperCase()} fields run past its Remaining Length`);
        // the decoder parses one buffer at a time: read it in place rather than through a slice
        const bufs = this._list._bufs;
        if (bufs?.length === 1) validatePropertySection(bufs[0] as Buffer, section, this._pos, end);
        else validatePropertySection(this._list.slice(this._pos, end), section);
      } catch (error) {
        this._emitError(error instanceof Error ? error : new Error(String(error)));
        return false;
      }
    }
    return parseProperties.call(this);
  };

  parser._parseDisconnect = function (this: HardenableParser) {
    if (this.settings.protocolVersion === 5 && this.packet.length === 0) {
      this.packet.reasonCode = 0; // MQTT 5.0 3.14.2.1: no Reason Code means 0x00 Normal disconnection
      return true;
    }
    return parseDisconnect.call(this);
  };

  parser._parseAuth = function (this: HardenableParser) {
    if (this.settings.protocolVersion === 5 && this.packet.length === 0) {
      this.packet.reasonCode = 0; // MQTT 5.0 3.15.2.1: Remaining Length 0 means 0x00 Success, no properties
      return true;
    }
    return parseAuth.call(this);
  };

  parser._parseSubscribe = function (this: HardenableParser) {
    const problem = this.settings.protocolVersion === 5 ? subscriptionOptionsProblem(this._list.slice(0, this.packet.length)) : undefined;
    if (problem !== undefined) {
      this._emitError(problem);
      return undefined;
    }
    return parseSubscribe.call(this);
  };

  parser._parseConnect = function (this: HardenableParser) {
    const problem = connectLevelProblem(this);
    if (problem !== undefined) {
      this._emitError(problem);
      return undefined;
    }
    return parseConnect.call(this);
  };
}

/** A CONNECT whose protocol name is MQTT's but whose level is not one the broker knows. */
function connectLevelProblem(parser: HardenableParser): PacketViolation | undefined {
  const list = parser._list;
  const end = Math.min(list.length, parser.packet.length);
  if (end < 2) return undefined; // mqtt-packet reports the short packet
  const nameLength = (list.readUInt8(0) << 8) | list.readUInt8(1);
  if (2 + nameLength >= end) return undefined;
  const name = list.slice(2, 2 + nameLength).toString('latin1');
  if (name !== 'MQTT' && name !== 'MQIsdp') return undefined; // mqtt-packet: Invalid protocolId
  const level = list.readUInt8(2 + nameLength) & 0x7f; // bit 7: mqtt-packet's bridge flag
  if (name === 'MQIsdp' && level !== 3) return new PacketViolation('malformed', `protocol name MQIsdp with level ${level}`); // [MQTT-3.1.2-1]
  if (level !== 3 && level !== 4 && level !== 5) return new PacketViolation('unsupported-version', `protocol level ${level} is not supported`); // [MQTT-3.1.2-2]
  return undefined;
}

/**
 * MQTT 5.0 3.8.3.1: Maximum QoS 3 or Retain Handling 3 in a v5 SUBSCRIBE's options is a Protocol
 * Error. `bytes` is the SUBSCRIBE after its fixed header. Anything else wrong (cut short, reserved
 * bits) is left to the parser, which reports it as malformed.
 */
function subscriptionOptionsProblem(bytes: Buffer): PacketViolation | undefined {
  let pos = 2; // Packet Identifier
  let propertyLength = 0;
  let multiplier = 1;
  for (let i = 0; ; i++) {
    if (i === 4 || pos >= bytes.length) return undefined;
    const byte = bytes[pos++] as number;
    propertyLength += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  pos += propertyLength;
  while (pos + 2 <= bytes.length) {
    pos += 2 + bytes.readUInt16BE(pos); // Topic Filter
    if (pos >= bytes.length) return undefined;
    const options = bytes[pos++] as number;
    if ((options & 0xc0) !== 0) return undefined; // [MQTT-3.8.3-5] reserved bits: malformed
    if ((options & 0x03) === 3) return new PacketViolation('protocol-error', 'Maximum QoS 3 in the Subscription Options');
    if (((options >> 4) & 0x03) === 3) return new PacketViolation('protocol-error', 'Retain Handling 3 in the Subscription Options');
  }
  return undefined;
}
