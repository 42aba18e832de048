import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketDecoder, type DecodeError } from '../../../src/protocol/decoder.js';

/** A decoder with its output collected. */
/** `version` 0: no CONNECT seen yet. */
function decoder(max: number, version: 4 | 5 | 0 = 5): { d: PacketDecoder; packets: Packet[]; errors: DecodeError[] } {
  const packets: Packet[] = [];
  const errors: DecodeError[] = [];
  const d = new PacketDecoder(max, { onPacket: (p) => packets.push(p), onDecodeError: (e) => errors.push(e) });
  if (version !== 0) d.setProtocolVersion(version);
  return { d, packets, errors };
}

function publish(payloadLength: number, version: 4 | 5 = 5, messageId = 1): Buffer {
  return mqttPacket.generate(
    { cmd: 'publish', topic: 't', payload: Buffer.alloc(payloadLength, 0x61), qos: 1, messageId, dup: false, retain: false },
    { protocolVersion: version },
  );
}

describe('PacketDecoder size guard', () => {
  it('accepts a packet of exactly the limit', () => {
    const bytes = publish(1000);
    const { d, packets, errors } = decoder(bytes.length);
    d.push(bytes);
    expect(errors).toEqual([]);
    expect(packets).toHaveLength(1);
    expect(packets[0]).toMatchObject({ cmd: 'publish', topic: 't', messageId: 1 });
  });

  it('refuses a packet one byte over the limit as too-large, from its header alone [MQTT-3.2.2-15]', () => {
    const bytes = publish(1000);
    const { d, packets, errors } = decoder(bytes.length - 1);
    d.push(bytes.subarray(0, 3)); // type byte and the two-byte remaining length only
    expect(packets).toEqual([]);
    expect(errors.map((e) => e.failure)).toEqual(['too-large']);
    expect(d.failed).toBe(true);
    d.push(bytes.subarray(3));
    expect(packets).toEqual([]);
    expect(errors).toHaveLength(1); // one report, nothing after it
  });

  it('refuses a declared remaining length of 268435455 without buffering it', () => {
    const { d, errors } = decoder(1024);
    d.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    expect(errors.map((e) => e.failure)).toEqual(['too-large']);
  });

  it('a fifth remaining-length byte is malformed [MQTT-1.5.5-1]', () => {
    const { d, errors } = decoder(Number.MAX_SAFE_INTEGER);
    d.push(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80]));
    expect(errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('a four-byte remaining length is fine', () => {
    const { d, errors, packets } = decoder(300 * 1024 * 1024);
    d.push(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01])); // 2 MiB declared, body pending
    expect(errors).toEqual([]);
    expect(packets).toEqual([]);
  });

  it('reassembles packets fed one byte at a time (header split across chunks)', () => {
    const stream = Buffer.concat([publish(200, 5, 1), Buffer.from([0xc0, 0x00]), publish(3, 5, 2)]);
    const { d, packets, errors } = decoder(1024);
    for (const byte of stream) d.push(Buffer.from([byte]));
    expect(errors).toEqual([]);
    expect(packets.map((p) => p.cmd)).toEqual(['publish', 'pingreq', 'publish']);
    expect(packets.map((p) => ('messageId' in p ? p.messageId : undefined))).toEqual([1, undefined, 2]);
  });

  it('applies the limit when the header arrives byte by byte', () => {
    const bytes = publish(1000);
    const { d, errors } = decoder(500);
    d.push(bytes.subarray(0, 1));
    d.push(bytes.subarray(1, 2));
    expect(errors).toEqual([]);
    d.push(bytes.subarray(2, 3));
    expect(errors.map((e) => e.failure)).toEqual(['too-large']);
  });

  it('decodes many packets in one chunk, in order', () => {
    const chunks: Buffer[] = [];
    for (let i = 1; i <= 500; i++) chunks.push(publish(i % 50, 5, i));
    const { d, packets, errors } = decoder(1024);
    d.push(Buffer.concat(chunks));
    expect(errors).toEqual([]);
    expect(packets.map((p) => (p as { messageId: number }).messageId)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('splits arbitrary chunk boundaries (a packet straddling two chunks with others around it)', () => {
    const stream = Buffer.concat([publish(10, 4, 1), publish(600, 4, 2), publish(10, 4, 3)]);
    const { d, packets } = decoder(1024, 4);
    d.push(stream.subarray(0, 20));
    d.push(stream.subarray(20, 400));
    d.push(stream.subarray(400));
    expect(packets.map((p) => (p as { messageId: number }).messageId)).toEqual([1, 2, 3]);
  });

  it('emits the valid packets before a malformed one, and nothing after it', () => {
    const { d, packets, errors } = decoder(1024);
    d.push(Buffer.concat([Buffer.from([0xc0, 0x00]), Buffer.from([0x60, 0x02, 0x00, 0x01]), Buffer.from([0xc0, 0x00])]));
    expect(packets.map((p) => p.cmd)).toEqual(['pingreq']);
    expect(errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('ill-formed UTF-8 in a topic is malformed [MQTT-1.5.4-1]', () => {
    const { d, packets, errors } = decoder(1024);
    d.push(Buffer.from([0x30, 0x06, 0x00, 0x02, 0xc3, 0x28, 0x00, 0x78]));
    expect(packets).toEqual([]);
    expect(errors.map((e) => e.failure)).toEqual(['malformed']);
  });

  it('well-formed non-ASCII UTF-8 (including U+FFFD itself) is accepted', () => {
    const { d, packets, errors } = decoder(1024);
    d.push(mqttPacket.generate({ cmd: 'publish', topic: 'a/\uFFFD/ü/😀', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, { protocolVersion: 5 }));
    expect(errors).toEqual([]);
    expect((packets[0] as { topic: string }).topic).toBe('a/\uFFFD/ü/😀');
  });

  it('a failure in one decoder does not affect another decoder (parsers are shared)', () => {
    const bad = decoder(1024, 0);
    bad.d.push(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] }, { protocolVersion: 5 }));
    expect(bad.errors).toHaveLength(1);
    const good = decoder(1024, 0);
    good.d.push(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' }, { protocolVersion: 5 }));
    expect(good.errors).toEqual([]);
    expect(good.packets[0]).toMatchObject({ cmd: 'connect', clientId: 'c', protocolVersion: 5 });
  });

  it('two decoders fed interleaved halves keep their own partial packets', () => {
    const a = decoder(1024);
    const b = decoder(1024);
    const pa = publish(100, 5, 11);
    const pb = publish(100, 5, 22);
    a.d.push(pa.subarray(0, 50));
    b.d.push(pb.subarray(0, 70));
    a.d.push(pa.subarray(50));
    b.d.push(pb.subarray(70));
    expect(a.packets.map((p) => (p as { messageId: number }).messageId)).toEqual([11]);
    expect(b.packets.map((p) => (p as { messageId: number }).messageId)).toEqual([22]);
  });
});
