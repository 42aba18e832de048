/**
 * Ports of the Eclipse Paho MQTT 3.1.1 interoperability cases (eclipse/paho.mqtt.testing,
 * interoperability/client_test.py, © IBM Corp. and others, EPL-1.0 / EDL-1.0): each case keeps
 * Paho's name, steps and checks, written anew in TypeScript on the real `mqtt` client and our
 * byte-level client. No Paho code is copied. Where Paho sleeps before a check, the port waits for
 * the condition instead, or for a marker message routed after everything the check is about
 * (`roundTrip`); timers tested (keep alive) use short values. Every run has its own client ids and
 * topics (see paho-run.ts). The cases are registered against each target by paho-v311.test.ts.
 */
import { expect } from 'vitest';
import { connectBytes } from '../helpers/packet-bytes.js';
import type { RawClient } from '../helpers/raw-client.js';
import { until, type PahoCase, type PahoClient, type PahoRun } from './paho-run.js';

/** Steps shared with the MQTT 5 port: a second CONNECT on a connection, and a wrong protocol name, are refused. */
export async function expectBadConnectsRefused(client: PahoClient, version: 4 | 5): Promise<void> {
  // Paho: connect, then connect again on the same socket: "should fail" [MQTT-3.1.0-2]
  const twice = await client.raw();
  const first = await twice.connect({ clientId: client.clientId, clean: true });
  expect(version === 5 ? first.reasonCode : first.returnCode).toBe(0);
  twice.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: client.clientId });
  const reply = await twice.next();
  if (reply !== undefined) {
    // MQTT 5 may say why first: DISCONNECT 0x82 Protocol Error; 3.1.1 has nothing to say
    expect(version).toBe(5);
    expect(reply.cmd === 'disconnect' ? reply.reasonCode : reply.cmd).toBe(0x82);
  }
  await twice.closed;
  // Paho: connect with protocol name "hj": "should fail" [MQTT-3.1.2-1]
  const wrongName = await client.raw();
  wrongName.sendBytes(connectBytes({ level: version, protocolName: 'hj', clientId: client.clientId }));
  await expectNoSuccessfulConnack(wrongName, version);
}

/** The connection is closed without a successful CONNACK (a refusing CONNACK first is allowed). */
async function expectNoSuccessfulConnack(raw: RawClient, version: 4 | 5): Promise<void> {
  const reply = await raw.next();
  if (reply !== undefined) {
    expect(reply.cmd).toBe('connack');
    if (reply.cmd === 'connack') expect(version === 5 ? reply.reasonCode : reply.returnCode).not.toBe(0);
  }
  await raw.closed;
}

/** test_overlapping_subscriptions, the same steps in both suites. */
export async function overlappingSubscriptions(r: PahoRun): Promise<void> {
  const { a, topics, wildtopics } = r;
  a.callbacks.clear();
  r.b.callbacks.clear();
  await a.connect();
  await a.subscribe({ [wildtopics[6]!]: { qos: 2 }, [wildtopics[0]!]: { qos: 1 } });
  await a.publish(topics[3]!, 'overlapping topic filters', 2);
  await until('the message', () => a.callbacks.messages.length >= 1);
  await a.roundTrip(`${r.prefix}TopicA/marker`); // matches both filters: any second copy came before it
  const qoss = a.callbacks.messages.map((m) => m.qos);
  expect([1, 2]).toContain(qoss.length);
  // One message at the highest QoS of the matching subscriptions, or one per subscription [MQTT-3.3.5-1]
  if (qoss.length === 1) expect(qoss[0]).toBe(2);
  else expect([...qoss].sort()).toEqual([1, 2]);
  await a.disconnect();
}

/** test_keepalive, the same steps in both suites (keep alive 1 s instead of Paho's 5). */
export async function keepalive(r: PahoRun): Promise<void> {
  const { a, b, topics } = r;
  b.callbacks.clear();
  // aclient sends nothing after its CONNECT (no PINGREQ): the server must close it and publish its will
  const silent = await a.raw();
  await silent.connect({ clientId: a.clientId, clean: true, keepalive: 1, will: { topic: topics[4]!, payload: Buffer.from('keepalive expiry'), qos: 0, retain: false } });
  await b.connect({ clean: true, keepalive: 0 });
  await b.subscribe(topics[4]!, { qos: 2 });
  await until('the will of the silent client', () => b.callbacks.messages.length >= 1, 5000); // [MQTT-3.1.2-24]: after 1.5 x keep alive
  await b.disconnect();
  expect(b.callbacks.messages.map((m) => [m.topic, m.payload])).toEqual([[topics[4], 'keepalive expiry']]);
}

/**
 * test_dollar_topics, the same steps in both suites. Paho subscribes `+/+` and publishes to
 * `$TopicA/B`; under the run's prefix that topic is `$<prefix>/TopicA/B`, so the port subscribes
 * `+/+/+`: a filter starting with a wildcard, with as many levels as the `$` topic.
 */
export async function dollarTopics(r: PahoRun): Promise<void> {
  const { b, topics } = r;
  b.callbacks.clear();
  await b.connect({ clean: true, keepalive: 0 });
  await b.subscribe('+/+/+', { qos: 2 });
  await b.roundTrip(`${r.prefix}marker/x`); // "wait for all retained messages"
  b.callbacks.clear();
  await b.publish(`$${topics[1]!}`, '', 1);
  await b.roundTrip(`${r.prefix}marker/x`);
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with $
  expect(b.callbacks.messages).toEqual([]);
  await b.disconnect();
}

/** test_redelivery_on_reconnect, the same steps in both suites (MQTT 5: Session Expiry 99999 at both CONNECTs). */
export async function redeliveryOnReconnect(r: PahoRun): Promise<void> {
  const { b, topics, wildtopics } = r;
  const session = r.version === 5 ? { properties: { sessionExpiryInterval: 99999 } } : {};
  b.callbacks.clear();
  // bclient "paused": it reads nothing it is sent, so acknowledges nothing
  const paused = await b.raw();
  await paused.connect({ clientId: b.clientId, clean: false, ...session });
  paused.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: wildtopics[6]!, qos: 2 }] });
  expect((await paused.nextOf('suback'))?.cmd).toBe('suback');
  paused.send({ cmd: 'publish', topic: topics[1]!, payload: Buffer.alloc(0), qos: 1, messageId: 2, retain: false, dup: false });
  paused.send({ cmd: 'publish', topic: topics[3]!, payload: Buffer.alloc(0), qos: 2, messageId: 3, retain: false, dup: false });
  // Paho sleeps 1 s: the port waits until both messages were sent to it (in flight, unacknowledged)
  let inFlight = 0;
  while (inFlight < 2) if ((await paused.nextOf('publish')) !== undefined) inFlight++;
  paused.send({ cmd: 'disconnect' });
  await paused.closed;
  expect(b.callbacks.messages.length).toBe(0);

  // resumed: the server sends both again [MQTT-4.4.0-1]
  await b.connect({ clean: false, ...session });
  await until('2 messages again', () => b.callbacks.messages.length >= 2);
  await b.roundTrip(`${r.prefix}TopicA/marker`);
  await b.disconnect();
  expect(b.callbacks.messages.length).toBe(2);
}

/** The MQTT 3.1.1 cases, in the order of client_test.py. */
export const V311_CASES: readonly PahoCase[] = [
  {
    name: 'testBasic',
    run: async (r) => {
      const { a, topics } = r;
      await a.connect();
      await a.disconnect();
      const connack = await a.connect();
      expect(connack.sessionPresent).toBe(false); // Paho: connack.flags == 0x00
      await a.subscribe(topics[0]!, { qos: 2 });
      await a.publish(topics[0]!, 'qos 0');
      await a.publish(topics[0]!, 'qos 1', 1);
      await a.publish(topics[0]!, 'qos 2', 2);
      await until('3 messages', () => a.callbacks.messages.length >= 3);
      await a.disconnect();
      expect(a.callbacks.messages.length).toBe(3);
      await expectBadConnectsRefused(a, 4);
    },
  },
  {
    name: 'test_retained_messages',
    run: async (r) => {
      const { a, topics, wildtopics } = r;
      a.callbacks.clear();
      let connack = await a.connect({ clean: true });
      expect(connack.sessionPresent).toBe(false);
      await a.publish(topics[1]!, 'qos 0', 0, { retain: true });
      await a.publish(topics[2]!, 'qos 1', 1, { retain: true });
      await a.publish(topics[3]!, 'qos 2', 2, { retain: true });
      await a.subscribe(wildtopics[5]!, { qos: 2 });
      await until('3 retained messages', () => a.callbacks.messages.length >= 3);
      await a.disconnect();
      expect(a.callbacks.messages.length).toBe(3);

      // clear retained messages
      a.callbacks.clear();
      connack = await a.connect({ clean: true });
      expect(connack.sessionPresent).toBe(false);
      await a.publish(topics[1]!, '', 0, { retain: true });
      await a.publish(topics[2]!, '', 1, { retain: true });
      await a.publish(topics[3]!, '', 2, { retain: true });
      await a.subscribe(wildtopics[5]!, { qos: 2 });
      await a.roundTrip(`${r.prefix}marker/x`);
      await a.disconnect();
      expect(a.callbacks.messages).toEqual([]);
    },
  },
  {
    // Defined in client_test.py but not run by Paho's unittest (its name does not start with "test").
    name: 'will_message_test',
    run: async (r) => {
      const { a, b, topics } = r;
      b.callbacks.clear();
      await a.connect({ clean: true, keepalive: 2, will: { topic: topics[2]!, payload: Buffer.from('client not disconnected'), qos: 0, retain: false } });
      await b.connect({ clean: false });
      await b.subscribe(topics[2]!, { qos: 2 });
      a.terminate();
      await until('the will', () => b.callbacks.messages.length >= 1); // [MQTT-3.1.2-8]
      await b.disconnect();
      expect(b.callbacks.messages.map((m) => m.payload)).toEqual(['client not disconnected']);
    },
  },
  {
    name: 'test_zero_length_clientid',
    run: async (r) => {
      const client0 = r.other('');
      // cleansession=False: "should be rejected" [MQTT-3.1.3-8]
      const refused = await client0.raw();
      refused.sendBytes(connectBytes({ level: 4, clean: false, clientId: '' }));
      const ack = await refused.next();
      expect(ack?.cmd === 'connack' ? ack.returnCode : undefined).toBe(2); // 0x02 Identifier rejected
      // cleansession=True: "should work" [MQTT-3.1.3-6]
      const connack = await client0.connect({ clean: true });
      expect(connack.returnCode).toBe(0);
      await client0.disconnect();
    },
  },
  {
    name: 'test_offline_message_queueing',
    run: async (r) => {
      const { a, b, topics, wildtopics } = r;
      a.callbacks.clear();
      await a.connect({ clean: false });
      await a.subscribe(wildtopics[5]!, { qos: 2 });
      await a.disconnect();

      const connack = await b.connect({ clean: true });
      expect(connack.sessionPresent).toBe(false);
      await b.publish(topics[1]!, 'qos 0', 0);
      await b.publish(topics[2]!, 'qos 1', 1);
      await b.publish(topics[3]!, 'qos 2', 2);
      await b.disconnect();

      const resumed = await a.connect({ clean: false });
      expect(resumed.sessionPresent).toBe(true); // Paho: connack.flags == 0x01
      await a.roundTrip(`${r.prefix}marker/x`); // after the queued messages
      await a.disconnect();
      // QoS 0 may or may not be queued for an offline client; QoS 1 and 2 must be [MQTT-3.1.2-5]
      expect([2, 3]).toContain(a.callbacks.messages.length);
    },
  },
  { name: 'test_overlapping_subscriptions', run: overlappingSubscriptions },
  { name: 'test_keepalive', run: keepalive, waits: true },
  { name: 'test_redelivery_on_reconnect', run: redeliveryOnReconnect },
  {
    name: 'test_subscribe_failure',
    run: async (r) => {
      const { a } = r;
      await a.connect();
      const granted = await a.subscribe(r.nosubscribe, { qos: 2 });
      expect(granted[0]).toBe(0x80); // [MQTT-3.9.3-2] Failure
    },
  },
  { name: 'test_dollar_topics', run: dollarTopics },
  {
    name: 'test_unsubscribe',
    run: async (r) => {
      const { a, b, topics } = r;
      b.callbacks.clear();
      await b.connect({ clean: true });
      await b.subscribe(topics[0]!, { qos: 2 });
      await b.subscribe(topics[1]!, { qos: 2 });
      await b.subscribe(topics[2]!, { qos: 2 });
      await b.unsubscribe(topics[0]!);

      await a.connect({ clean: true });
      await a.publish(topics[0]!, '', 1);
      await a.publish(topics[1]!, '', 1);
      await a.publish(topics[2]!, '', 1);
      await until('2 messages', () => b.callbacks.messages.length >= 2);
      await a.roundTrip(topics[2]!, b);
      await b.disconnect();
      await a.disconnect();
      expect(b.callbacks.messages.map((m) => m.topic)).toEqual([topics[1], topics[2]]); // Paho counts 2
    },
  },
];
