import { describe, expect, it } from 'vitest';
import { ReasonCode, SubackFailure311 } from '../../../src/protocol/reason-codes.js';
import { drainUntilPing, publishesUntilPing, expectPacket, expectPublish, rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { collectMessages } from '../../helpers/start-broker.js';

const { start, connect: raw } = useRawBroker();

async function topicsReceived(sub: RawClient): Promise<string[]> {
  return (await drainUntilPing(sub)).map((p) => (p.cmd === 'publish' ? p.topic : `<${p.cmd}>`));
}

describe.each([5, 4] as const)('topic filters, MQTT %s', (protocolVersion) => {
  it("matches '+' and '#' (parent level included) and keeps $-topics from leading wildcards [MQTT-4.7.1-2] [MQTT-4.7.2-1]", async () => {
    const running = await start();
    const expected: Record<string, string[]> = {
      'a/#': ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/b/c/d', 'a/'],
      'a/+/c': ['a/b/c', 'a/x/c'],
      'a/+': ['a/b', 'a/'],
      '+': ['a', 'b'],
      '+/+': ['a/b', '/a', 'a/'],
      '+/a': ['/a'],
      '#': ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/b/c/d', 'b', '/a', 'a/'],
      '$SYS/#': ['$SYS/x'],
      '$other/+': ['$other/a'],
      'a/b/c': ['a/b/c'],
    };
    const subs = new Map<string, RawClient>();
    for (const filter of Object.keys(expected)) {
      const sub = await raw(protocolVersion);
      expect((await rawSubscribe(sub, [{ topic: filter, qos: 0 }])).granted).toEqual([0]);
      subs.set(filter, sub);
    }
    for (const topic of ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/b/c/d', 'b', '/a', 'a/', '$SYS/x', '$other/a']) {
      await running.broker.publish({ topic, payload: Buffer.from(topic), qos: 0, retain: false });
    }
    for (const [filter, sub] of subs) expect(await topicsReceived(sub), filter).toEqual(expected[filter]);
  });

  it('refuses invalid filters in SUBACK while valid ones in the same SUBSCRIBE succeed [MQTT-4.7.1-1] [MQTT-3.9.3-1]', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    const suback = await rawSubscribe(sub, [
      { topic: 'ok/1', qos: 1 },
      { topic: 'bad/#/x', qos: 0 },
      { topic: 'a+', qos: 1 },
      { topic: 'ok/2', qos: 2 },
      { topic: 'x#', qos: 0 },
    ]);
    const refused = protocolVersion === 5 ? ReasonCode.TopicFilterInvalid : SubackFailure311;
    expect(suback.granted).toEqual([1, refused, refused, 2, refused]);
    expect(running.broker.stats().subscriptions).toBe(2);
    await running.broker.publish({ topic: 'ok/1', payload: Buffer.from('1'), qos: 0, retain: false });
    await running.broker.publish({ topic: 'ok/2', payload: Buffer.from('2'), qos: 0, retain: false });
    expect(await topicsReceived(sub)).toEqual(['ok/1', 'ok/2']);
  });

  it('delivers a message matching several subscriptions of one client once, at the highest QoS [MQTT-3.3.4-2]', async () => {
    const running = await start();
    const sub = await running.connect({ protocolVersion });
    await sub.subscribeAsync({ 'ov/+': { qos: 0 }, 'ov/#': { qos: 1 }, 'ov/a': { qos: 2 } });
    const pub = await running.connect({ protocolVersion });
    const got = collectMessages(sub, 2);
    await pub.publishAsync('ov/a', 'first', { qos: 2 });
    await pub.publishAsync('ov/marker', 'marker', { qos: 0 });
    const [first, marker] = await got;
    expect([first?.topic, first?.payload.toString(), first?.packet.qos]).toEqual(['ov/a', 'first', 2]);
    expect(marker?.topic).toBe('ov/marker');
  });

  it('replacing a subscription changes its QoS and keeps one subscription [MQTT-3.8.4-3]', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    expect((await rawSubscribe(sub, [{ topic: 'rep/t', qos: 2 }])).granted).toEqual([2]);
    await running.broker.publish({ topic: 'rep/t', payload: Buffer.from('a'), qos: 2, retain: false });
    const a = await expectPublish(sub);
    expect(a.qos).toBe(2);
    sub.send({ cmd: 'pubrec', messageId: a.messageId as number });
    expect(await expectPacket(sub)).toMatchObject({ cmd: 'pubrel' });
    sub.send({ cmd: 'pubcomp', messageId: a.messageId as number });

    expect((await rawSubscribe(sub, [{ topic: 'rep/t', qos: 0 }])).granted).toEqual([0]);
    expect(running.broker.stats().subscriptions).toBe(1);
    await running.broker.publish({ topic: 'rep/t', payload: Buffer.from('b'), qos: 2, retain: false });
    const b = await drainUntilPing(sub);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ cmd: 'publish', topic: 'rep/t', qos: 0 });
  });

  it('UNSUBSCRIBE stops delivery and is answered with UNSUBACK', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'un/a', qos: 0 }, { topic: 'un/b', qos: 0 }]);
    sub.send({ cmd: 'unsubscribe', messageId: 55, unsubscriptions: ['un/a', 'un/none'] });
    const unsuback = await expectPacket(sub);
    expect(unsuback).toMatchObject({ cmd: 'unsuback', messageId: 55 });
    if (protocolVersion === 5) {
      // [MQTT-3.11.3-1] one reason code per filter, in order
      expect((unsuback as { granted?: number[] }).granted).toEqual([ReasonCode.Success, ReasonCode.NoSubscriptionExisted]);
    } else {
      expect(unsuback.length).toBe(2); // 3.1.1 UNSUBACK has no payload
    }
    await running.broker.publish({ topic: 'un/a', payload: Buffer.from('a'), qos: 0, retain: false });
    await running.broker.publish({ topic: 'un/b', payload: Buffer.from('b'), qos: 0, retain: false });
    expect(await topicsReceived(sub)).toEqual(['un/b']);
    expect(running.broker.stats().subscriptions).toBe(1);
  });
});

describe('subscription options (MQTT 5)', () => {
  it('No Local: a client does not get its own messages on that subscription [MQTT-3.8.3-3]', async () => {
    const running = await start();
    const self = await running.connect({ protocolVersion: 5, clientId: 'nl-self' });
    await self.subscribeAsync('nl/t', { qos: 1, nl: true });
    const other = await running.connect({ protocolVersion: 5, clientId: 'nl-other' });
    await other.subscribeAsync('nl/t', { qos: 1 });
    const selfGot = collectMessages(self, 1);
    const otherGot = collectMessages(other, 2);
    await self.publishAsync('nl/t', 'from-self', { qos: 1 });
    await other.publishAsync('nl/t', 'from-other', { qos: 1 });
    expect((await selfGot).map((m) => m.payload.toString())).toEqual(['from-other']);
    expect((await otherGot).map((m) => m.payload.toString())).toEqual(['from-self', 'from-other']);
  });

  it('Subscription Identifier 0 is a protocol error: DISCONNECT 0x82 (range 1..268435455, MQTT 5.0 section 3.8.2.1.2)', async () => {
    const running = await start();
    const sub = await raw(5);
    sub.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'sid0', qos: 0 }], properties: { subscriptionIdentifier: 0 } });
    expect(await expectPacket(sub)).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    expect(running.broker.stats().subscriptions).toBe(0);
  });

  it('a subscription identifier is sent with each matching message [MQTT-3.3.4-3]', async () => {
    const running = await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'sid/one', qos: 1 }], { subscriptionIdentifier: 42 });
    await rawSubscribe(sub, [{ topic: 'sid/none', qos: 1 }]);
    await running.broker.publish({ topic: 'sid/one', payload: Buffer.from('x'), qos: 0, retain: false });
    await running.broker.publish({ topic: 'sid/none', payload: Buffer.from('y'), qos: 0, retain: false });
    const [one, none] = await publishesUntilPing(sub);
    expect(one).toMatchObject({ cmd: 'publish', topic: 'sid/one' });
    expect(one?.properties?.subscriptionIdentifier).toBe(42);
    expect(none).toMatchObject({ cmd: 'publish', topic: 'sid/none' });
    expect(none?.properties?.subscriptionIdentifier).toBeUndefined();
  });

  it('two overlapping subscriptions give one message with both identifiers, at the higher QoS [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async () => {
    const running = await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'sid2/+', qos: 0 }], { subscriptionIdentifier: 1 });
    await rawSubscribe(sub, [{ topic: 'sid2/#', qos: 2 }], { subscriptionIdentifier: 268_435_455 });
    await running.broker.publish({ topic: 'sid2/a', payload: Buffer.from('x'), qos: 1, retain: false });
    const packets = await publishesUntilPing(sub);
    expect(packets).toHaveLength(1);
    const only = packets[0];
    expect(only).toMatchObject({ cmd: 'publish', topic: 'sid2/a', qos: 1 });
    const ids = only?.properties?.subscriptionIdentifier;
    expect(Array.isArray(ids) ? [...ids].sort((x, y) => x - y) : ids).toEqual([1, 268_435_455]);
    // the mqtt client sees both ids too
    const client = await running.connect({ protocolVersion: 5 });
    await client.subscribeAsync('sid3/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await client.subscribeAsync('sid3/#', { qos: 0, properties: { subscriptionIdentifier: 8 } });
    const got = collectMessages(client, 1);
    await running.broker.publish({ topic: 'sid3/z', payload: Buffer.from('z'), qos: 2, retain: false });
    const [m] = await got;
    expect(m?.packet.qos).toBe(1);
    expect(m?.packet.properties?.subscriptionIdentifier).toEqual(expect.arrayContaining([7, 8]));
  });
});
