import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { drainUntilPing, expectPublish, rawPublishQos1, rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { nextMessage } from '../../helpers/start-broker.js';

const { start, current, connect: raw } = useRawBroker();

async function retain(topic: string, payload: string, qos: 0 | 1 | 2 = 1, messageExpiryInterval?: number): Promise<void> {
  await current().broker.publish({
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: true,
    ...(messageExpiryInterval !== undefined ? { expiresAt: Date.now() + messageExpiryInterval * 1000, expirySet: true } : {}),
  });
}

describe.each([5, 4] as const)('retained messages, MQTT %s', (protocolVersion) => {
  it('are stored and sent with RETAIN=1 to a new subscriber at min(QoS) [MQTT-3.3.1-5] [MQTT-3.3.1-8]', async () => {
    const running = await start();
    const pub = await running.connect({ protocolVersion });
    await pub.publishAsync('r/a', 'kept', { qos: 1, retain: true });
    expect(running.broker.stats().retained).toBe(1);
    const sub = await raw(protocolVersion);
    const suback = await rawSubscribe(sub, [{ topic: 'r/a', qos: 0 }]);
    expect(suback.granted).toEqual([0]);
    const got = await expectPublish(sub);
    expect([got.topic, got.payload.toString(), got.retain, got.qos]).toEqual(['r/a', 'kept', true, 0]);
    const sub1 = await raw(protocolVersion);
    await rawSubscribe(sub1, [{ topic: 'r/a', qos: 2 }]);
    const got1 = await expectPublish(sub1);
    expect([got1.retain, got1.qos, got1.dup]).toEqual([true, 1, false]);
    sub1.send({ cmd: 'puback', messageId: got1.messageId as number });
    expect(await drainUntilPing(sub1)).toEqual([]);
  });

  it('a new retained message replaces the old one; an empty payload deletes it [MQTT-3.3.1-6] [MQTT-3.3.1-7]', async () => {
    const running = await start();
    const pub = await running.connect({ protocolVersion });
    await pub.publishAsync('r/x', 'one', { qos: 1, retain: true });
    await pub.publishAsync('r/x', 'two', { qos: 1, retain: true });
    expect(running.broker.stats().retained).toBe(1);
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'r/x', qos: 0 }]);
    expect((await expectPublish(sub)).payload.toString()).toBe('two');
    expect(await drainUntilPing(sub)).toEqual([]);

    // the empty message is still forwarded to current subscribers, then nothing is retained
    await pub.publishAsync('r/x', '', { qos: 1, retain: true });
    const live = await expectPublish(sub);
    expect([live.topic, live.payload.length]).toEqual(['r/x', 0]);
    expect(running.broker.stats().retained).toBe(0);
    const late = await raw(protocolVersion);
    await rawSubscribe(late, [{ topic: 'r/#', qos: 1 }]);
    expect(await drainUntilPing(late)).toEqual([]);
  });

  it('live messages to a 3.1.1 subscriber / without Retain As Published carry RETAIN=0 [MQTT-3.3.1-12]', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'live/#', qos: 1 }]);
    const pub = await running.connect({ protocolVersion });
    await pub.publishAsync('live/a', 'r', { qos: 1, retain: true });
    const got = await expectPublish(sub);
    expect([got.topic, got.retain]).toEqual(['live/a', false]);
    sub.send({ cmd: 'puback', messageId: got.messageId as number });
    // ... while the same message sent because of a later SUBSCRIBE carries RETAIN=1
    const sub2 = await raw(protocolVersion);
    await rawSubscribe(sub2, [{ topic: 'live/#', qos: 0 }]);
    expect((await expectPublish(sub2)).retain).toBe(true);
  });

  it('a wildcard subscription gets every matching retained message, and only those', async () => {
    const running = await start();
    await retain('w/a', 'wa');
    await retain('w/b', 'wb');
    await retain('w/b/c', 'wbc');
    await retain('x/b', 'xb');
    await retain('$sys-like/w', 'dollar');
    expect(running.broker.stats().retained).toBe(5);
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'w/#', qos: 0 }]);
    const hash = (await drainUntilPing(sub)).map((p) => (p.cmd === 'publish' ? `${p.topic}=${p.payload.toString()}:${p.retain}` : p.cmd));
    expect(hash.sort()).toEqual(['w/a=wa:true', 'w/b/c=wbc:true', 'w/b=wb:true']);
    const sub2 = await raw(protocolVersion);
    await rawSubscribe(sub2, [{ topic: '+/b', qos: 0 }]);
    const plus = (await drainUntilPing(sub2)).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    expect(plus.sort()).toEqual(['w/b', 'x/b']);
    const sub3 = await raw(protocolVersion);
    await rawSubscribe(sub3, [{ topic: '#', qos: 0 }]);
    const all = (await drainUntilPing(sub3)).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    expect(all.sort()).toEqual(['w/a', 'w/b', 'w/b/c', 'x/b']); // [MQTT-4.7.2-1] not $sys-like/w
  });
});

describe('retain handling and retain as published (MQTT 5)', () => {
  it('Retain Handling 0 sends retained messages on every SUBSCRIBE, also a repeated one [MQTT-3.3.1-9]', async () => {
    await start();
    await retain('rh/0', 'v');
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'rh/0', qos: 0, rh: 0 }]);
    expect((await expectPublish(sub)).payload.toString()).toBe('v');
    await rawSubscribe(sub, [{ topic: 'rh/0', qos: 0, rh: 0 }]);
    const again = await expectPublish(sub);
    expect([again.payload.toString(), again.retain]).toEqual(['v', true]);
    expect(await drainUntilPing(sub)).toEqual([]);
  });

  it('Retain Handling 1 sends them only when the subscription is new [MQTT-3.3.1-10]', async () => {
    await start();
    await retain('rh/1', 'v');
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'rh/1', qos: 0, rh: 1 }]);
    expect((await expectPublish(sub)).payload.toString()).toBe('v');
    await rawSubscribe(sub, [{ topic: 'rh/1', qos: 1, rh: 1 }]);
    expect(await drainUntilPing(sub)).toEqual([]);
    // after UNSUBSCRIBE it is new again
    sub.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: ['rh/1'] });
    expect((await sub.nextOf('unsuback'))?.cmd).toBe('unsuback');
    await rawSubscribe(sub, [{ topic: 'rh/1', qos: 0, rh: 1 }]);
    expect((await expectPublish(sub)).payload.toString()).toBe('v');
  });

  it('Retain Handling 2 never sends retained messages [MQTT-3.3.1-11]', async () => {
    const running = await start();
    await retain('rh/2', 'v');
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'rh/2', qos: 0, rh: 2 }]);
    expect(await drainUntilPing(sub)).toEqual([]);
    // live messages still arrive
    await running.broker.publish({ topic: 'rh/2', payload: Buffer.from('live'), qos: 0, retain: false });
    expect((await expectPublish(sub)).payload.toString()).toBe('live');
  });

  it('Retain As Published keeps RETAIN of live messages; without it RETAIN is 0 [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const running = await start();
    const rap = await raw(5);
    await rawSubscribe(rap, [{ topic: 'rap/#', qos: 0, rap: true }]);
    const norap = await raw(5);
    await rawSubscribe(norap, [{ topic: 'rap/#', qos: 0, rap: false }]);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('rap/a', 'retained', { qos: 1, retain: true });
    await pub.publishAsync('rap/a', 'plain', { qos: 1, retain: false });
    const [r1, r2] = [await expectPublish(rap), await expectPublish(rap)];
    expect([r1.payload.toString(), r1.retain, r2.payload.toString(), r2.retain]).toEqual(['retained', true, 'plain', false]);
    const [n1, n2] = [await expectPublish(norap), await expectPublish(norap)];
    expect([n1.payload.toString(), n1.retain, n2.payload.toString(), n2.retain]).toEqual(['retained', false, 'plain', false]);
  });

  it('the mqtt client sees retain=true for a retained message on subscribe', async () => {
    const running = await start();
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('rc/t', 'val', { qos: 1, retain: true });
    const sub = await running.connect({ protocolVersion: 5 });
    const got = nextMessage(sub);
    await sub.subscribeAsync('rc/t', { qos: 1 });
    const m = await got;
    expect([m.topic, m.payload.toString(), m.packet.retain]).toEqual(['rc/t', 'val', true]);
  });

  it('a retained message with a message expiry is sent with the remaining interval, and not at all after it expired [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
    const running = await start();
    const pub = await raw(5);
    const publishedAt = Date.now();
    expect(
      await rawPublishQos1(pub, { topic: 'exp/r', payload: Buffer.from('short'), retain: true, properties: { messageExpiryInterval: 1 } }),
    ).toBe(ReasonCode.NoMatchingSubscribers);
    await rawPublishQos1(pub, { topic: 'exp/keep', payload: Buffer.from('long'), retain: true });
    const early = await raw(5);
    await rawSubscribe(early, [{ topic: 'exp/r', qos: 0 }]);
    const fresh = await expectPublish(early);
    expect(fresh.payload.toString()).toBe('short');
    expect(fresh.properties?.messageExpiryInterval).toBe(1);

    // real time has to pass: the message expires 1 s after it was published
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, publishedAt + 1100 - Date.now())));
    const late = await raw(5);
    await rawSubscribe(late, [{ topic: 'exp/#', qos: 0 }]);
    const got = (await drainUntilPing(late)).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    expect(got).toEqual(['exp/keep']);
    expect(running.broker.stats().retained).toBe(1);
  });
});
