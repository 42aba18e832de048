import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { drainUntilPing, expectPacket, expectPublish, rawPublishQos1, rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { collectMessages } from '../../helpers/start-broker.js';

const { start, connect: raw } = useRawBroker();

describe.each([5, 4] as const)('QoS 0/1/2 end to end, MQTT %s', (protocolVersion) => {
  /** CONNECT fields of a session that outlives its connection. */
  const persistent = protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };

  it('delivers at min(publish QoS, subscription QoS) for every combination [MQTT-3.8.4-8]', async () => {
    const running = await start();
    const sub = await running.connect({ protocolVersion });
    for (const s of [0, 1, 2] as const) await sub.subscribeAsync(`q/sub${s}/#`, { qos: s });
    const pub = await running.connect({ protocolVersion });
    const got = collectMessages(sub, 9);
    for (const s of [0, 1, 2] as const) {
      for (const p of [0, 1, 2] as const) await pub.publishAsync(`q/sub${s}/pub${p}`, `${s}${p}`, { qos: p });
    }
    const messages = await got;
    expect(messages.map((m) => m.topic)).toEqual([0, 1, 2].flatMap((s) => [0, 1, 2].map((p) => `q/sub${s}/pub${p}`)));
    for (const m of messages) {
      const [s, p] = [...m.payload.toString()].map(Number) as [number, number];
      expect(m.packet.qos, m.topic).toBe(Math.min(s, p));
    }
  });

  it('keeps the order of messages per subscriber at QoS 1 and 2, also with a small Receive Maximum [MQTT-4.6.0-5]', async () => {
    const running = await start();
    const sub = await running.connect({ protocolVersion, ...(protocolVersion === 5 ? { properties: { receiveMaximum: 2 } } : {}) });
    await sub.subscribeAsync('order/+', { qos: 2 });
    const pub = await running.connect({ protocolVersion });
    const got = collectMessages(sub, 120);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) sends.push(pub.publishAsync('order/q1', `1-${i}`, { qos: 1 }));
    for (let i = 0; i < 60; i++) sends.push(pub.publishAsync('order/q2', `2-${i}`, { qos: 2 }));
    await Promise.all(sends);
    const messages = await got;
    const q1 = messages.filter((m) => m.topic === 'order/q1').map((m) => m.payload.toString());
    const q2 = messages.filter((m) => m.topic === 'order/q2').map((m) => m.payload.toString());
    expect(q1).toEqual(Array.from({ length: 60 }, (_, i) => `1-${i}`));
    expect(q2).toEqual(Array.from({ length: 60 }, (_, i) => `2-${i}`));
    expect(messages.slice(0, 60).every((m) => m.topic === 'order/q1')).toBe(true);
  });

  it('runs the exact QoS 2 exchange in both directions (PUBLISH, PUBREC, PUBREL, PUBCOMP) [MQTT-4.3.3-1]', async () => {
    const running = await start();
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'q2/x', qos: 2 }]);
    const pub = await raw(protocolVersion);

    pub.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('hello'), qos: 2, dup: false, retain: false, messageId: 321 });
    const pubrec = await expectPacket(pub);
    expect(pubrec).toMatchObject({ cmd: 'pubrec', messageId: 321 });
    if (protocolVersion === 5) expect((pubrec as { reasonCode?: number }).reasonCode ?? ReasonCode.Success).toBe(ReasonCode.Success);

    // outbound: the subscriber gets QoS 2 with a packet id, and the broker waits for PUBREC
    const delivered = await expectPublish(sub);
    expect(delivered).toMatchObject({ topic: 'q2/x', qos: 2, dup: false, retain: false });
    expect(delivered.payload.toString()).toBe('hello');
    const outId = delivered.messageId as number;
    expect(outId).toBeGreaterThan(0);
    sub.send({ cmd: 'pubrec', messageId: outId });
    expect(await expectPacket(sub)).toMatchObject({ cmd: 'pubrel', messageId: outId });
    expect(running.broker.stats().messages.inflight).toBe(1);
    sub.send({ cmd: 'pubcomp', messageId: outId });
    expect(await drainUntilPing(sub)).toEqual([]);
    expect(running.broker.stats().messages.inflight).toBe(0);

    // inbound: PUBREL releases the id, PUBCOMP answers it [MQTT-4.3.3-11]
    pub.send({ cmd: 'pubrel', messageId: 321 });
    const pubcomp = await expectPacket(pub);
    expect(pubcomp).toMatchObject({ cmd: 'pubcomp', messageId: 321 });
    if (protocolVersion === 5) expect((pubcomp as { reasonCode?: number }).reasonCode ?? ReasonCode.Success).toBe(ReasonCode.Success);
  });

  it('delivers an inbound QoS 2 message once when it is retransmitted with DUP before PUBREL [MQTT-4.3.3-10]', async () => {
    await start();
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'dup/#', qos: 0 }]);
    const pub = await raw(protocolVersion);
    const publish = { cmd: 'publish', topic: 'dup/a', payload: Buffer.from('once'), qos: 2, retain: false, messageId: 7 } as const;
    pub.send({ ...publish, dup: false });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 7 });
    pub.send({ ...publish, dup: true });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 7 });
    pub.send({ cmd: 'pubrel', messageId: 7 });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubcomp', messageId: 7 });
    // barrier: a marker published afterwards is the next thing after the single delivery
    pub.send({ cmd: 'publish', topic: 'dup/marker', payload: Buffer.from('m'), qos: 0, dup: false, retain: false });
    const first = await expectPublish(sub);
    expect([first.topic, first.payload.toString()]).toEqual(['dup/a', 'once']);
    const second = await expectPublish(sub);
    expect(second.topic).toBe('dup/marker');

    // after PUBREL the packet id is free again: the same id is a new message
    pub.send({ ...publish, payload: Buffer.from('again'), dup: false });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 7 });
    expect((await expectPublish(sub)).payload.toString()).toBe('again');
  });

  it('remembers an unreleased inbound QoS 2 packet id across a reconnect of a persistent session [MQTT-4.3.3-10]', async () => {
    await start();
    const sub = await raw(protocolVersion);
    await rawSubscribe(sub, [{ topic: 'q2r/#', qos: 0 }]);
    const clientId = `q2r-pub-${protocolVersion}`;
    const pub = await raw(protocolVersion, { clientId, ...persistent });
    const publish = { cmd: 'publish', topic: 'q2r/a', payload: Buffer.from('once'), qos: 2, retain: false, messageId: 11 } as const;
    pub.send({ ...publish, dup: false });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 11 });
    pub.destroy();
    const again = await raw(protocolVersion, { clientId, ...persistent });
    again.send({ ...publish, dup: true });
    expect(await expectPacket(again)).toMatchObject({ cmd: 'pubrec', messageId: 11 });
    again.send({ cmd: 'pubrel', messageId: 11 });
    expect(await expectPacket(again)).toMatchObject({ cmd: 'pubcomp', messageId: 11 });
    again.send({ cmd: 'publish', topic: 'q2r/marker', payload: Buffer.from('m'), qos: 0, dup: false, retain: false });
    expect((await expectPublish(sub)).topic).toBe('q2r/a');
    expect((await expectPublish(sub)).topic).toBe('q2r/marker');
  });

  it('redelivers an unacknowledged QoS 1 message with the same packet id and DUP=1 after reconnect [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const running = await start();
    const expiring = protocolVersion === 5 ? { clean: true, properties: { sessionExpiryInterval: 60 } } : { clean: false };
    const clientId = `dup-sub-${protocolVersion}`;
    const sub = await raw(protocolVersion, { clientId, ...expiring });
    await rawSubscribe(sub, [{ topic: 'redeliver', qos: 1 }]);
    await running.broker.publish({ topic: 'redeliver', payload: Buffer.from('m1'), qos: 1, retain: false });
    await running.broker.publish({ topic: 'redeliver', payload: Buffer.from('m2'), qos: 1, retain: false });
    const first = await expectPublish(sub);
    const second = await expectPublish(sub);
    expect([first.dup, second.dup]).toEqual([false, false]);
    sub.destroy(); // no PUBACK

    const again = await raw(protocolVersion, { clientId, ...(protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false }) });
    const r1 = await expectPublish(again);
    const r2 = await expectPublish(again);
    expect([r1.messageId, r1.dup, r1.qos, r1.payload.toString()]).toEqual([first.messageId, true, 1, 'm1']);
    expect([r2.messageId, r2.dup, r2.qos, r2.payload.toString()]).toEqual([second.messageId, true, 1, 'm2']);
    again.send({ cmd: 'puback', messageId: r1.messageId as number });
    again.send({ cmd: 'puback', messageId: r2.messageId as number });
    expect(await drainUntilPing(again)).toEqual([]);
    expect(running.broker.stats().messages.inflight).toBe(0);
  });

  it('queues QoS 1/2 (not QoS 0) for an offline persistent session and delivers them in order on reconnect', async () => {
    const running = await start();
    const clientId = `offline-${protocolVersion}`;
    const sub = await raw(protocolVersion, { clientId, ...persistent });
    await rawSubscribe(sub, [{ topic: 'off/#', qos: 2 }]);
    sub.send({ cmd: 'disconnect' });
    await sub.closed;
    for (const [i, qos] of [[0, 1], [1, 0], [2, 2], [3, 1]] as const) {
      await running.broker.publish({ topic: `off/${i}`, payload: Buffer.from(String(i)), qos, retain: false });
    }
    expect(running.broker.stats().messages.queued).toBe(3);
    const again = await raw(protocolVersion, { clientId, ...persistent });
    const got = await drainUntilPing(again);
    expect(got.map((p) => (p.cmd === 'publish' ? [p.topic, p.qos, p.dup] : [p.cmd]))).toEqual([
      ['off/0', 1, false],
      ['off/2', 2, false],
      ['off/3', 1, false],
    ]);
  });

  it('resends PUBREL (not the PUBLISH) on reconnect when PUBREC was received [MQTT-4.4.0-1]', async () => {
    const running = await start();
    const clientId = `rel-sub-${protocolVersion}`;
    const sub = await raw(protocolVersion, { clientId, ...persistent });
    await rawSubscribe(sub, [{ topic: 'rel', qos: 2 }]);
    await running.broker.publish({ topic: 'rel', payload: Buffer.from('x'), qos: 2, retain: false });
    const delivered = await expectPublish(sub);
    const id = delivered.messageId as number;
    sub.send({ cmd: 'pubrec', messageId: id });
    expect(await expectPacket(sub)).toMatchObject({ cmd: 'pubrel', messageId: id });
    sub.destroy(); // no PUBCOMP

    const again = await raw(protocolVersion, { clientId, ...persistent });
    expect(await expectPacket(again)).toMatchObject({ cmd: 'pubrel', messageId: id });
    again.send({ cmd: 'pubcomp', messageId: id });
    expect(await drainUntilPing(again)).toEqual([]);
    expect(running.broker.stats().messages.inflight).toBe(0);
  });

  it('resends an unacknowledged QoS 2 PUBLISH with DUP=1 when no PUBREC came [MQTT-4.4.0-1]', async () => {
    const running = await start();
    const clientId = `q2dup-sub-${protocolVersion}`;
    const sub = await raw(protocolVersion, { clientId, ...persistent });
    await rawSubscribe(sub, [{ topic: 'q2dup', qos: 2 }]);
    await running.broker.publish({ topic: 'q2dup', payload: Buffer.from('y'), qos: 2, retain: false });
    const delivered = await expectPublish(sub);
    sub.destroy();
    const again = await raw(protocolVersion, { clientId, ...persistent });
    const resent = await expectPublish(again);
    expect([resent.messageId, resent.dup, resent.qos, resent.payload.toString()]).toEqual([delivered.messageId, true, 2, 'y']);
    again.send({ cmd: 'pubrec', messageId: resent.messageId as number });
    expect(await expectPacket(again)).toMatchObject({ cmd: 'pubrel', messageId: resent.messageId });
    again.send({ cmd: 'pubcomp', messageId: resent.messageId as number });
    expect(await drainUntilPing(again)).toEqual([]);
  });
});

describe('QoS acknowledgements (MQTT 5)', () => {
  it('answers PUBACK/PUBREC 0x10 No Matching Subscribers when nobody subscribed, 0x00 otherwise', async () => {
    await start();
    const pub = await raw(5);
    expect(await rawPublishQos1(pub, { topic: 'nobody/here', payload: Buffer.from('x') })).toBe(ReasonCode.NoMatchingSubscribers);
    pub.send({ cmd: 'publish', topic: 'nobody/here', payload: Buffer.from('x'), qos: 2, dup: false, retain: false, messageId: 9 });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubrec', messageId: 9, reasonCode: ReasonCode.NoMatchingSubscribers });
    pub.send({ cmd: 'pubrel', messageId: 9 });
    expect(await expectPacket(pub)).toMatchObject({ cmd: 'pubcomp', messageId: 9 });

    const sub = await raw(5);
    await rawSubscribe(sub, [{ topic: 'nobody/+', qos: 0 }]);
    expect(await rawPublishQos1(pub, { topic: 'nobody/here', payload: Buffer.from('x') })).toBe(ReasonCode.Success);
  });

  it('answers PUBREL and PUBREC for unknown packet ids with 0x92 Packet Identifier Not Found', async () => {
    await start();
    const client = await raw(5);
    client.send({ cmd: 'pubrel', messageId: 4711 });
    expect(await expectPacket(client)).toMatchObject({ cmd: 'pubcomp', messageId: 4711, reasonCode: ReasonCode.PacketIdentifierNotFound });
    client.send({ cmd: 'pubrec', messageId: 4712 });
    expect(await expectPacket(client)).toMatchObject({ cmd: 'pubrel', messageId: 4712, reasonCode: ReasonCode.PacketIdentifierNotFound });
    // an unknown PUBACK/PUBCOMP is ignored; the connection stays usable
    client.send({ cmd: 'puback', messageId: 4713 });
    client.send({ cmd: 'pubcomp', messageId: 4714 });
    expect(await drainUntilPing(client)).toEqual([]);
  });

  it('3.1.1 PUBACK carries no reason code even without subscribers', async () => {
    await start();
    const pub = await raw(4);
    pub.sendBytes([0x32, 0x07, 0x00, 0x01, 0x74, 0x00, 0x05, 0x68, 0x69]); // PUBLISH QoS 1 "t" id 5 "hi"
    const ack = await expectPacket(pub);
    expect(ack).toMatchObject({ cmd: 'puback', messageId: 5, length: 2 });
  });
});

describe('packet identifiers of outbound QoS 1 messages', () => {
  it('are never reused while in flight and are reused once acknowledged [MQTT-2.2.1-3]', async () => {
    const running = await start();
    const sub = await raw(5, { properties: { receiveMaximum: 65_535 } });
    await rawSubscribe(sub, [{ topic: 'ids', qos: 1 }]);
    const total = 65_535;
    for (let i = 0; i < total; i++) void running.broker.publish({ topic: 'ids', payload: Buffer.from([i & 0xff]), qos: 1, retain: false });
    const ids = new Set<number>();
    for (let i = 0; i < total; i++) ids.add((await expectPublish(sub)).messageId as number);
    expect(ids.size).toBe(total); // every id of 1..65535 in flight at once, none twice
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(65_535);

    // one more: no id is free, so it waits in the queue
    await running.broker.publish({ topic: 'ids', payload: Buffer.from('late'), qos: 1, retain: false });
    expect(await drainUntilPing(sub)).toEqual([]);
    expect(running.broker.stats().messages.queued).toBe(1);

    // acknowledging id 4242 frees exactly that id, and the waiting message takes it
    sub.send({ cmd: 'puback', messageId: 4242 });
    const late: IPublishPacket = await expectPublish(sub);
    expect([late.messageId, late.payload.toString(), late.dup]).toEqual([4242, 'late', false]);
  });
});
