import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnackReturnCode, ReasonCode } from '../../../src/protocol/reason-codes.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong, RawClients, until } from '../../helpers/session-helpers.js';
import { useBroker, type RunningBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
const raws = new RawClients();
afterEach(() => raws.destroyAll());

/** Connects a raw client; `expiry` is the v5 Session Expiry Interval (ignored for 3.1.1). */
async function rawConnect(port: number, version: 4 | 5, clientId: string, clean: boolean, expiry?: number): Promise<{ raw: RawClient; connack: IConnackPacket }> {
  const raw = await raws.open(port, version);
  const connack = await raw.connect({ clientId, clean, ...(version === 5 && expiry !== undefined ? { properties: { sessionExpiryInterval: expiry } } : {}) });
  return { raw, connack };
}

async function subscribe(raw: RawClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  const suback = await raw.nextOf('suback');
  expect(suback?.cmd).toBe('suback');
}

async function disconnect(raw: RawClient, properties?: IDisconnectPacket['properties']): Promise<void> {
  raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success, ...(properties !== undefined ? { properties } : {}) });
  await raw.closed;
}

/** Publishes QoS 1 messages in-process (stored/queued when this resolves). */
async function publishAll(b: RunningBroker, topic: string, payloads: string[]): Promise<void> {
  for (const p of payloads) await b.broker.publish({ topic, payload: Buffer.from(p), qos: 1, retain: false });
}

/** Reads `count` PUBLISHes, acknowledging each, and returns their payloads. */
async function receive(raw: RawClient, count: number): Promise<IPublishPacket[]> {
  const got: IPublishPacket[] = [];
  while (got.length < count) {
    const packet = await raw.next();
    if (packet === undefined) throw new Error('closed');
    if (packet.cmd !== 'publish') continue;
    got.push(packet);
    if (packet.qos > 0) raw.send({ cmd: 'puback', messageId: packet.messageId as number });
  }
  return got;
}

describe('clean start and session present', () => {
  it.each([5, 4] as const)('session present flag is right in every case (protocol %i) [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3]', async (version) => {
    const b = await brokers.start();
    const expiry = version === 5 ? 60 : undefined;
    // no session yet, clean=false: not present
    let c = await rawConnect(b.port, version, 'sp', false, expiry);
    expect(c.connack.sessionPresent).toBe(false);
    await disconnect(c.raw);
    // existing session, clean=false: present
    c = await rawConnect(b.port, version, 'sp', false, expiry);
    expect(c.connack.sessionPresent).toBe(true);
    await disconnect(c.raw);
    // existing session, clean=true: discarded, not present [MQTT-3.1.2-4]
    c = await rawConnect(b.port, version, 'sp', true, expiry);
    expect(c.connack.sessionPresent).toBe(false);
    await disconnect(c.raw);
    // a clean session (3.1.1) or expiry 0 (v5) ends with the connection: not present next time
    c = await rawConnect(b.port, version, 'sp', true, 0);
    await disconnect(c.raw);
    c = await rawConnect(b.port, version, 'sp', false, expiry);
    expect(c.connack.sessionPresent).toBe(false);
    // takeover of a live session with clean=false: present
    const again = await rawConnect(b.port, version, 'sp', false, expiry);
    expect(again.connack.sessionPresent).toBe(true);
    expect(await c.raw.nextOf('connack')).toBeUndefined(); // the old connection is closed [MQTT-3.1.4-3]
  });

  it('clean start discards subscriptions and queued messages [MQTT-3.1.2-4]', async () => {
    const b = await brokers.start();
    const first = await rawConnect(b.port, 5, 'cs', false, 60);
    await subscribe(first.raw, 'cs/#', 1);
    await disconnect(first.raw);
    await publishAll(b, 'cs/a', ['queued']);
    expect(b.broker.stats().messages.queued).toBe(1);
    const fresh = await rawConnect(b.port, 5, 'cs', true, 60);
    expect(fresh.connack.sessionPresent).toBe(false);
    expect(b.broker.stats().messages.queued).toBe(0);
    expect(b.broker.stats().subscriptions).toBe(0);
    await publishAll(b, 'cs/a', ['after']);
    expect(await drainUntilPong(fresh.raw)).toEqual([]);
  });
});

describe('v5 session expiry', () => {
  it('delivers queued QoS 1 messages, in order, when the session resumes before it expires [MQTT-4.1.0-1]', async () => {
    const b = await brokers.start();
    const sub = await rawConnect(b.port, 5, 'resume', false, 60);
    await subscribe(sub.raw, 'q/#', 1);
    await disconnect(sub.raw);
    await publishAll(b, 'q/1', ['m1', 'm2', 'm3']);
    expect(b.broker.stats().messages.queued).toBe(3);
    const back = await rawConnect(b.port, 5, 'resume', false, 60);
    expect(back.connack.sessionPresent).toBe(true);
    const got = await receive(back.raw, 3);
    expect(got.map((p) => p.payload.toString())).toEqual(['m1', 'm2', 'm3']);
    expect(got.map((p) => [p.topic, p.qos, p.dup])).toEqual([
      ['q/1', 1, false],
      ['q/1', 1, false],
      ['q/1', 1, false],
    ]);
    expect(await drainUntilPong(back.raw)).toEqual([]);
  });

  it('discards the session once its expiry interval (1 s) has passed [MQTT-4.1.0-2]', async () => {
    const b = await brokers.start();
    const started = Date.now();
    const sub = await rawConnect(b.port, 5, 'exp', false, 1);
    await subscribe(sub.raw, 'e/#', 1);
    await disconnect(sub.raw);
    await publishAll(b, 'e/1', ['lost']);
    expect(b.broker.stats().clients.sessions).toBe(1);
    await until(() => b.broker.stats().clients.sessions === 0, 3000, 'session expiry');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(b.broker.stats().messages.queued).toBe(0);
    expect(b.broker.stats().subscriptions).toBe(0);
    const back = await rawConnect(b.port, 5, 'exp', false, 1);
    expect(back.connack.sessionPresent).toBe(false);
    expect(await drainUntilPong(back.raw)).toEqual([]);
  });

  it('DISCONNECT can set a new Session Expiry Interval: 0 ends the session now [MQTT-3.14.2.2.2]', async () => {
    const b = await brokers.start();
    const sub = await rawConnect(b.port, 5, 'dse', false, 60);
    await subscribe(sub.raw, 'd/#', 1);
    await disconnect(sub.raw, { sessionExpiryInterval: 0 });
    expect(b.broker.stats().clients.sessions).toBe(0);
    const back = await rawConnect(b.port, 5, 'dse', false, 60);
    expect(back.connack.sessionPresent).toBe(false);
  });

  it('DISCONNECT can set a new Session Expiry Interval: 1 s then the session expires', async () => {
    const b = await brokers.start();
    const sub = await rawConnect(b.port, 5, 'dse1', false, 3600);
    await disconnect(sub.raw, { sessionExpiryInterval: 1 });
    expect(b.broker.stats().clients.sessions).toBe(1);
    await until(() => b.broker.stats().clients.sessions === 0, 3000, 'session expiry');
    const back = await rawConnect(b.port, 5, 'dse1', false, 60);
    expect(back.connack.sessionPresent).toBe(false);
  });

  it('expiry 0 at CONNECT then non-zero at DISCONNECT is a protocol error (DISCONNECT 0x82) [MQTT-3.14.2-2]', async () => {
    const b = await brokers.start();
    const c = await rawConnect(b.port, 5, 'zero', false, 0);
    c.raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success, properties: { sessionExpiryInterval: 30 } });
    const packet = (await c.raw.next()) as IDisconnectPacket;
    expect(packet.cmd).toBe('disconnect');
    expect(packet.reasonCode).toBe(ReasonCode.ProtocolError);
    expect(await c.raw.next()).toBeUndefined();
    expect(b.broker.stats().clients.sessions).toBe(0);
  });
});

describe('3.1.1 persistent sessions', () => {
  it('cleanSession=false keeps subscriptions and queued QoS 1 messages', async () => {
    const b = await brokers.start();
    const sub = await rawConnect(b.port, 4, 'keep4', false);
    await subscribe(sub.raw, 'k/+', 1);
    await disconnect(sub.raw);
    await publishAll(b, 'k/a', ['one', 'two']);
    const back = await rawConnect(b.port, 4, 'keep4', false);
    expect(back.connack.returnCode).toBe(ConnackReturnCode.Accepted);
    expect(back.connack.sessionPresent).toBe(true);
    expect((await receive(back.raw, 2)).map((p) => p.payload.toString())).toEqual(['one', 'two']);
    // the subscription is still in place
    await publishAll(b, 'k/b', ['three']);
    expect((await receive(back.raw, 1))[0]?.payload.toString()).toBe('three');
  });

  it('a cleanSession=false session expires after maxSessionExpirySeconds', async () => {
    const b = await brokers.start({ clients: { maxSessionExpirySeconds: 1 } });
    const sub = await rawConnect(b.port, 4, 'exp4', false);
    await subscribe(sub.raw, 'x/#', 1);
    await disconnect(sub.raw);
    expect(b.broker.stats().clients.sessions).toBe(1);
    await until(() => b.broker.stats().clients.sessions === 0, 3000, '3.1.1 session expiry');
    const back = await rawConnect(b.port, 4, 'exp4', false);
    expect(back.connack.sessionPresent).toBe(false);
  });
});

describe('in-process restart on the same store', () => {
  it('restores sessions, subscriptions and queued messages from a MemoryBrokerStore', async () => {
    const store = new MemoryBrokerStore();
    const first = await brokers.start({ store });
    const sub = await rawConnect(first.port, 5, 'restart', false, 300);
    await subscribe(sub.raw, 'r/#', 1);
    const sub4 = await rawConnect(first.port, 4, 'restart4', false);
    await subscribe(sub4.raw, 'r/#', 1);
    await disconnect(sub.raw);
    await disconnect(sub4.raw);
    await publishAll(first, 'r/1', ['before-1', 'before-2']);
    await first.stop();

    const second = await brokers.start({ store });
    expect(second.broker.stats().clients.sessions).toBe(2);
    expect(second.broker.stats().messages.queued).toBe(4);
    const back = await rawConnect(second.port, 5, 'restart', false, 300);
    expect(back.connack.sessionPresent).toBe(true);
    expect((await receive(back.raw, 2)).map((p) => p.payload.toString())).toEqual(['before-1', 'before-2']);
    const back4 = await rawConnect(second.port, 4, 'restart4', false);
    expect(back4.connack.sessionPresent).toBe(true);
    expect((await receive(back4.raw, 2)).map((p) => p.payload.toString())).toEqual(['before-1', 'before-2']);
    // the restored subscriptions route new messages
    await publishAll(second, 'r/2', ['after']);
    expect((await receive(back.raw, 1))[0]?.payload.toString()).toBe('after');
    expect((await receive(back4.raw, 1))[0]?.payload.toString()).toBe('after');
  });

  it('redelivers an unacknowledged in-flight message with DUP after the restart [MQTT-4.4.0-1]', async () => {
    const store = new MemoryBrokerStore();
    const first = await brokers.start({ store });
    const sub = await rawConnect(first.port, 5, 'inflight', false, 300);
    await subscribe(sub.raw, 'i/#', 1);
    await publishAll(first, 'i/1', ['unacked']);
    const sent = (await sub.raw.nextOf('publish')) as IPublishPacket;
    expect(sent.dup).toBe(false);
    await first.stop(); // the subscriber never sent PUBACK
    const second = await brokers.start({ store });
    const back = await rawConnect(second.port, 5, 'inflight', false, 300);
    expect(back.connack.sessionPresent).toBe(true);
    const again = (await back.raw.nextOf('publish')) as IPublishPacket;
    expect(again.payload.toString()).toBe('unacked');
    expect(again.dup).toBe(true);
    expect(again.messageId).toBe(sent.messageId);
  });
});
