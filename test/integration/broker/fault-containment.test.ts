import type { IPublishPacket, IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import type { MessageRecord, SessionRecord } from '../../../src/storage/broker-store.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import { pingBarrier, watchProcessFaults, type ProcessFaults } from '../../helpers/bad-input.js';
import { expectCode, levelStoreFixture } from '../../helpers/level-store-fixture.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { RawClients, until } from '../../helpers/session-helpers.js';
import { useBroker, type RunningBroker } from '../../helpers/start-broker.js';

/**
 * Messages that cannot be encoded reach the engine without passing decode-time validation (a
 * damaged or older store record, an in-process publisher): every path that publishes or delivers
 * them must contain the failure — skip, log, count — instead of ending the process or
 * disconnecting an innocent subscriber.
 */

/** A message whose Content Type is an array (what mqtt-packet makes of a repeated property): it cannot be encoded. */
function unencodable(topic: string, extra: Partial<MessageRecord> = {}): MessageRecord {
  return { topic, payload: Buffer.from('poison'), qos: 1, retain: false, properties: { contentType: ['a', 'b'] as unknown as string }, ...extra };
}

function good(topic: string, payload: string, extra: Partial<MessageRecord> = {}): MessageRecord {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: false, ...extra };
}

/** A disconnected session of `clientId` whose delayed will cannot be encoded. */
function sessionWithBadWill(clientId: string, expirySeconds: number, willDelaySeconds: number): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    expiryIntervalSeconds: expirySeconds,
    subscriptions: [],
    disconnectedAt: Date.now(),
    will: { message: unencodable(`wills/${clientId}`), delaySeconds: willDelaySeconds },
  };
}

const fixture = levelStoreFixture('ops-fault-containment-');
const raws = new RawClients();
let faults: ProcessFaults;

beforeEach(() => {
  faults = watchProcessFaults();
});

// After-hooks run in reverse: the clients close, then the broker stops, then its store folders go.
afterEach(() => fixture.cleanup());
const brokers = useBroker();
afterEach(() => {
  faults.stop();
  raws.destroyAll();
});

async function subscriber(port: number, filter: string, qos: 0 | 1 = 1, clientId = 'watcher'): Promise<RawClient> {
  const raw = await raws.open(port, 5);
  expect((await raw.connect({ clientId })).reasonCode).toBe(0);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  const suback = (await raw.nextOf('suback')) as ISubackPacket | undefined;
  expect(suback?.granted).toEqual([qos]);
  return raw;
}

/** The process saw no escaped error, none was contained as internal, and `raw` still receives a QoS 1 message. */
async function expectServed(r: RunningBroker, raw: RawClient, topic: string): Promise<void> {
  expect(faults.errors).toEqual([]);
  expect(r.broker.stats().internalErrors).toBe(0);
  expect(await pingBarrier(raw)).toEqual([]); // nothing sent, no DISCONNECT
  await r.broker.publish(good(topic, 'still-served'));
  const publish = (await raw.nextOf('publish')) as IPublishPacket | undefined;
  expect(publish?.payload.toString()).toBe('still-served');
  raw.send({ cmd: 'puback', messageId: publish?.messageId as number });
}

describe('wills that cannot be encoded', () => {
  it('a stored delayed will is skipped, not left to fail in the will-delay timer: the process survives and the will subscriber stays served', async () => {
    const store = new MemoryBrokerStore();
    store.saveSession(sessionWithBadWill('dead-1', 60, 1));
    const running = await brokers.start({ store });
    const watcher = await subscriber(running.port, 'wills/#');
    await until(() => running.broker.stats().messages.undeliverable === 1, 5000, 'will skipped');
    await expectServed(running, watcher, 'wills/other');
    const stored = (await store.loadSessions()).find((r) => r.clientId === 'dead-1');
    expect(stored?.will).toBeUndefined(); // not kept in the session record either
  });

  it('a session with such a pending will still expires, and the will is skipped', async () => {
    const store = new MemoryBrokerStore();
    store.saveSession(sessionWithBadWill('dead-2', 1, 30));
    const running = await brokers.start({ store });
    const watcher = await subscriber(running.port, 'wills/#');
    await until(() => running.broker.stats().clients.sessions === 1, 5000, 'session expired'); // the watcher's stays
    expect(running.broker.stats().messages.undeliverable).toBe(1);
    await expectServed(running, watcher, 'wills/other');
  });

  it('a clean start that ends a session with such a pending will connects normally', async () => {
    const store = new MemoryBrokerStore();
    store.saveSession(sessionWithBadWill('dead-3', 600, 300));
    const running = await brokers.start({ store });
    const watcher = await subscriber(running.port, 'wills/#');
    const again = await raws.open(running.port, 5);
    expect((await again.connect({ clientId: 'dead-3', clean: true })).reasonCode).toBe(0);
    expect(running.broker.stats().messages.undeliverable).toBe(1);
    expect(await pingBarrier(again)).toEqual([]);
    await expectServed(running, watcher, 'wills/other');
  });
});

describe('stored messages that cannot be encoded', () => {
  it('a retained one is skipped on SUBSCRIBE at QoS 0 and 1: the subscriber stays connected and gets the others', async () => {
    const store = new MemoryBrokerStore();
    store.putRetained(unencodable('poison/a', { retain: true }));
    store.putRetained(good('poison/b', 'fine', { retain: true }));
    const running = await brokers.start({ store });
    for (const qos of [0, 1] as const) {
      const raw = await subscriber(running.port, '#', qos, `sub-qos${qos}`);
      const got = await pingBarrier(raw);
      expect(got.map((p) => [p.cmd, (p as IPublishPacket).topic])).toEqual([['publish', 'poison/b']]);
      const publish = got[0] as IPublishPacket;
      if (qos === 1) raw.send({ cmd: 'puback', messageId: publish.messageId as number });
    }
    expect(running.broker.stats().messages.undeliverable).toBe(2);
    const last = await subscriber(running.port, 'poison/a', 1, 'sub-exact');
    expect(await pingBarrier(last)).toEqual([]);
    await expectServed(running, last, 'poison/a');
  });

  it('queued and in-flight ones are skipped when the session resumes, and removed from the store', async () => {
    const store = new MemoryBrokerStore();
    store.saveSession({ clientId: 'offline', protocolVersion: 5, expiryIntervalSeconds: 600, subscriptions: [{ filter: 'q/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], disconnectedAt: Date.now() });
    store.putQueueEntries('offline', [
      { seq: 1, message: unencodable('q/inflight'), qos: 1, retain: false, packetId: 9 },
      { seq: 2, message: unencodable('q/queued'), qos: 1, retain: false },
      { seq: 3, message: good('q/fine', 'fine'), qos: 1, retain: false },
    ]);
    const running = await brokers.start({ store });
    const raw = await raws.open(running.port, 5);
    const connack = await raw.connect({ clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 600 } });
    expect(connack.sessionPresent).toBe(true);
    const got = await pingBarrier(raw);
    expect(got.map((p) => [p.cmd, (p as IPublishPacket).topic])).toEqual([['publish', 'q/fine']]);
    raw.send({ cmd: 'puback', messageId: (got[0] as IPublishPacket).messageId as number });
    await pingBarrier(raw);
    expect(running.broker.stats().messages.undeliverable).toBe(2);
    expect(running.broker.stats().messages.inflight).toBe(0);
    expect(await store.loadQueue('offline')).toEqual([]);
    await expectServed(running, raw, 'q/after');
  });
});

describe('publishing a message that cannot be encoded', () => {
  it('Broker.publish refuses it (BRK_MESSAGE_UNENCODABLE), and the next message reaches only its own subscribers', async () => {
    const running = await brokers.start();
    const a = await subscriber(running.port, 'a/#', 1, 'sub-a');
    const b = await subscriber(running.port, 'b/#', 1, 'sub-b');
    await expectCode(running.broker.publish(unencodable('a/x', { retain: true })), 'BRK_MESSAGE_UNENCODABLE');
    await running.broker.publish(good('b/y', 'for-b-only'));
    const toB = (await b.nextOf('publish')) as IPublishPacket | undefined;
    expect(toB?.topic).toBe('b/y');
    expect(await pingBarrier(a)).toEqual([]); // neither the refused message nor b's
    expect(running.broker.stats().retained).toBe(0); // never stored
    expect(running.broker.stats().messages.undeliverable).toBe(1);
    await expectServed(running, a, 'a/after');
  });
});

describe('retained messages the store refuses', () => {
  it('are rolled back in memory: a later subscriber gets what the store holds, not the refused one', async () => {
    const store = await fixture.open({ path: await fixture.freshDir(), maxSizeBytes: 64 * 1024 });
    const running = await brokers.start({ store, clients: { maxPacketSizeBytes: 1024 * 1024 } });
    const pub = await raws.open(running.port, 5);
    expect((await pub.connect({ clientId: 'retainer' })).reasonCode).toBe(0);
    pub.send({ cmd: 'publish', topic: 'r/t', payload: Buffer.from('v1'), qos: 1, messageId: 1, retain: true, dup: false });
    expect(((await pub.nextOf('puback')) as IPubackPacket).reasonCode).toBe(ReasonCode.NoMatchingSubscribers); // stored
    pub.send({ cmd: 'publish', topic: 'r/t', payload: Buffer.alloc(200 * 1024, 0x61), qos: 1, messageId: 2, retain: true, dup: false });
    expect(((await pub.nextOf('puback')) as IPubackPacket).reasonCode).toBe(ReasonCode.QuotaExceeded);
    const late = await subscriber(running.port, 'r/t', 1, 'late');
    const got = await pingBarrier(late);
    expect(got.map((p) => String((p as IPublishPacket).payload).slice(0, 8))).toEqual(['v1']);
    expect(faults.errors).toEqual([]);
  });
});
