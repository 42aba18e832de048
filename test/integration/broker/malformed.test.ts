import mqttPacket, { type IConnackPacket, type Packet } from 'mqtt-packet';
import { beforeEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import {
  connectBystanders,
  expectBystandersServed,
  expectClosed,
  expectClosedSilently,
  expectDisconnect,
  pingBarrier,
  varInt,
  type Bystanders,
} from '../../helpers/bad-input.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import type { RunningBroker } from '../../helpers/start-broker.js';

/** The broker's maximum packet size in these tests (small, so oversize checks are cheap). */
const MAX_PACKET = 1024;

const { start, open, opened } = useRawBroker();
let running: RunningBroker;
let bystanders: Bystanders;

beforeEach(async () => {
  running = await start({ clients: { maxPacketSizeBytes: MAX_PACKET } });
  bystanders = await connectBystanders(running);
});

/** A raw client that completed CONNECT successfully. */
async function connected(version: 4 | 5): Promise<RawClient> {
  const raw = await open(version);
  const connack = await raw.connect({ clientId: `bad-${version}-${opened()}` });
  expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(ReasonCode.Success);
  return raw;
}

function encode(packet: Packet, version: 4 | 5): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/** `packet` encoded, with the fixed header's first byte replaced. */
function withFirstByte(packet: Packet, version: 4 | 5, first: number): Buffer {
  const bytes = encode(packet, version);
  bytes[0] = first;
  return bytes;
}

/** A PUBLISH whose topic bytes are given raw (for ill-formed UTF-8). */
function publishWithTopicBytes(topic: number[], version: 4 | 5): Buffer {
  const body = [0x00, topic.length, ...topic, ...(version === 5 ? [0x00] : []), 0x78];
  return Buffer.from([0x30, body.length, ...body]);
}

describe('malformed input and protocol violations', () => {
  describe('before CONNECT', () => {
    it('PUBLISH as first packet closes the connection [MQTT-3.1.0-1]', async () => {
      const raw = await open(4);
      raw.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, dup: false, retain: false });
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('PINGREQ as first packet closes the connection without PINGRESP [MQTT-3.1.0-1]', async () => {
      const raw = await open(5);
      raw.sendBytes([0xc0, 0x00]);
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('SUBSCRIBE as first packet closes the connection [MQTT-3.1.0-1]', async () => {
      const raw = await open(5);
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('a remaining length with a fifth byte closes the connection [MQTT-1.5.5-1]', async () => {
      const raw = await open(5);
      raw.sendBytes([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]);
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('a CONNECT declaring more than the maximum packet size closes at once', async () => {
      const raw = await open(5);
      raw.sendBytes([0x10, ...varInt(MAX_PACKET)]); // header only: 1 + 2 + 1024 bytes declared
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('CONNECT with the reserved connect flag set gets CONNACK 0x81 and is closed [MQTT-3.1.2-3]', async () => {
      const raw = await open(5);
      const bytes = encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'r' }, 5);
      bytes[9] = (bytes[9] as number) | 0x01; // connect flags byte: fixed header 2 + "MQTT" 6 + level 1
      raw.sendBytes(bytes);
      expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: ReasonCode.MalformedPacket });
      await expectClosed(raw);
      await expectBystandersServed(bystanders);
    });

    it('CONNECT with an unknown protocol name closes the connection [MQTT-3.1.2-1]', async () => {
      const raw = await open(4);
      raw.sendBytes([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x58, 0x58, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]);
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });

    it('CONNECT with an unsupported authentication method gets CONNACK 0x8C and is closed [MQTT-4.12.0-1]', async () => {
      const raw = await open(5);
      raw.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepalive: 0,
        clientId: 'auth-method',
        properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from([1, 2, 3]) },
      });
      const connack = (await raw.next()) as IConnackPacket;
      expect(connack.cmd).toBe('connack');
      expect(connack.reasonCode).toBe(ReasonCode.BadAuthenticationMethod);
      expect(connack.sessionPresent).toBe(false);
      await expectClosed(raw);
      expect(running.broker.stats().clients.rejectedConnections).toBe(1);
      await expectBystandersServed(bystanders);
    });

    it('a truncated CONNECT followed by close leaves nothing behind', async () => {
      const raw = await open(5);
      const bytes = encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'trunc' }, 5);
      raw.sendBytes(bytes.subarray(0, bytes.length - 3));
      raw.socket.end();
      await expectClosed(raw);
      expect(running.broker.stats().clients.connected).toBe(2);
      expect(running.broker.stats().clients.sessions).toBe(2);
      await expectBystandersServed(bystanders);
    });

    it('a CONNECT whose strings run past its remaining length closes the connection', async () => {
      const raw = await open(4);
      raw.sendBytes([0x10, 0x04, 0x00, 0x10, 0x4d, 0x51]); // protocol name claims 16 bytes, packet has 2
      await expectClosedSilently(raw);
      await expectBystandersServed(bystanders);
    });
  });

  describe('after a successful MQTT 5 CONNECT', () => {
    const cases: { name: string; bytes: () => Buffer; reason: number }[] = [
      {
        name: 'a remaining length with a fifth byte: 0x81 [MQTT-1.5.5-1]',
        bytes: () => Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'SUBSCRIBE with reserved flags 0 instead of 2: 0x81 [MQTT-3.8.1-1] [MQTT-2.2.2-2]',
        bytes: () => withFirstByte({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }, 5, 0x80),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'UNSUBSCRIBE with reserved flags 0 instead of 2: 0x81 [MQTT-3.10.1-1]',
        bytes: () => withFirstByte({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a'] }, 5, 0xa0),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'PUBREL with reserved flags 0 instead of 2: 0x81 [MQTT-3.6.1-1]',
        bytes: () => Buffer.from([0x60, 0x02, 0x00, 0x01]),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'PINGREQ with a reserved flag set: 0x81 [MQTT-2.2.2-2]',
        bytes: () => Buffer.from([0xc1, 0x00]),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'PUBLISH with QoS 3: 0x81 [MQTT-3.3.1-4]',
        bytes: () => withFirstByte({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false }, 5, 0x36),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'PUBLISH QoS 0 with DUP set: 0x82 [MQTT-3.3.1-2]',
        bytes: () => withFirstByte({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, 5, 0x38),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'PUBLISH to a topic with + : 0x90 [MQTT-3.3.2-2]',
        bytes: () => encode({ cmd: 'publish', topic: 'a/+/b', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, 5),
        reason: ReasonCode.TopicNameInvalid,
      },
      {
        name: 'PUBLISH to a topic with # : 0x90 [MQTT-3.3.2-2]',
        bytes: () => encode({ cmd: 'publish', topic: 'a/#', payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false }, 5),
        reason: ReasonCode.TopicNameInvalid,
      },
      {
        name: 'PUBLISH with ill-formed UTF-8 in the topic: 0x81 [MQTT-1.5.4-1]',
        bytes: () => publishWithTopicBytes([0x61, 0xc3, 0x28], 5),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'PUBLISH with a UTF-16 surrogate encoded in the topic: 0x81 [MQTT-1.5.4-1]',
        bytes: () => publishWithTopicBytes([0x61, 0xed, 0xa0, 0x80], 5),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'SUBSCRIBE with ill-formed UTF-8 in the filter: 0x81 [MQTT-1.5.4-1]',
        bytes: () => Buffer.from([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x02, 0xff, 0x00]),
        reason: ReasonCode.MalformedPacket,
      },
      {
        name: 'SUBSCRIBE with no topic filter: 0x82 [MQTT-3.8.3-2]',
        bytes: () => Buffer.from([0x82, 0x03, 0x00, 0x01, 0x00]),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'UNSUBSCRIBE with no topic filter: 0x82 [MQTT-3.10.3-2]',
        bytes: () => Buffer.from([0xa2, 0x03, 0x00, 0x01, 0x00]),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'CONNACK from a client: 0x82',
        bytes: () => encode({ cmd: 'connack', reasonCode: 0, sessionPresent: false }, 5),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'SUBACK from a client: 0x82',
        bytes: () => encode({ cmd: 'suback', messageId: 1, granted: [0] }, 5),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'PINGRESP from a client: 0x82',
        bytes: () => Buffer.from([0xd0, 0x00]),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'a second CONNECT: 0x82 [MQTT-3.1.0-2]',
        bytes: () => encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'again' }, 5),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'AUTH when CONNECT named no authentication method: 0x82 (MQTT 5.0 section 4.12)',
        bytes: () => encode({ cmd: 'auth', reasonCode: ReasonCode.ContinueAuthentication }, 5),
        reason: ReasonCode.ProtocolError,
      },
      {
        name: 'a packet of reserved type 0: 0x81 [MQTT-2.1.2]',
        bytes: () => Buffer.from([0x00, 0x00]),
        reason: ReasonCode.MalformedPacket,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const raw = await connected(5);
        await pingBarrier(raw); // the connection is fully established and served
        raw.sendBytes(c.bytes());
        await expectDisconnect(raw, c.reason);
        await expectBystandersServed(bystanders);
        expect(running.broker.stats().clients.connected).toBe(2);
      });
    }

    it('a header declaring more than the maximum packet size: 0x95 at once, before any body [MQTT-3.2.2-15]', async () => {
      const raw = await connected(5);
      const connack = await (async () => {
        const r = await open(5);
        return r.connect({ clientId: 'probe' });
      })();
      expect(connack.properties?.maximumPacketSize).toBe(MAX_PACKET);
      // total = 1 + 2 + 1022 = 1025 bytes declared; the body is never sent
      raw.sendBytes([0x30, ...varInt(MAX_PACKET - 2)]);
      await expectDisconnect(raw, ReasonCode.PacketTooLarge);
      await expectBystandersServed(bystanders);
    });

    it('a packet of exactly the maximum packet size is accepted', async () => {
      const raw = await connected(5);
      // remaining = topic (2 + 1) + packet id 2 + properties length 1 + payload; total = 1 + 2 + remaining
      const payload = Buffer.alloc(MAX_PACKET - 3 - 6, 0x61);
      const bytes = encode({ cmd: 'publish', topic: 't', payload, qos: 1, messageId: 7, dup: false, retain: false }, 5);
      expect(bytes.length).toBe(MAX_PACKET);
      raw.sendBytes(bytes);
      const ack = await raw.next();
      expect(ack).toMatchObject({ cmd: 'puback', messageId: 7, reasonCode: ReasonCode.NoMatchingSubscribers });
      await pingBarrier(raw);
    });

    it('a PUBLISH truncated mid-body, then the socket ends: closed, no message routed', async () => {
      const raw = await connected(5);
      await pingBarrier(raw);
      const received = running.broker.stats().messages.received;
      const bytes = encode({ cmd: 'publish', topic: bystanders.topic, payload: Buffer.from('partial'), qos: 1, messageId: 1, dup: false, retain: false }, 5);
      raw.sendBytes(bytes.subarray(0, bytes.length - 2));
      raw.socket.end();
      await expectClosed(raw);
      expect(running.broker.stats().messages.received).toBe(received);
      expect(running.broker.stats().clients.connected).toBe(2);
      await expectBystandersServed(bystanders);
    });

    it('bad input after several valid packets in one chunk: the valid ones are served first', async () => {
      const raw = await connected(5);
      const chunk = Buffer.concat([
        encode({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'x/y', qos: 1 }] }, 5),
        Buffer.from([0xc0, 0x00]),
        Buffer.from([0x60, 0x02, 0x00, 0x01]), // PUBREL with wrong flags
        Buffer.from([0xc0, 0x00]), // never answered: the connection is already failed
      ]);
      raw.sendBytes(chunk);
      expect(await raw.next()).toMatchObject({ cmd: 'suback', messageId: 5, granted: [1] });
      expect(await raw.next()).toMatchObject({ cmd: 'pingresp' });
      await expectDisconnect(raw, ReasonCode.MalformedPacket);
      await expectBystandersServed(bystanders);
    });
  });

  describe('after a successful MQTT 3.1.1 CONNECT (no DISCONNECT in 3.1.1: just closed)', () => {
    const cases: { name: string; bytes: () => Buffer }[] = [
      { name: 'remaining length with a fifth byte [MQTT-1.5.5-1]', bytes: () => Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]) },
      { name: 'SUBSCRIBE with reserved flags 0 [MQTT-3.8.1-1]', bytes: () => withFirstByte({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }, 4, 0x80) },
      { name: 'PUBREL with reserved flags 0 [MQTT-3.6.1-1]', bytes: () => Buffer.from([0x60, 0x02, 0x00, 0x01]) },
      { name: 'PUBLISH with QoS 3 [MQTT-3.3.1-4]', bytes: () => withFirstByte({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false }, 4, 0x36) },
      { name: 'PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]', bytes: () => withFirstByte({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, 4, 0x38) },
      { name: 'PUBLISH to a wildcard topic [MQTT-3.3.2-2]', bytes: () => encode({ cmd: 'publish', topic: '#', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, 4) },
      { name: 'PUBLISH with ill-formed UTF-8 in the topic [MQTT-1.5.3-1]', bytes: () => publishWithTopicBytes([0xc0, 0xaf], 4) },
      { name: 'SUBSCRIBE with no topic filter [MQTT-3.8.3-3]', bytes: () => Buffer.from([0x82, 0x02, 0x00, 0x01]) },
      { name: 'SUBACK from a client', bytes: () => encode({ cmd: 'suback', messageId: 1, granted: [0] }, 4) },
      { name: 'header beyond the maximum packet size', bytes: () => Buffer.from([0x30, ...varInt(MAX_PACKET)]) },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const raw = await connected(4);
        await pingBarrier(raw);
        raw.sendBytes(c.bytes());
        await expectClosedSilently(raw);
        await expectBystandersServed(bystanders);
        expect(running.broker.stats().clients.connected).toBe(2);
      });
    }
  });

  it('a parse failure on one connection does not corrupt the next packet of another (shared parser)', async () => {
    for (const bytes of [
      encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] }, 5), // v5 bytes parsed as 3.1.1: fails mid-packet
      Buffer.from([0x10, 0x04, 0x00, 0x10, 0x4d, 0x51]),
    ]) {
      const bad = await open(5);
      bad.sendBytes(bytes);
      await expectClosedSilently(bad);
      const good = await open(5);
      const connack = await good.connect({ clientId: 'after-bad' });
      expect(connack.reasonCode).toBe(ReasonCode.Success);
      await pingBarrier(good);
      good.destroy();
      await expectBystandersServed(bystanders);
    }
  });

  it('many bad clients at once do not disturb a busy good one', async () => {
    const bad = await Promise.all(Array.from({ length: 20 }, (_, i) => connected(i % 2 === 0 ? 5 : 4)));
    bad.forEach((raw, i) => raw.sendBytes(i % 3 === 0 ? [0x30, 0xff, 0xff, 0xff, 0xff, 0x01] : i % 3 === 1 ? [0x60, 0x02, 0x00, 0x01] : [0x00, 0x00]));
    await Promise.all(bad.map((raw) => expectClosed(raw)));
    for (let i = 0; i < 5; i++) await expectBystandersServed(bystanders);
    expect(running.broker.stats().clients.connected).toBe(2);
  });
});
