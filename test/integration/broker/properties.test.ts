import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import {
  captureBytes,
  closedWithin,
  drainUntilPing,
  publishesUntilPing,
  expectPacket,
  expectPublish,
  rawPublishQos1,
  rawSubscribe,
  userPropertyBytes,
} from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { collectMessages, nextMessage } from '../../helpers/start-broker.js';

const { start, current, open, connect: raw } = useRawBroker();

const forwarded = {
  payloadFormatIndicator: true,
  contentType: 'application/json; charset=utf-8',
  responseTopic: 'replies/ünïcode/1',
  correlationData: Buffer.from([0x00, 0xff, 0x10, 0x80]),
  userProperties: { first: 'a', repeated: ['x', 'y', 'z'], 'ключ': 'значение', last: '' },
};

describe('forwarded PUBLISH properties (MQTT 5)', () => {
  it.each([0, 1, 2] as const)(
    'payload format, content type, response topic, correlation data and user properties arrive unchanged at QoS %s [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]',
    async (qos) => {
      const running = await start();
      const sub = await running.connect({ protocolVersion: 5 });
      await sub.subscribeAsync('props/#', { qos: 2 });
      const rawSub = await raw(5);
      await rawSubscribe(rawSub, [{ topic: 'props/#', qos: 2 }]);
      const got = nextMessage(sub);
      const pub = await running.connect({ protocolVersion: 5 });
      await pub.publishAsync('props/t', '{"ok":true}', { qos, properties: forwarded });
      const { packet } = await got;
      expect(packet.payload.toString()).toBe('{"ok":true}');
      expect(packet.properties).toEqual(forwarded);
      const rawPacket = await expectPublish(rawSub);
      expect(rawPacket.properties).toEqual(forwarded);
      expect(rawPacket.qos).toBe(qos);
    },
  );

  it('user properties are forwarded in the order received (distinct keys, repeated key values in order) [MQTT-3.3.2-18]', async () => {
    await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'order/#', qos: 0 }]);
    const bytes = captureBytes(sub);
    const pub = await raw(5);
    pub.send({
      cmd: 'publish',
      topic: 'order/t',
      payload: Buffer.from('p'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { userProperties: { zeta: '1', alpha: ['2', '3'], mid: '4' } },
    });
    expect((await expectPublish(sub)).properties?.userProperties).toEqual({ zeta: '1', alpha: ['2', '3'], mid: '4' });
    const out = bytes();
    const positions = [
      ['zeta', '1'],
      ['alpha', '2'],
      ['alpha', '3'],
      ['mid', '4'],
    ].map(([k, v]) => out.indexOf(userPropertyBytes(k as string, v as string)));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  /** A raw v5 QoS 0 PUBLISH on `prefix/t` carrying `props` (user-property bytes) reaches a subscriber with those exact bytes. */
  async function expectUserPropertyBytesForwarded(prefix: string, props: Buffer): Promise<void> {
    await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: `${prefix}/#`, qos: 0 }]);
    const bytes = captureBytes(sub);
    const pub = await raw(5);
    const topic = Buffer.from(`${prefix}/t`);
    const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from([props.length]), props, Buffer.from('p')]);
    pub.sendBytes(Buffer.concat([Buffer.from([0x30, body.length]), body]));
    await expectPublish(sub);
    expect(bytes().includes(props)).toBe(true);
  }

  // mqtt-packet's object form would group interleaved names (a, a, b); the decoder keeps the wire order.
  it('user properties with interleaved repeated keys keep their exact wire order [MQTT-3.3.2-18]', async () => {
    await expectUserPropertyBytesForwarded('inter', Buffer.concat([userPropertyBytes('a', '1'), userPropertyBytes('b', '2'), userPropertyBytes('a', '3')]));
  });

  it('an empty user property value followed by the same name keeps both pairs [MQTT-3.3.2-18]', async () => {
    await expectUserPropertyBytesForwarded('empty', Buffer.concat([userPropertyBytes('k', ''), userPropertyBytes('k', 'x'), userPropertyBytes('j', 'y')]));
  });

  it('a 3.1.1 subscriber gets the payload of a v5 message without properties', async () => {
    const running = await start();
    const sub = await raw(4);
    await rawSubscribe(sub, [{ topic: 'v4/#', qos: 1 }]);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('v4/t', 'body', { qos: 1, properties: { ...forwarded, messageExpiryInterval: 30 } });
    const got = await expectPublish(sub);
    expect([got.topic, got.payload.toString(), got.qos, got.properties]).toEqual(['v4/t', 'body', 1, undefined]);
  });

  it('refuses PUBLISH with Payload Format Indicator 1 and a payload that is not UTF-8: PUBACK/PUBREC 0x99 [MQTT-3.3.2-4]', async () => {
    await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'pfi/#', qos: 0 }]);
    const pub = await raw(5);
    const bad = Buffer.from([0x68, 0xc3, 0x28, 0xff]);
    expect(await rawPublishQos1(pub, { topic: 'pfi/bad', payload: bad, properties: { payloadFormatIndicator: true } })).toBe(ReasonCode.PayloadFormatInvalid);
    pub.send({ cmd: 'publish', topic: 'pfi/bad', payload: bad, qos: 2, dup: false, retain: false, messageId: 900, properties: { payloadFormatIndicator: true } });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 900, reasonCode: ReasonCode.PayloadFormatInvalid });
    // the same bytes are fine when declared as unspecified bytes, and valid UTF-8 is fine with 1
    expect(await rawPublishQos1(pub, { topic: 'pfi/raw', payload: bad, properties: { payloadFormatIndicator: false } })).toBe(ReasonCode.Success);
    expect(await rawPublishQos1(pub, { topic: 'pfi/utf8', payload: Buffer.from('héllo'), properties: { payloadFormatIndicator: true } })).toBe(
      ReasonCode.Success,
    );
    expect(await drainUntilPing(pub)).toEqual([]);
    const delivered = (await drainUntilPing(sub)).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    expect(delivered).toEqual(['pfi/raw', 'pfi/utf8']);
  });

  it('a client PUBLISH carrying a Subscription Identifier is a protocol error: DISCONNECT 0x82 [MQTT-3.3.4-6]', async () => {
    await start();
    const pub = await raw(5);
    pub.send({ cmd: 'publish', topic: 'sid/t', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { subscriptionIdentifier: 5 } });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    await closedWithin(pub);
  });
});

describe('message expiry (MQTT 5)', () => {
  it('forwards the remaining interval: live, and to a persistent session that was offline [MQTT-3.3.2-6]', async () => {
    const running = await start();
    const session = { clientId: 'exp-sub', clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub = await raw(5, session);
    await rawSubscribe(sub, [{ topic: 'exp/#', qos: 1 }]);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('exp/live', 'l', { qos: 1, properties: { messageExpiryInterval: 10 } });
    const live = await expectPublish(sub);
    expect(live.properties?.messageExpiryInterval).toBe(10);
    sub.send({ cmd: 'puback', messageId: live.messageId as number });
    sub.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await closedWithin(sub); // the broker closes after DISCONNECT: the session is detached

    await pub.publishAsync('exp/offline', 'o', { qos: 1, properties: { messageExpiryInterval: 10 } });
    await pub.publishAsync('exp/none', 'n', { qos: 1 });
    const again = await raw(5, session);
    const offline = await expectPublish(again);
    expect(offline.topic).toBe('exp/offline');
    const remaining = offline.properties?.messageExpiryInterval as number;
    expect(remaining).toBeGreaterThanOrEqual(9);
    expect(remaining).toBeLessThanOrEqual(10);
    const none = await expectPublish(again);
    expect(none.topic).toBe('exp/none');
    expect(none.properties?.messageExpiryInterval).toBeUndefined();
  });

  it('never delivers a message that expired while the subscriber was offline [MQTT-3.3.2-5]', async () => {
    const running = await start();
    const session = { clientId: 'expired-sub', clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub = await raw(5, session);
    await rawSubscribe(sub, [{ topic: 'gone/#', qos: 1 }]);
    sub.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await closedWithin(sub);

    const pub = await running.connect({ protocolVersion: 5 });
    const publishedAt = Date.now();
    await pub.publishAsync('gone/short', 's', { qos: 1, properties: { messageExpiryInterval: 1 } });
    expect(running.broker.stats().messages.queued).toBe(1);
    // real time has to pass for the message to expire
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, publishedAt + 1100 - Date.now())));
    await pub.publishAsync('gone/marker', 'm', { qos: 1 });

    const again = await raw(5, session);
    const first = await expectPublish(again);
    expect(first.topic).toBe('gone/marker');
    again.send({ cmd: 'puback', messageId: first.messageId as number });
    expect(await drainUntilPing(again)).toEqual([]);
  });
  it('with maxMessageExpirySeconds, a message without expiry gets none forwarded, a longer one is capped', async () => {
    const running = await start({ clients: { maxMessageExpirySeconds: 60 } });
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'cap/#', qos: 0 }]);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('cap/none', 'n', { qos: 1 });
    await pub.publishAsync('cap/long', 'l', { qos: 1, properties: { messageExpiryInterval: 3600 } });
    await pub.publishAsync('cap/short', 's', { qos: 1, properties: { messageExpiryInterval: 30 } });
    const [none, long, short] = await publishesUntilPing(sub);
    expect(none).toMatchObject({ cmd: 'publish', topic: 'cap/none' });
    expect(none?.properties?.messageExpiryInterval).toBeUndefined();
    expect(long).toMatchObject({ cmd: 'publish', topic: 'cap/long', properties: { messageExpiryInterval: 60 } });
    expect(short).toMatchObject({ cmd: 'publish', topic: 'cap/short', properties: { messageExpiryInterval: 30 } });
  });
});

describe('topic aliases (MQTT 5)', () => {
  it('inbound: alias with topic defines it, alias alone uses it; CONNACK advertises the maximum [MQTT-3.3.2-12]', async () => {
    const running = await start({ topicAliasMaximum: 5 });
    const sub = await running.connect({ protocolVersion: 5 });
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const got = collectMessages(sub, 3);
    const pub = await open(5);
    const connack = await pub.connect({ clientId: 'alias-pub' });
    expect(connack.properties?.topicAliasMaximum).toBe(5);
    pub.send({ cmd: 'publish', topic: 'alias/one', payload: Buffer.from('1'), qos: 0, dup: false, retain: false, properties: { topicAlias: 5 } });
    pub.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: 5 } });
    // re-defining the alias to another topic [MQTT-3.3.2-12]
    pub.send({ cmd: 'publish', topic: 'alias/two', payload: Buffer.from('3'), qos: 0, dup: false, retain: false, properties: { topicAlias: 5 } });
    expect((await got).map((m) => `${m.topic}=${m.payload.toString()}`)).toEqual(['alias/one=1', 'alias/one=2', 'alias/two=3']);
  });

  it.each([
    ['alias 0', 0],
    ['alias above the maximum', 6],
  ])('inbound %s: DISCONNECT 0x94 Topic Alias Invalid [MQTT-3.3.2-8] [MQTT-3.3.2-9]', async (_name, alias) => {
    await start({ topicAliasMaximum: 5 });
    const pub = await raw(5);
    pub.send({ cmd: 'publish', topic: 'alias/x', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: alias } });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.TopicAliasInvalid });
    await closedWithin(pub);
  });

  it('inbound: an empty topic with an alias that was never defined is a protocol error (0x82)', async () => {
    await start();
    const pub = await raw(5);
    pub.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'disconnect', reasonCode: ReasonCode.ProtocolError });
    await closedWithin(pub);
  });

  it('outbound: alias with the topic first, then alias alone; none beyond the client maximum [MQTT-3.3.2-9] [MQTT-3.3.2-10]', async () => {
    const running = await start();
    const sub = await raw(5, { properties: { topicAliasMaximum: 2 } });
    await rawSubscribe(sub, [{ topic: 'oa/#', qos: 1 }]);
    const send = (topic: string): Promise<void> => current().broker.publish({ topic, payload: Buffer.from(topic), qos: 0, retain: false });
    for (const topic of ['oa/x', 'oa/x', 'oa/y', 'oa/z', 'oa/y', 'oa/z']) await send(topic);
    const packets = await drainUntilPing(sub);
    const seen = packets.map((p) => (p.cmd === 'publish' ? [p.topic, p.properties?.topicAlias, p.payload.toString()] : [p.cmd]));
    expect(seen).toEqual([
      ['oa/x', 1, 'oa/x'],
      ['', 1, 'oa/x'],
      ['oa/y', 2, 'oa/y'],
      ['oa/z', undefined, 'oa/z'],
      ['', 2, 'oa/y'],
      ['oa/z', undefined, 'oa/z'],
    ]);
    // QoS 1 deliveries use the aliases too
    await running.broker.publish({ topic: 'oa/x', payload: Buffer.from('q1'), qos: 1, retain: false });
    const q1 = await expectPublish(sub);
    expect([q1.topic, q1.properties?.topicAlias, q1.qos]).toEqual(['', 1, 1]);
  });

  it('outbound: a message too large for the client does not use up an alias the client never learnt [MQTT-3.1.2-25]', async () => {
    const running = await start();
    const sub = await raw(5, { properties: { topicAliasMaximum: 2, maximumPacketSize: 64 } });
    await rawSubscribe(sub, [{ topic: 'big/#', qos: 0 }]);
    await running.broker.publish({ topic: 'big/t', payload: Buffer.alloc(100, 0x61), qos: 0, retain: false });
    await running.broker.publish({ topic: 'big/t', payload: Buffer.from('small'), qos: 0, retain: false });
    await running.broker.publish({ topic: 'big/t', payload: Buffer.from('again'), qos: 0, retain: false });
    const packets = await drainUntilPing(sub);
    expect(packets.map((p) => (p.cmd === 'publish' ? [p.topic, p.properties?.topicAlias, p.payload.toString()] : [p.cmd]))).toEqual([
      ['big/t', 1, 'small'],
      ['', 1, 'again'],
    ]);
  });

  it('outbound: no aliases for a client that did not allow them [MQTT-3.3.2-9]', async () => {
    const running = await start();
    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'na/#', qos: 0 }]);
    await running.broker.publish({ topic: 'na/x', payload: Buffer.from('1'), qos: 0, retain: false });
    await running.broker.publish({ topic: 'na/x', payload: Buffer.from('2'), qos: 0, retain: false });
    const packets = await drainUntilPing(sub);
    expect(packets.map((p) => (p.cmd === 'publish' ? [p.topic, p.properties?.topicAlias] : [p.cmd]))).toEqual([
      ['na/x', undefined],
      ['na/x', undefined],
    ]);
  });

  it('outbound: the mqtt client resolves the aliases it allowed', async () => {
    const running = await start();
    const sub = await running.connect({ protocolVersion: 5, properties: { topicAliasMaximum: 4 } });
    await sub.subscribeAsync('mc/#', { qos: 1 });
    const got = collectMessages(sub, 3);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('mc/a', '1', { qos: 1 });
    await pub.publishAsync('mc/a', '2', { qos: 0 });
    await pub.publishAsync('mc/a', '3', { qos: 2 });
    expect((await got).map((m) => `${m.topic}=${m.payload.toString()}`)).toEqual(['mc/a=1', 'mc/a=2', 'mc/a=3']);
  });
});
