/** The bytes a CONNECT's variable header starts with: the protocol name, as MQTT 3.1.1/5.0 and 3.1 write it. */
const PROTOCOL_NAMES: readonly Buffer[] = [Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54]), Buffer.from([0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70])];

/** First byte of a CONNECT: type 1, flags 0 [MQTT-2.2.2-1]. */
const CONNECT_BYTE = 0x10;

/**
 * Why the bytes at `pos`, the start of a connection's stream, cannot begin a CONNECT, as soon as
 * the bytes that show it have arrived; `undefined` while they could. Lets the broker close a
 * connection that speaks another protocol at once [MQTT-3.1.0-1] [MQTT-3.1.2-1], instead of
 * waiting for a packet length read from foreign bytes, or for the CONNECT timeout.
 */
export function notAConnect(buf: Buffer, pos: number): string | undefined {
  if (pos >= buf.length) return undefined;
  const first = buf[pos] as number;
  if (first !== CONNECT_BYTE) return `the first packet is not a CONNECT (first byte 0x${first.toString(16).padStart(2, '0')})`; // [MQTT-3.1.0-1]
  let at = pos + 1;
  for (let i = 0; i < 4 && at < buf.length && ((buf[at] as number) & 0x80) !== 0; i++) at++;
  at++; // past the last Remaining Length byte
  if (at >= buf.length) return undefined;
  const available = buf.subarray(at, Math.min(buf.length, at + 8));
  for (const name of PROTOCOL_NAMES) {
    if (name.subarray(0, available.length).equals(available.subarray(0, Math.min(available.length, name.length)))) return undefined;
  }
  return 'the CONNECT does not name the MQTT protocol'; // [MQTT-3.1.2-1]
}
