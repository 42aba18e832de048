import mqttPacket from 'mqtt-packet';
import type { Packet, ProtocolVersion } from './packets.js';

/** Encodes any packet for the negotiated protocol version (control packets; PUBLISH has a fast path). */
export function encodePacket(packet: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/** Number of bytes a Variable Byte Integer takes. */
export function varIntLength(value: number): number {
  if (value < 128) return 1;
  if (value < 16_384) return 2;
  if (value < 2_097_152) return 3;
  return 4;
}

/** Writes a Variable Byte Integer at `offset`; returns the next offset. */
export function writeVarInt(buffer: Buffer, offset: number, value: number): number {
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    buffer[offset++] = byte;
  } while (v > 0);
  return offset;
}
