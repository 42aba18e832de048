import type { PropertySection } from './property-rules.js';
import { validatePropertySection } from './validate-properties.js';
import { PacketViolation } from './violation.js';

/** The mqtt-packet parser internals the hardening wraps (positions are relative to the packet's variable header). */
export interface HardenableParser {
  _pos: number;
  _list: { length: number; slice(start: number, end: number): Buffer; readUInt8(offset: number): number };
  packet: { cmd: string; length: number; clientId?: string; reasonCode?: number };
  settings: { protocolVersion?: number };
  _parseProperties(): object | false;
  _parseConnect(): unknown;
  _parseDisconnect(): unknown;
  _parseAuth(): unknown;
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
 *   with return code 0x01 [MQTT-3.1.2-2]; "MQIsdp" names only level 3.
 */
export function hardenParser(parser: HardenableParser): void {
  const parseProperties = parser._parseProperties;
  const parseConnect = parser._parseConnect;
  const parseDisconnect = parser._parseDisconnect;
  const parseAuth = parser._parseAuth;

  parser._parseProperties = function (this: HardenableParser) {
    const packet = this.packet;
    const end = packet.length;
    const cmd = packet.cmd;
    if ((cmd === 'disconnect' || cmd === 'auth') && this._pos >= end) return {}; // Property Length omitted: 0
    const section: PropertySection | undefined = cmd === 'connect' ? (packet.clientId === undefined ? 'connect' : 'will') : SECTIONS.has(cmd) ? (cmd as PropertySection) : undefined;
    if (section !== undefined) {
      try {
        if (this._pos > end) throw new PacketViolation('malformed', `the ${cmd.toUpperCase()} fields run past its Remaining Length`);
        validatePropertySection(this._list.slice(this._pos, end), section);
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
