/** SUBACK encoding straight from a byte array of reason codes (mqtt-packet takes 70 ms for 1,000,000). */
import type { ProtocolVersion } from './packets.js';

/**
 * Encodes a SUBACK without properties: one reason code (v5) or return code (3.1.1) per filter,
 * in the order of the SUBSCRIBE [MQTT-3.9.3-1].
 */
export function encodeSuback(packetId: number, codes: Uint8Array, version: ProtocolVersion): Buffer {
  const variableHeader = version === 5 ? 3 : 2; // packet id, then (v5) property length 0
  const remaining = variableHeader + codes.length;
  let lengthBytes = 1;
  while (remaining >= 128 ** lengthBytes) lengthBytes++;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x90;
  let value = remaining;
  for (let i = 1; i <= lengthBytes; i++) {
    const byte = value % 128;
    value = Math.floor(value / 128);
    out[i] = value > 0 ? byte | 0x80 : byte;
  }
  let at = 1 + lengthBytes;
  out.writeUInt16BE(packetId, at);
  at += 2;
  if (version === 5) out[at++] = 0;
  out.set(codes, at);
  return out;
}
