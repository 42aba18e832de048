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

/** The four acknowledgement packets of QoS 1 and 2. */
export type AckKind = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

const ACK_FIRST_BYTE: Readonly<Record<AckKind, number>> = {
  puback: 0x40,
  pubrec: 0x50,
  pubrel: 0x62, // [MQTT-3.6.1-1] PUBREL fixed header flags are 0010
  pubcomp: 0x70,
};

/**
 * Encodes PUBACK/PUBREC/PUBREL/PUBCOMP without properties. v5 omits a Success reason code
 * (remaining length 2) [MQTT-3.4.2-1].
 */
export function encodeAck(kind: AckKind, packetId: number, reasonCode: number, version: 4 | 5): Buffer {
  const withReason = version === 5 && reasonCode !== 0;
  const out = Buffer.allocUnsafe(withReason ? 5 : 4);
  out[0] = ACK_FIRST_BYTE[kind];
  out[1] = withReason ? 3 : 2;
  out.writeUInt16BE(packetId, 2);
  if (withReason) out[4] = reasonCode;
  return out;
}

/** PINGRESP [MQTT-3.13]. */
export const PINGRESP_BYTES: Buffer = Buffer.from([0xd0, 0x00]);

// mqtt-packet's number cache (65,536 small buffers, ~6 MB) would be built on the first
// generate(); the broker encodes its hot packets itself, so the cache is not worth its memory.
mqttPacket.writeToStream.cacheNumbers = false;
