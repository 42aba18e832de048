import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../../src/broker/broker.js';
import type { MessageRecord, QueueEntryRecord } from '../../../src/storage/broker-store.js';
import { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { useBroker } from '../../helpers/start-broker.js';
import { expectCode, levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { allFileBytes, flipValueByte, rawEntries, rewriteValue } from '../../helpers/raw-level.js';

// Distinctive strings sharing no 4-byte run, so LevelDB's snappy compression cannot hide one behind another.
const PAYLOAD_CANARY = 'Qv7pXk2LmZ9r-payload';
const CLIENT_CANARY = 'Jd4wHs8Tn3Bc';
const TOPIC_CANARY = 'fY6gRe1uKo5i/Ma0';

const fixture = levelStoreFixture('ops-level-store-');
const freshDir = fixture.freshDir;
const clients: RawClient[] = [];

function open(path: string, encryptionKey?: Buffer): Promise<LevelBrokerStore> {
  return fixture.open({ path, ...(encryptionKey !== undefined ? { encryptionKey } : {}) });
}

// After-hooks run in reverse: the clients close, then the brokers stop, then their store folders go.
afterEach(() => fixture.cleanup());
const brokers = useBroker();
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

const message: MessageRecord = { topic: TOPIC_CANARY, payload: Buffer.from(PAYLOAD_CANARY), qos: 1, retain: true };
const entry: QueueEntryRecord = { seq: 1, message: { ...message, retain: false }, qos: 1, retain: false };

/** Writes canaries, closes, reopens (LevelDB moves the log into a table file), closes again. */
async function writeCanaries(path: string, key?: Buffer): Promise<void> {
  const store = await open(path, key);
  await store.saveSession({ clientId: CLIENT_CANARY, protocolVersion: 5, expiryIntervalSeconds: 300, subscriptions: [] });
  await store.putQueueEntries(CLIENT_CANARY, [entry]);
  await store.putRetained(message);
  await store.close();
  const again = await open(path, key);
  expect(await again.loadQueue(CLIENT_CANARY)).toEqual([entry]);
  await again.close();
}

describe('LevelBrokerStore on disk', () => {
  it('with encryption, no payload, client id or topic is in plain text in any store file', async () => {
    const path = await freshDir();
    await writeCanaries(path, randomBytes(32));
    const bytes = await allFileBytes(path);
    expect(bytes.length).toBeGreaterThan(0);
    for (const canary of [PAYLOAD_CANARY, CLIENT_CANARY, TOPIC_CANARY]) expect(bytes.includes(Buffer.from(canary)), canary).toBe(false);
  });

  it('with encryption Disabled the same plain-text check finds the payload (the check can fail)', async () => {
    const path = await freshDir();
    await writeCanaries(path);
    const bytes = await allFileBytes(path);
    for (const canary of [PAYLOAD_CANARY, CLIENT_CANARY, TOPIC_CANARY]) expect(bytes.includes(Buffer.from(canary)), canary).toBe(true);
  });

  it('a flipped byte in an encrypted queue segment is reported as STO_CORRUPT_RECORD, never returned', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    await writeCanaries(path, key);
    await flipValueByte(path, 'seg/');
    const store = await open(path, key); // open still works: the key check is intact
    const error = await expectCode(store.loadQueue(CLIENT_CANARY), 'STO_CORRUPT_RECORD');
    expect(error.message).toMatch(/queue entry.*authentication failed/);
    expect(await store.loadRetained()).toEqual([message]); // other records are unaffected
  });

  it('a flipped byte in an encrypted retained value stops a broker from starting on it', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    await writeCanaries(path, key);
    await flipValueByte(path, 'r/', 20); // inside the ciphertext, not the tag
    const store = await open(path, key);
    const broker: Broker = createBroker({ store, sysIntervalSeconds: 0 });
    await expectCode(broker.ready, 'STO_CORRUPT_RECORD');
    await broker.close();
  });

  it('an encrypted value moved under another key fails authentication (the key is the AAD)', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    const store = await open(path, key);
    await store.putRetained({ ...message, topic: 'a' });
    await store.putRetained({ ...message, topic: 'b', payload: Buffer.from('other') });
    await store.close();
    const [first, second] = await rawEntries(path, 'r/');
    if (first === undefined || second === undefined) throw new Error('expected two retained values');
    await rewriteValue(path, 'r/', () => second[1]); // the first key now holds the second key's value
    await expectCode((await open(path, key)).loadRetained(), 'STO_CORRUPT_RECORD');
  });

  it('without encryption, a truncated value is reported as STO_CORRUPT_RECORD', async () => {
    const path = await freshDir();
    await writeCanaries(path);
    await rewriteValue(path, 's/', (v) => v.subarray(0, v.length - 3));
    await expectCode((await open(path)).loadSessions(), 'STO_CORRUPT_RECORD');
  });

  it('a wrong, missing or unexpected encryption key is STO_WRONG_KEY at open', async () => {
    const encrypted = await freshDir();
    await (await open(encrypted, randomBytes(32))).close();
    const wrong = await expectCode(LevelBrokerStore.open({ path: encrypted, encryptionKey: randomBytes(32) }), 'STO_WRONG_KEY');
    expect(wrong.message).toMatch(/key check/);
    await expectCode(LevelBrokerStore.open({ path: encrypted }), 'STO_WRONG_KEY');
    await expectCode(LevelBrokerStore.open({ path: encrypted, encryptionKey: randomBytes(16) }), 'STO_WRONG_KEY');

    const plain = await freshDir();
    await (await open(plain)).close();
    await expectCode(LevelBrokerStore.open({ path: plain, encryptionKey: randomBytes(32) }), 'STO_WRONG_KEY');
  });

  it('a store locked by another open is STO_OPEN_FAILED', async () => {
    const path = await freshDir();
    await open(path);
    await expectCode(LevelBrokerStore.open({ path }), 'STO_OPEN_FAILED');
  });

  it('a truncated LevelDB manifest is reported at open as STO_OPEN_FAILED naming the corruption', async () => {
    const path = await freshDir();
    await writeCanaries(path);
    const manifest = (await readdir(path)).find((name) => name.startsWith('MANIFEST-'));
    if (manifest === undefined) throw new Error('no MANIFEST file');
    await writeFile(join(path, manifest), (await readFile(join(path, manifest))).subarray(0, 10));
    const error = await expectCode(LevelBrokerStore.open({ path }), 'STO_OPEN_FAILED');
    expect(error.message).toMatch(/Corruption/);
  });

  it('writes after close reject with STO_WRITE_FAILED', async () => {
    const store = await open(await freshDir());
    await store.close();
    await expectCode(store.putRetained(message), 'STO_WRITE_FAILED');
    await expectCode(store.loadRetained(), 'STO_READ_FAILED');
  });
});

describe('group commit', () => {
  it('writes issued in the same tick go into one synced batch', async () => {
    const store = await open(await freshDir(), randomBytes(32));
    const writes: Promise<void>[] = [];
    for (let seq = 1; seq <= 500; seq++) writes.push(store.putQueueEntries('c', [{ ...entry, seq }]));
    await Promise.all(writes);
    expect(store.commitStats).toEqual({ batches: 1, writes: 500, largestBatch: 500, cancelledPuts: 0 });
    expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('writes issued while a batch is in flight join the next batch (batch sizes under load)', async () => {
    const store = await open(await freshDir(), randomBytes(32));
    const rounds = 40;
    const perRound = 25;
    const writes: Promise<void>[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < perRound; i++) writes.push(store.putQueueEntries('c', [{ ...entry, seq: round * perRound + i + 1 }]));
      await new Promise((resolve) => setImmediate(resolve)); // next event-loop turn, a batch may be in flight
    }
    await Promise.all(writes);
    const { batches, writes: carried, largestBatch } = store.commitStats;
    expect(carried).toBe(rounds * perRound);
    expect(batches).toBeLessThanOrEqual(rounds); // a round is never split
    expect(largestBatch).toBeGreaterThanOrEqual(perRound);
    expect((await store.loadQueue('c')).length).toBe(rounds * perRound);
  });

  it('an entry queued and deleted within one batch never reaches the disk; a stored entry re-put and deleted is deleted', async () => {
    const path = await freshDir();
    const store = await open(path); // encryption Disabled: a payload written anywhere would be visible
    const gone = Buffer.from('Wz3nCq8Ej1Vy-cancelled');
    await store.putQueueEntries('c', [{ ...entry, seq: 1 }]);
    await Promise.all([
      store.putQueueEntries('c', [{ ...entry, seq: 2, message: { ...entry.message, payload: gone } }]),
      store.putQueueEntries('c', [{ ...entry, seq: 3 }]),
      store.putQueueEntries('c', [{ ...entry, seq: 1, packetId: 9 }]), // in-flight mark of the stored entry
      store.deleteQueueEntries('c', [2]),
      store.deleteQueueEntries('c', [1]),
    ]);
    expect(store.commitStats.cancelledPuts).toBe(1);
    await store.close();
    expect((await allFileBytes(path)).includes(gone)).toBe(false);
    const again = await open(path);
    expect((await again.loadQueue('c')).map((e) => e.seq)).toEqual([3]);
  });

  it('a large batch (one sealed segment) leaves no payload in plain text and reads back exactly', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    const store = await open(path, key);
    const entries = Array.from({ length: 200 }, (_, i): QueueEntryRecord => ({ ...entry, seq: i + 1, message: { ...entry.message, payload: Buffer.from(`${PAYLOAD_CANARY}-${i}`) } }));
    await Promise.all(entries.map((e) => store.putQueueEntries(CLIENT_CANARY, [e])));
    await store.close();
    const bytes = await allFileBytes(path);
    expect(bytes.includes(Buffer.from(PAYLOAD_CANARY))).toBe(false);
    const again = await open(path, key);
    expect(await again.loadQueue(CLIENT_CANARY)).toEqual(entries);
  });

  it('a session deleted in the same batch as puts to its queue loses them; later puts survive', async () => {
    const store = await open(await freshDir());
    await store.putQueueEntries('c', [{ ...entry, seq: 1 }]);
    const writes = [
      store.putQueueEntries('c', [{ ...entry, seq: 2 }]),
      store.deleteSession('c'),
      store.putQueueEntries('c', [{ ...entry, seq: 3 }]),
      store.putQueueEntries('c/x', [{ ...entry, seq: 1 }]),
    ];
    await Promise.all(writes);
    expect(store.commitStats.batches).toBe(2);
    expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual([3]);
    expect((await store.loadQueue('c/x')).map((e) => e.seq)).toEqual([1]);
  });

  it('a queue whose seqs restart after deleteSession, put and deleted again in the same batch or the next, keeps exactly its live entries and no orphan segment', async () => {
    const path = await freshDir();
    const store = await open(path);
    await store.putQueueEntries('c', [{ ...entry, seq: 1 }]);
    await store.putQueueEntries('d', [{ ...entry, seq: 1 }]);
    // same batch: the old seq 1 deleted with the session, a new seq 1 put and acknowledged, seq 2 put
    await Promise.all([
      store.deleteSession('c'),
      store.putQueueEntries('c', [{ ...entry, seq: 1 }]),
      store.deleteQueueEntries('c', [1]),
      store.putQueueEntries('c', [{ ...entry, seq: 2 }]),
    ]);
    // next batches: the session deleted in one, its seq 1 put and acknowledged in the one after
    await store.deleteSession('d');
    const cancelled = store.commitStats.cancelledPuts;
    await Promise.all([store.putQueueEntries('d', [{ ...entry, seq: 1 }]), store.deleteQueueEntries('d', [1])]);
    expect(store.commitStats.cancelledPuts).toBe(cancelled + 1); // coalesced: neither reached the disk
    await Promise.all([store.putQueueEntries('d', [{ ...entry, seq: 2 }]), store.putQueueEntries('d', [{ ...entry, seq: 3 }])]);
    expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual([2]);
    expect((await store.loadQueue('d')).map((e) => e.seq)).toEqual([2, 3]);
    const used = store.usage().usedBytes;
    await store.close();
    const segments = (await rawEntries(path, 'seg/')).length;
    const entries = await rawEntries(path, 'q/');
    const named = new Set(entries.map(([key]) => key.readUInt32BE(key.length - 4)));
    expect(entries.length).toBe(3);
    expect(segments).toBe(named.size); // every segment on disk holds a live entry
    const again = await open(path);
    expect(again.usage().usedBytes).toBe(used);
    expect((await again.loadQueue('c')).map((e) => e.seq)).toEqual([2]);
    expect((await again.loadQueue('d')).map((e) => e.seq)).toEqual([2, 3]);
  });
});

describe('engine durability on LevelBrokerStore', () => {
  it('100 QoS 1 messages for an offline persistent session survive a broker restart, in order', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    const first = await open(path, key);
    let running = await brokers.start({ store: first });

    const sub = await RawClient.open(running.port);
    clients.push(sub);
    await sub.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 300 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/+', qos: 1 }] });
    expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
    sub.send({ cmd: 'disconnect' });
    await sub.closed;

    const pub = await running.connect({ protocolVersion: 5, clientId: 'pub' });
    const acks = await Promise.all(Array.from({ length: 100 }, (_, i) => pub.publishAsync('d/x', `m-${i}`, { qos: 1 })));
    expect(acks).toHaveLength(100);
    const stats = first.commitStats;
    expect(stats.writes).toBeGreaterThanOrEqual(100);
    await running.stop();

    running = await brokers.start({ store: await open(path, key) });
    const again = await RawClient.open(running.port);
    clients.push(again);
    const connack = await again.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(connack.sessionPresent).toBe(true);
    const got: string[] = [];
    while (got.length < 100) {
      const packet = (await again.nextOf('publish')) as IPublishPacket | undefined;
      if (packet === undefined) throw new Error('closed before all messages arrived');
      got.push(packet.payload.toString());
      again.send({ cmd: 'puback', messageId: packet.messageId as number, reasonCode: 0 });
    }
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `m-${i}`));
    expect(await drainUntilPong(again)).toEqual([]);
    again.send({ cmd: 'disconnect' });
    await again.closed;
    await running.stop();

    // Delivered and acknowledged: nothing comes back after another restart.
    running = await brokers.start({ store: await open(path, key) });
    const third = await RawClient.open(running.port);
    clients.push(third);
    expect((await third.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 300 } })).sessionPresent).toBe(true);
    expect(await drainUntilPong(third)).toEqual([]);
  });
});
