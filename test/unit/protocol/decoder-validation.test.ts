import type { Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketDecoder, type DecodeError } from '../../../src/protocol/decoder.js';
import { cat, connectBytes, P, packet, prop, props, str, u16 } from '../../helpers/packet-bytes.js';

/** A decoder with its output collected; `version` 0: no CONNECT seen yet. */
function decoder(version: 4 | 5 | 0 = 5): { d: PacketDecoder; packets: Packet[]; errors: DecodeError[] } {
  const packets: Packet[] = [];
  const errors: DecodeError[] = [];
  const d = new PacketDecoder(64 * 1024, { onPacket: (p) => packets.push(p), onDecodeError: (e) => errors.push(e) });
  if (version !== 0) d.setProtocolVersion(version);
  return { d, packets, errors };
}

const PINGREQ = [0xc0, 0x00];

describe('PacketDecoder validation step', () => {
  it('a v5 DISCONNECT or AUTH of Remaining Length 0 is reason 0x00, and the next packet in the chunk is its own', () => {
    const { d, packets, errors } = decoder();
    d.push(cat([0xf0, 0x00], PINGREQ, [0xe0, 0x00], PINGREQ));
    expect(errors).toEqual([]);
    expect(packets.map((p) => [p.cmd, 'reasonCode' in p ? p.reasonCode : undefined])).toEqual([
      ['auth', 0],
      ['pingreq', undefined],
      ['disconnect', 0],
      ['pingreq', undefined],
    ]);
  });

  it('a v5 DISCONNECT of Remaining Length 1 has its reason code and no properties', () => {
    const { d, packets, errors } = decoder();
    d.push(cat([0xe0, 0x01, 0x04], PINGREQ));
    expect(errors).toEqual([]);
    expect(packets[0]).toMatchObject({ cmd: 'disconnect', reasonCode: 4 });
    expect(packets[1]?.cmd).toBe('pingreq');
  });

  it('a PUBACK of Remaining Length 1 followed by another packet is malformed (the parser would read into the next one)', () => {
    const { d, packets, errors } = decoder();
    d.push(cat([0x40, 0x01, 0x00], PINGREQ));
    expect(packets).toEqual([]);
    expect(errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('a repeated property is a protocol-error failure, after the valid packets before it', () => {
    const { d, packets, errors } = decoder();
    const bad = packet(0x30, str('t'), props(prop(P.contentType, str('a')), prop(P.contentType, str('b'))), Buffer.from('x'));
    d.push(cat(PINGREQ, bad, PINGREQ));
    expect(packets.map((p) => p.cmd)).toEqual(['pingreq']);
    expect(errors.map((e) => [e.failure, e.message])).toEqual([['protocol-error', 'Content Type appears more than once in a PUBLISH']]);
  });

  it('a failed CONNECT carries its protocol level (for the CONNACK), an unknown level is unsupported-version', () => {
    const bad = decoder(0);
    bad.d.push(connectBytes({ properties: props(prop(P.topicAlias, u16(1))) }));
    expect(bad.errors.map((e) => [e.failure, e.connectLevel])).toEqual([['malformed', 5]]);
    const unknown = decoder(0);
    unknown.d.push(connectBytes({ level: 7 }));
    expect(unknown.errors.map((e) => e.failure)).toEqual(['unsupported-version']);
  });

  it('bytes that cannot start a CONNECT fail at the first byte, before a length is read from them', () => {
    const { d, errors } = decoder(0);
    d.push(Buffer.from('G'));
    expect(errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('a CONNECT whose first chunk names another protocol fails at once, before its declared length arrives', () => {
    const maybe = decoder(0);
    maybe.d.push(Buffer.from([0x10, 0x20, 0x00, 0x04, 0x4d]));
    expect(maybe.errors).toEqual([]); // "M": still possibly MQTT
    const other = decoder(0);
    other.d.push(Buffer.from([0x10, 0x20, 0x00, 0x04, 0x4d, 0x58]));
    expect(other.errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('a valid CONNECT sent byte by byte is decoded', () => {
    const { d, packets, errors } = decoder(0);
    for (const byte of connectBytes({ clientId: 'slow', properties: props(prop(P.sessionExpiry, Buffer.from([0, 0, 0, 9]))) })) d.push(Buffer.from([byte]));
    expect(errors).toEqual([]);
    expect(packets[0]).toMatchObject({ cmd: 'connect', clientId: 'slow', properties: { sessionExpiryInterval: 9 } });
  });
});
