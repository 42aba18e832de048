import type { Packet } from './packets.js';
import { PacketViolation } from './violation.js';

/**
 * The checks of a whole decoded packet that mqtt-packet does not make (its property sections
 * were already validated in wire form, see harden-parser.ts):
 * - the fields fill the Remaining Length exactly: no trailing bytes, nothing read past the end
 *   (a truncated or missing Packet Identifier, a PINGREQ with a body) - else Malformed Packet;
 * - PUBLISH (QoS > 0), SUBSCRIBE and UNSUBSCRIBE carry a non-zero Packet Identifier [MQTT-2.2.1-3];
 * - CONNECT: Will QoS is not 3 [MQTT-3.1.2-12]; 3.1.1 has no password without a user name [MQTT-3.1.2-22];
 * - an MQTT 5 PUBLISH with an empty topic has a Topic Alias (MQTT 5.0 3.3.2.1).
 *
 * @param consumed bytes of the variable header and payload the parser read
 * @throws PacketViolation
 */
export function validatePacket(packet: Packet, consumed: number, version: number): void {
  const length = packet.length ?? 0;
  if (consumed > length) throw malformed(`the ${name(packet)} fields need ${consumed} bytes, its Remaining Length is ${length}`);
  // a PUBLISH payload is the rest of the packet; every other packet ends with its last field
  if (consumed < length && packet.cmd !== 'publish') throw malformed(`${length - consumed} bytes after the fields of a ${name(packet)}`);
  switch (packet.cmd) {
    case 'connect':
      // [MQTT-3.1.2-12] Will QoS 3 is malformed
      if (packet.will !== undefined && (packet.will.qos as number) === 3) throw malformed('Will QoS 3');
      // [MQTT-3.1.2-22] MQTT 3.1.1: no Password Flag without the User Name Flag
      if (packet.protocolVersion !== 5 && packet.password !== undefined && packet.username === undefined) throw malformed('a password without a user name');
      return;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      wholePacketId(packet.messageId, packet);
      return;
    case 'publish':
      if (packet.qos > 0) nonZeroPacketId(packet.messageId, packet);
      // MQTT 5.0 3.3.2.1: an empty Topic Name without a Topic Alias is a Protocol Error
      if (version === 5 && packet.topic.length === 0 && packet.properties?.topicAlias === undefined) throw protocolError('a PUBLISH with neither a Topic Name nor a Topic Alias');
      return;
    case 'subscribe':
    case 'unsubscribe':
      nonZeroPacketId(packet.messageId, packet);
      return;
    default:
      return;
  }
}

/** [MQTT-2.2.1-3] PUBLISH (QoS > 0), SUBSCRIBE and UNSUBSCRIBE carry a non-zero Packet Identifier. */
function nonZeroPacketId(messageId: number | undefined, packet: Packet): void {
  wholePacketId(messageId, packet);
  if (messageId === 0) throw protocolError(`a ${name(packet)} with Packet Identifier 0`);
}

/**
 * A Packet Identifier is two bytes: mqtt-packet gives -1 (or nothing) when fewer were there, which a
 * Remaining Length of 0 does not otherwise reveal (e.g. a PUBREL `62 00`).
 */
function wholePacketId(messageId: number | undefined, packet: Packet): void {
  if (messageId === undefined || messageId < 0 || messageId > 0xffff) throw malformed(`a ${name(packet)} without a whole Packet Identifier`);
}

function name(packet: Packet): string {
  return packet.cmd.toUpperCase();
}

function malformed(message: string): PacketViolation {
  return new PacketViolation('malformed', message);
}

function protocolError(message: string): PacketViolation {
  return new PacketViolation('protocol-error', message);
}
