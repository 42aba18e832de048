import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ReasonCode, SubackFailure311 } from '../../../src/protocol/reason-codes.js';
import { closedWithin, drainUntilPing, expectPacket, expectPublish, rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { collectMessages } from '../../helpers/start-broker.js';

const { start, current, open, connect: raw } = useRawBroker();

async function publishNumbered(topic: string, count: number, qos: 0 | 1 = 1): Promise<void> {
  for (let i = 0; i < count; i++) {
    await current().broker.publish({ topic, payload: Buffer.from(String(i)), qos, retain: false });
  }
}

/** Each member's message numbers; asserts exact round-robin: member k gets offset_k, offset_k + n, ... */
function expectRoundRobin(perMember: number[][], total: number): void {
  const n = perMember.length;
  const offsets = perMember.map((got) => got[0] as number);
  expect([...offsets].sort()).toEqual(Array.from({ length: n }, (_, i) => i));
  perMember.forEach((got, k) => {
    const offset = offsets[k] as number;
    expect(got).toEqual(Array.from({ length: total / n }, (_, i) => offset + i * n));
  });
}

async function member(protocolVersion: 4 | 5, filter: string): Promise<MqttClient> {
  const client = await current().connect({ protocolVersion });
  await client.subscribeAsync(filter, { qos: 1 });
  return client;
}

describe.each([5, 4] as const)('shared subscriptions, MQTT %s members', (protocolVersion) => {
  it.each([2, 3])('round-robin across %s members, exact alternation [MQTT-4.8.2-4]', async (n) => {
    const running = await start();
    const members: MqttClient[] = [];
    for (let i = 0; i < n; i++) members.push(await member(protocolVersion, '$share/g/rr/t'));
    const total = 12;
    const got = members.map((m) => collectMessages(m, total / n));
    await publishNumbered('rr/t', total);
    const perMember = (await Promise.all(got)).map((ms) => ms.map((m) => Number(m.payload.toString())));
    expectRoundRobin(perMember, total);
    expect(running.broker.stats().subscriptions).toBe(n);
  });

  it('each group gets one copy, and a plain subscriber gets every message [MQTT-4.8.2-3]', async () => {
    await start();
    const g1a = await member(protocolVersion, '$share/one/multi/+');
    const g1b = await member(protocolVersion, '$share/one/multi/+');
    const g2 = await member(protocolVersion, '$share/two/multi/#');
    const plain = await member(protocolVersion, 'multi/t');
    const got = [collectMessages(g1a, 2), collectMessages(g1b, 2), collectMessages(g2, 4), collectMessages(plain, 4)];
    await publishNumbered('multi/t', 4);
    const [a, b, two, all] = (await Promise.all(got)).map((ms) => ms.map((m) => Number(m.payload.toString())));
    expectRoundRobin([a as number[], b as number[]], 4);
    expect(two).toEqual([0, 1, 2, 3]);
    expect(all).toEqual([0, 1, 2, 3]);
  });

  it('messages in flight or queued to a member that disconnects go to another member (no loss at QoS 1)', async () => {
    await start();
    // A never acknowledges and accepts one message at a time (3.1.1: the broker's in-flight cap)
    const a = await raw(protocolVersion, protocolVersion === 5 ? { properties: { receiveMaximum: 1 } } : {});
    await rawSubscribe(a, [{ topic: '$share/g/loss/t', qos: 1 }]);
    const b = await member(protocolVersion, '$share/g/loss/t');
    const bGot = collectMessages(b, 4);
    await publishNumbered('loss/t', 4);
    const first = await expectPublish(a);
    const aNumbers = [Number(first.payload.toString())];
    if (protocolVersion === 4) aNumbers.push(Number((await expectPublish(a)).payload.toString()));
    expect(aNumbers).toEqual(protocolVersion === 5 ? [0] : [0, 2]); // v5: message 2 waits behind the window
    a.destroy();
    const numbers = (await bGot).map((m) => Number(m.payload.toString()));
    expect([...numbers].sort()).toEqual([0, 1, 2, 3]);
    expect(numbers.slice(0, 2)).toEqual([1, 3]); // its own share first, then A's in their order
    expect(numbers.slice(2)).toEqual([0, 2]);
  });

  it('a persistent-session member going offline hands its un-acked QoS 1/2 messages to a connected member', async () => {
    const running = await start();
    const persistent = protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
    const a = await raw(protocolVersion, { clientId: `sh-persist-${protocolVersion}`, ...persistent });
    await rawSubscribe(a, [{ topic: '$share/g/pl/t', qos: 2 }]);
    const b = await member(protocolVersion, '$share/g/pl/t');
    const bGot = collectMessages(b, 4);
    for (const [i, qos] of [[0, 2], [1, 1], [2, 1], [3, 2]] as const) {
      await running.broker.publish({ topic: 'pl/t', payload: Buffer.from(String(i)), qos, retain: false });
    }
    const toA = [await expectPublish(a), await expectPublish(a)];
    expect(toA.map((p) => [p.payload.toString(), p.qos])).toEqual([['0', 2], ['2', 1]]);
    a.destroy();
    const numbers = (await bGot).map((m) => m.payload.toString());
    expect(numbers).toEqual(['1', '3', '0', '2']);
    expect(running.broker.stats().messages.queued).toBe(0);
  });

  it('never sends retained messages on subscribe to a shared subscription', async () => {
    const running = await start();
    await running.broker.publish({ topic: 'sr/t', payload: Buffer.from('kept'), qos: 1, retain: true });
    const sub = await raw(protocolVersion);
    expect((await rawSubscribe(sub, [{ topic: '$share/g/sr/#', qos: 1 }])).granted).toEqual([1]);
    expect(await drainUntilPing(sub)).toEqual([]);
    // a live message still arrives
    await running.broker.publish({ topic: 'sr/t', payload: Buffer.from('live'), qos: 0, retain: false });
    expect((await expectPublish(sub)).payload.toString()).toBe('live');
  });

  it('refuses malformed share names in SUBACK, valid filters in the same SUBSCRIBE succeed [MQTT-4.8.2-1] [MQTT-4.8.2-2]', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    const suback = await rawSubscribe(sub, [
      { topic: '$share/g', qos: 1 },
      { topic: '$share/a+b/x', qos: 1 },
      { topic: '$share/a#/x', qos: 1 },
      { topic: '$share//x', qos: 1 },
      { topic: '$share/g/bad/#/x', qos: 1 },
      { topic: '$share/ok/x', qos: 1 },
    ]);
    const refused = protocolVersion === 5 ? ReasonCode.TopicFilterInvalid : SubackFailure311;
    expect(suback.granted).toEqual([refused, refused, refused, refused, refused, 1]);
    expect(running.broker.stats().subscriptions).toBe(1);
  });
});

describe('shared subscriptions (MQTT 5 specifics)', () => {
  it('3.1.1 and 5.0 members share one group', async () => {
    await start();
    const v5 = await member(5, '$share/mixed/mx');
    const v4 = await member(4, '$share/mixed/mx');
    const got = [collectMessages(v5, 3), collectMessages(v4, 3)];
    await publishNumbered('mx', 6);
    expectRoundRobin((await Promise.all(got)).map((ms) => ms.map((m) => Number(m.payload.toString()))), 6);
  });

  it('skips members whose session is offline and round-robins over the connected ones', async () => {
    const running = await start();
    const offline = await raw(5, { clientId: 'sh-offline', clean: false, properties: { sessionExpiryInterval: 60 } });
    await rawSubscribe(offline, [{ topic: '$share/g/off/t', qos: 1 }]);
    offline.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await closedWithin(offline);
    const a = await member(5, '$share/g/off/t');
    const b = await member(5, '$share/g/off/t');
    const got = [collectMessages(a, 3), collectMessages(b, 3)];
    await publishNumbered('off/t', 6);
    expectRoundRobin((await Promise.all(got)).map((ms) => ms.map((m) => Number(m.payload.toString()))), 6);
    expect(running.broker.stats().messages.queued).toBe(0);
  });

  it('No Local on a shared subscription is a protocol error: DISCONNECT 0x82 [MQTT-3.8.3-4]', async () => {
    const running = await start();
    const sub = await raw(5);
    sub.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: '$share/g/nl', qos: 1, nl: true }] });
    expect(await expectPacket(sub)).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    await closedWithin(sub);
    expect(running.broker.stats().subscriptions).toBe(0);
  });

  it('CONNACK advertises Shared Subscription Available', async () => {
    await start();
    const client = await open(5);
    const connack = await client.connect({ clientId: 'adv' });
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.properties?.sharedSubscriptionAvailable).toBe(true);
    expect(connack.properties?.wildcardSubscriptionAvailable).toBe(true);
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(true);
  });
});
