/**
 * The per-session queue bound in bytes (`connectionLimits.maxSessionQueueBytes`) beside AIO's
 * `subscriberQueueLimit`: the strategy decides what the full session drops (DropOldest: the oldest;
 * None: the new one), only that session drops, the publisher still gets 0x00, and the drops are
 * counted per session and broker-wide. The broker-wide budget stays a backstop whose refusals the
 * publisher is told (0x97), even when another subscriber took the message.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueFullStrategy } from '../../../src/broker/broker-options.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { rawConnect, rawPublishQos1, rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { startBroker, type RunningBroker } from '../../helpers/start-broker.js';

/** Payload bytes of each test message; with the 512-byte per-delivery overhead one costs 1512. */
const SIZE = 1000;
const COST = SIZE + 512;
/** Room for exactly four messages. */
const BOUND = 4 * COST;

const { start, connect, current } = useRawBroker();

function payload(name: string, size = SIZE): Buffer {
  const bytes = Buffer.alloc(size, 0x2e);
  bytes.write(name);
  return bytes;
}

/** Leaves a persistent v5 session subscribed to `q/#` at QoS 1, disconnected. */
async function offlineSubscriber(port: number, clientId: string): Promise<void> {
  const sub = await rawConnect(port, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
  await rawSubscribe(sub, [{ topic: 'q/#', qos: 1 }]);
  sub.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
  await sub.closed;
}

/** Publishes each payload at QoS 1 and returns the PUBACK reason codes. */
async function publishEach(publisher: RawClient, payloads: Buffer[]): Promise<number[]> {
  const codes: number[] = [];
  for (const p of payloads) codes.push(await rawPublishQos1(publisher, { topic: 'q/t', payload: p }));
  return codes;
}

/** Resumes the session and returns the names of the messages waiting for it, acknowledging each. */
async function resumeAndRead(port: number, clientId: string): Promise<string[]> {
  const back = await rawConnect(port, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
  try {
    const got: string[] = [];
    for (const packet of await drainUntilPong(back)) {
      const publish = packet as IPublishPacket;
      got.push(Buffer.from(publish.payload).toString().replace(/\.+$/, ''));
      back.send({ cmd: 'puback', messageId: publish.messageId as number });
    }
    expect(await drainUntilPong(back)).toEqual([]); // the broker has read the PUBACKs
    return got;
  } finally {
    back.destroy();
  }
}

async function boundedBroker(strategy: QueueFullStrategy): Promise<RunningBroker> {
  return start({ connectionLimits: { maxSessionQueueBytes: BOUND }, clients: { subscriberQueueLimit: { length: 1000, strategy } } });
}

describe('per-session queue bound in bytes', () => {
  it('None: the full session drops the new messages; the oldest stay; the publisher gets 0x00', async () => {
    const running = await boundedBroker('None');
    await offlineSubscriber(running.port, 'keeps-oldest');
    const publisher = await connect(5, { clientId: 'pub-none' });
    const codes = await publishEach(publisher, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((n) => payload(n)));
    expect(codes).toEqual(Array(6).fill(ReasonCode.Success));
    expect(running.broker.sessionQueue('keeps-oldest')).toEqual({ messages: 4, bytes: BOUND, dropped: 2 });
    expect(running.broker.stats().messages).toMatchObject({ queued: 4, dropped: 2, queueFullDrops: 2 });
    expect(await resumeAndRead(running.port, 'keeps-oldest')).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('DropOldest: the full session drops its oldest messages until the new one fits', async () => {
    const running = await boundedBroker('DropOldest');
    await offlineSubscriber(running.port, 'keeps-newest');
    const publisher = await connect(5, { clientId: 'pub-oldest' });
    const codes = await publishEach(publisher, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((n) => payload(n)));
    expect(codes).toEqual(Array(6).fill(ReasonCode.Success));
    // a message of two costs pushes out two more
    expect(await rawPublishQos1(publisher, { topic: 'q/t', payload: payload('big', 2 * COST - 512) })).toBe(ReasonCode.Success);
    expect(running.broker.sessionQueue('keeps-newest')).toEqual({ messages: 3, bytes: BOUND, dropped: 4 });
    expect(running.broker.stats().messages).toMatchObject({ queued: 3, dropped: 4, queueFullDrops: 4 });
    expect(await resumeAndRead(running.port, 'keeps-newest')).toEqual(['m5', 'm6', 'big']);
  });

  it('one message always fits an empty queue, even one larger than the bound', async () => {
    const running = await boundedBroker('None');
    await offlineSubscriber(running.port, 'one-large');
    const publisher = await connect(5, { clientId: 'pub-large' });
    const codes = await publishEach(publisher, [payload('huge', 2 * BOUND), payload('next')]);
    expect(codes).toEqual([ReasonCode.Success, ReasonCode.Success]);
    expect(running.broker.sessionQueue('one-large')).toMatchObject({ messages: 1, dropped: 1 });
    expect(await resumeAndRead(running.port, 'one-large')).toEqual(['huge']);
  });

  it('only the full session drops: another subscriber of the same messages gets them all', async () => {
    const running = await boundedBroker('None');
    await offlineSubscriber(running.port, 'full-one');
    await offlineSubscriber(running.port, 'other-one');
    const publisher = await connect(5, { clientId: 'pub-two' });
    // the other session is drained between rounds: it never reaches its bound
    const names: string[] = [];
    for (let round = 0; round < 3; round++) {
      const batch = [1, 2, 3].map((i) => `r${round}-${i}`);
      names.push(...batch);
      expect(await publishEach(publisher, batch.map((n) => payload(n)))).toEqual(Array(3).fill(ReasonCode.Success));
      expect(await resumeAndRead(running.port, 'other-one')).toEqual(batch);
    }
    expect(await resumeAndRead(running.port, 'full-one')).toEqual(names.slice(0, 4));
    expect(running.broker.sessionQueue('other-one')).toEqual({ messages: 0, bytes: 0, dropped: 0 });
    expect(running.broker.sessionQueue('full-one')?.dropped).toBe(5);
  });

  it('a lowered bound applies live to the next message', async () => {
    const running = await boundedBroker('None');
    await offlineSubscriber(running.port, 'live-bound');
    const publisher = await connect(5, { clientId: 'pub-live' });
    expect(await publishEach(publisher, [payload('a'), payload('b')])).toEqual([ReasonCode.Success, ReasonCode.Success]);
    running.broker.setConnectionLimits({ maxSessionQueueBytes: COST });
    expect(running.broker.connectionLimits.maxSessionQueueBytes).toBe(COST);
    expect(await publishEach(publisher, [payload('c')])).toEqual([ReasonCode.Success]);
    expect(running.broker.sessionQueue('live-bound')).toMatchObject({ messages: 2, dropped: 1 });
  });

  it('defaults to a sixteenth of the memory profile budget', async () => {
    const tiny = await start({ memoryProfile: 'Tiny' });
    expect(tiny.broker.connectionLimits.maxSessionQueueBytes).toBe((12 * 1024 * 1024) / 16);
    await tiny.stop();
    await start({ memoryProfile: 'High' });
    expect(current().broker.connectionLimits.maxSessionQueueBytes).toBe((1536 * 1024 * 1024) / 16);
  });
});

describe('the broker-wide budget stays a backstop', () => {
  it('a subscriber within its bound refused by the budget makes the PUBACK 0x97, while a reader that takes it at once still gets it', async () => {
    const running = await start({ queuedBytesBudget: 3 * COST, connectionLimits: { maxSessionQueueBytes: 100 * COST } });
    await offlineSubscriber(running.port, 'fills-budget');
    const publisher = await connect(5, { clientId: 'pub-backstop' });
    expect(await publishEach(publisher, [payload('b1'), payload('b2'), payload('b3')])).toEqual(Array(3).fill(ReasonCode.Success));

    const reader = await connect(5, { clientId: 'live-reader' });
    await rawSubscribe(reader, [{ topic: 'q/#', qos: 1 }]);
    // the offline session has room in its own bound but the budget is spent: the publisher is told
    expect(await rawPublishQos1(publisher, { topic: 'q/t', payload: payload('b4') })).toBe(ReasonCode.QuotaExceeded);
    const got = (await drainUntilPong(reader)) as IPublishPacket[];
    expect(got.map((p) => Buffer.from(p.payload).toString().replace(/\.+$/, ''))).toEqual(['b4']); // the live reader did not miss it
    expect(running.broker.sessionQueue('fills-budget')).toMatchObject({ messages: 3, dropped: 0 });
    expect(running.broker.stats().messages.queueFullDrops).toBe(0);
  });
});

describe('persisted sessions (LevelDB store)', () => {
  const fixture = levelStoreFixture('ops-session-bound-');
  const brokers: RunningBroker[] = [];
  afterEach(async () => {
    for (const b of brokers.splice(0)) await b.stop().catch(() => undefined);
    await fixture.cleanup();
  });

  it('the bound keeps the stored queue small, and a lowered bound trims a restored queue by its strategy', async () => {
    const path = await fixture.freshDir();
    let store = await fixture.open({ path });
    let running = await startBroker({ store, connectionLimits: { maxSessionQueueBytes: BOUND } });
    brokers.push(running);
    await offlineSubscriber(running.port, 'stored');
    const publisher = await rawConnect(running.port, 5, { clientId: 'pub-stored' });
    const names = ['s1', 's2', 's3', 's4', 's5', 's6'];
    expect(await publishEach(publisher, names.map((n) => payload(n)))).toEqual(Array(6).fill(ReasonCode.Success));
    publisher.destroy();
    await running.stop(); // closes the store
    brokers.length = 0;
    store = await fixture.open({ path });
    expect((await store.loadQueue('stored')).length).toBe(4); // the drops were never written

    // Restart with room for two: strategy None keeps the oldest, and the store forgets the others.
    running = await startBroker({ store, connectionLimits: { maxSessionQueueBytes: 2 * COST } });
    brokers.push(running);
    expect(running.broker.sessionQueue('stored')).toEqual({ messages: 2, bytes: 2 * COST, dropped: 2 });
    expect(await resumeAndRead(running.port, 'stored')).toEqual(['s1', 's2']);
    await running.stop();
    brokers.length = 0;
    store = await fixture.open({ path });
    expect(await store.loadQueue('stored')).toEqual([]);
  });

  it('by default a persisted queue gets at most 1/16 of the store limit: one stuck session cannot fill the store for everyone', async () => {
    const limit = 64 * 1024;
    const store = await fixture.open({ path: await fixture.freshDir(), maxSizeBytes: limit });
    const running = await startBroker({ store }); // no maxSessionQueueBytes: the default applies
    brokers.push(running);
    await offlineSubscriber(running.port, 'stuck');
    await offlineSubscriber(running.port, 'reader');
    const publisher = await rawConnect(running.port, 5, { clientId: 'pub-store' });
    const names: string[] = [];
    for (let round = 0; round < 30; round++) {
      // 30 x 2 x 1512 bytes = 89 KiB for each session: more than the whole store holds; 2 fit the reader's bound (4 KiB)
      const batch = [1, 2].map((i) => `t${round}-${i}`);
      names.push(...batch);
      expect(await publishEach(publisher, batch.map((n) => payload(n)))).toEqual(Array(2).fill(ReasonCode.Success));
      expect(await resumeAndRead(running.port, 'reader')).toEqual(batch);
    }
    publisher.destroy();
    const kept = Math.floor(limit / 16 / COST);
    expect(running.broker.sessionQueue('stuck')).toEqual({ messages: kept, bytes: kept * COST, dropped: names.length - kept });
    expect(store.usage().full).toBe(false);
    expect(await resumeAndRead(running.port, 'stuck')).toEqual(names.slice(0, kept));
  });
});
