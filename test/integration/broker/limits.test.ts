import type { IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { nextMessage } from '../../helpers/start-broker.js';

const { start, current, open } = useRawBroker();

async function subscribe(raw: RawClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  expect((await raw.nextOf('suback'))?.cmd).toBe('suback');
}

async function publishAll(topic: string, payloads: string[], qos: 0 | 1 = 1): Promise<void> {
  const b = current();
  for (const p of payloads) await b.broker.publish({ topic, payload: Buffer.from(p), qos, retain: false });
}

function payloads(packets: Packet[]): string[] {
  return packets.map((p) => {
    expect(p.cmd).toBe('publish');
    return (p as IPublishPacket).payload.toString();
  });
}

describe('maximum packet size', () => {
  it('rejects a packet over maxPacketSizeBytes with v5 DISCONNECT 0x95 and advertises the limit [MQTT-3.2.2-15]', async () => {
    await start({ clients: { maxPacketSizeBytes: 1024 } });
    const raw = await open(5);
    const connack = await raw.connect({ clientId: 'big5' });
    expect(connack.properties?.maximumPacketSize).toBe(1024);
    raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(2000, 1), qos: 0, retain: false, dup: false });
    const packet = (await raw.next()) as IDisconnectPacket;
    expect(packet.cmd).toBe('disconnect');
    expect(packet.reasonCode).toBe(ReasonCode.PacketTooLarge);
    expect(await raw.next()).toBeUndefined();
  });

  it('accepts a packet of exactly maxPacketSizeBytes', async () => {
    await start({ clients: { maxPacketSizeBytes: 1024 } });
    const raw = await open(5);
    await raw.connect({ clientId: 'exact' });
    await subscribe(raw, 'e', 0);
    // 1 + 2 (remaining length) + 3 ('e' + length) + 1 (properties length) + payload = 1024
    raw.send({ cmd: 'publish', topic: 'e', payload: Buffer.alloc(1017, 1), qos: 0, retain: false, dup: false });
    const got = (await raw.next()) as IPublishPacket;
    expect(got.cmd).toBe('publish');
    expect(got.payload.length).toBe(1017);
  });

  it('closes a 3.1.1 client sending a packet over the limit (no DISCONNECT in 3.1.1)', async () => {
    await start({ clients: { maxPacketSizeBytes: 1024 } });
    const raw = await open(4);
    await raw.connect({ clientId: 'big4' });
    raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(2000, 1), qos: 0, retain: false, dup: false });
    expect(await raw.next()).toBeUndefined();
  });

  it('memoryProfile Tiny advertises 4 MB', async () => {
    await start({ memoryProfile: 'Tiny' });
    const raw = await open(5);
    expect((await raw.connect({ clientId: 'tiny' })).properties?.maximumPacketSize).toBe(4 * 1024 * 1024);
  });

  it("does not send a client messages larger than its Maximum Packet Size; others get them [MQTT-3.1.2-25]", async () => {
    const running = await start();
    const small = await open(5);
    await small.connect({ clientId: 'small', properties: { maximumPacketSize: 100 } });
    await subscribe(small, 'm/#', 1);
    const other = await running.connect({ protocolVersion: 5, clientId: 'other' });
    await other.subscribeAsync('m/#', { qos: 1 });
    const otherGotBig = nextMessage(other);
    const droppedBefore = running.broker.stats().messages.dropped;
    await running.broker.publish({ topic: 'm/big', payload: Buffer.alloc(500, 7), qos: 1, retain: false });
    await running.broker.publish({ topic: 'm/big0', payload: Buffer.alloc(500, 7), qos: 0, retain: false });
    await running.broker.publish({ topic: 'm/small', payload: Buffer.from('ok'), qos: 1, retain: false });
    expect((await otherGotBig).payload.length).toBe(500);
    const next = (await small.next()) as IPublishPacket;
    expect(next.cmd).toBe('publish');
    expect(next.topic).toBe('m/small');
    expect(running.broker.stats().messages.dropped).toBe(droppedBefore + 2);
  });
});

describe('flow control', () => {
  it('disconnects with 0x93 a client exceeding the configured Receive Maximum [MQTT-3.3.4-7]', async () => {
    await start({ clients: { maxReceiveMaximum: 2 } });
    const raw = await open(5);
    expect((await raw.connect({ clientId: 'flood' })).properties?.receiveMaximum).toBe(2);
    for (const messageId of [1, 2, 3]) {
      raw.send({ cmd: 'publish', topic: 'q2', payload: Buffer.from(`m${messageId}`), qos: 2, messageId, retain: false, dup: false });
    }
    const first = await raw.next();
    const second = await raw.next();
    expect([first?.cmd, first?.messageId, second?.cmd, second?.messageId]).toEqual(['pubrec', 1, 'pubrec', 2]);
    const packet = (await raw.next()) as IDisconnectPacket;
    expect(packet.cmd).toBe('disconnect');
    expect(packet.reasonCode).toBe(ReasonCode.ReceiveMaximumExceeded);
    expect(await raw.next()).toBeUndefined();
  });

  it('lets a client stay within the Receive Maximum when it releases with PUBREL', async () => {
    await start({ clients: { maxReceiveMaximum: 2 } });
    const raw = await open(5);
    await raw.connect({ clientId: 'polite' });
    for (const messageId of [1, 2, 3, 4]) {
      raw.send({ cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, messageId, retain: false, dup: false });
      expect((await raw.next())?.cmd).toBe('pubrec');
      raw.send({ cmd: 'pubrel', messageId });
      expect((await raw.next())?.cmd).toBe('pubcomp');
    }
    expect(raw.isClosed).toBe(false);
  });

  it('sends a v5 subscriber at most its Receive Maximum unacknowledged PUBLISHes, then one per PUBACK [MQTT-3.3.4-9]', async () => {
    const running = await start();
    const raw = await open(5);
    await raw.connect({ clientId: 'slow', properties: { receiveMaximum: 3 } });
    await subscribe(raw, 'f', 1);
    await publishAll('f', ['1', '2', '3', '4', '5', '6']);
    const window = await drainUntilPong(raw);
    expect(payloads(window)).toEqual(['1', '2', '3']);
    expect(running.broker.stats().messages.inflight).toBe(3);
    expect(running.broker.stats().messages.queued).toBe(3);
    raw.send({ cmd: 'puback', messageId: (window[0] as IPublishPacket).messageId as number });
    const after1 = await drainUntilPong(raw);
    expect(payloads(after1)).toEqual(['4']);
    raw.send({ cmd: 'puback', messageId: (window[1] as IPublishPacket).messageId as number });
    raw.send({ cmd: 'puback', messageId: (window[2] as IPublishPacket).messageId as number });
    expect(payloads(await drainUntilPong(raw))).toEqual(['5', '6']);
    expect(running.broker.stats().messages.queued).toBe(0);
  });

  it('caps in-flight QoS 1 PUBLISHes to a 3.1.1 client at v3InflightLimit', async () => {
    await start({ v3InflightLimit: 2 });
    const raw = await open(4);
    await raw.connect({ clientId: 'slow4' });
    await subscribe(raw, 'f', 1);
    await publishAll('f', ['1', '2', '3', '4']);
    const window = await drainUntilPong(raw);
    expect(payloads(window)).toEqual(['1', '2']);
    raw.send({ cmd: 'puback', messageId: (window[0] as IPublishPacket).messageId as number });
    expect(payloads(await drainUntilPong(raw))).toEqual(['3']);
  });
});

describe('message expiry cap', () => {
  it('caps the forwarded Message Expiry Interval at maxMessageExpirySeconds [MQTT-3.3.2-6]', async () => {
    const running = await start({ clients: { maxMessageExpirySeconds: 10 } });
    const sub = await running.connect({ protocolVersion: 5, clientId: 'exp-sub' });
    await sub.subscribeAsync('x/#', { qos: 1 });
    const pub = await running.connect({ protocolVersion: 5, clientId: 'exp-pub' });
    const capped = nextMessage(sub);
    await pub.publishAsync('x/long', 'a', { qos: 1, properties: { messageExpiryInterval: 3600 } });
    expect((await capped).packet.properties?.messageExpiryInterval).toBe(10);
    const shorter = nextMessage(sub);
    await pub.publishAsync('x/short', 'b', { qos: 1, properties: { messageExpiryInterval: 5 } });
    expect((await shorter).packet.properties?.messageExpiryInterval).toBe(5);
  });
});

describe('subscriber queue limit', () => {
  async function offlineSubscriber(clientId: string): Promise<void> {
    const raw = await open(5);
    await raw.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await subscribe(raw, 'ql', 1);
    raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await raw.closed;
  }

  async function reconnectAndRead(clientId: string): Promise<string[]> {
    const raw = await open(5);
    const connack = await raw.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    return payloads(await drainUntilPong(raw));
  }

  it('strategy None never drops by count: the queue grows until the session expires (as AIO)', async () => {
    const running = await start({ clients: { subscriberQueueLimit: { length: 2, strategy: 'None' } } });
    await offlineSubscriber('qn');
    await publishAll('ql', ['m1', 'm2', 'm3', 'm4']);
    expect(running.broker.stats().messages.queued).toBe(4);
    expect(running.broker.stats().messages.dropped).toBe(0);
    expect(await reconnectAndRead('qn')).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('strategy DropOldest drops the oldest messages', async () => {
    const running = await start({ clients: { subscriberQueueLimit: { length: 2, strategy: 'DropOldest' } } });
    await offlineSubscriber('qo');
    await publishAll('ql', ['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(running.broker.stats().messages.queued).toBe(2);
    expect(running.broker.stats().messages.dropped).toBe(3);
    expect(await reconnectAndRead('qo')).toEqual(['m4', 'm5']);
  });

  it('QoS 0 messages are not queued for an offline session and count as dropped', async () => {
    const running = await start();
    await offlineSubscriber('q0');
    await publishAll('ql', ['z1', 'z2'], 0);
    expect(running.broker.stats().messages.queued).toBe(0);
    expect(running.broker.stats().messages.dropped).toBe(2);
    expect(await reconnectAndRead('q0')).toEqual([]);
  });
});
