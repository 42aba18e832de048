import { randomBytes } from 'node:crypto';
import type { IPublishPacket, IPubackPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { OpsError } from '../../../src/shared/errors.js';
import type { Logger } from '../../../src/shared/log.js';
import type { QueueEntryRecord } from '../../../src/storage/broker-store.js';
import { directoryBytes } from '../../../src/storage/level/compactor.js';
import { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { levelStoreFixture, rejectionOf } from '../../helpers/level-store-fixture.js';
import { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { useBroker } from '../../helpers/start-broker.js';

const LIMIT = 64 * 1024;
const fixture = levelStoreFixture('ops-level-quota-');
const { freshDir, open } = fixture;
const clients: RawClient[] = [];

async function raw(port: number, version: 4 | 5 = 5): Promise<RawClient> {
  const client = await RawClient.open(port, version);
  clients.push(client);
  return client;
}

// After-hooks run in reverse: the clients close, then the brokers stop, then their store folders go.
afterEach(() => fixture.cleanup());
const brokers = useBroker();
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

function entry(seq: number, bytes = 1024): QueueEntryRecord {
  return { seq, message: { topic: 't', payload: randomBytes(bytes), qos: 1, retain: false }, qos: 1, retain: false };
}

/** Puts one entry at a time from seq 1 until the store refuses one; returns the accepted seqs and the refusal. */
async function fillQueue(store: LevelBrokerStore, clientId: string): Promise<{ accepted: number[]; refusal: OpsError }> {
  const accepted: number[] = [];
  for (let seq = 1; seq < 10_000; seq++) {
    const error = await store.putQueueEntries(clientId, [entry(seq)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error === undefined) accepted.push(seq);
    else if (error instanceof OpsError) return { accepted, refusal: error };
    else throw error;
  }
  throw new Error('the store never refused a write');
}

describe('LevelBrokerStore maxSizeBytes', () => {
  it('accepts writes until full, then refuses them with STO_QUOTA_EXCEEDED, writing nothing', async () => {
    const store = await open({ path: await freshDir(), encryptionKey: randomBytes(32), maxSizeBytes: LIMIT });
    expect(store.usage()).toMatchObject({ limitBytes: LIMIT, full: false, refusedWrites: 0 });
    const { accepted, refusal } = await fillQueue(store, 'c');
    expect(accepted.length).toBeGreaterThan(40);
    expect(refusal.code).toBe('STO_QUOTA_EXCEEDED');
    expect(refusal.details).toEqual({ used: store.usage().usedBytes, limit: LIMIT });
    const usage = store.usage();
    expect(usage).toMatchObject({ limitBytes: LIMIT, full: true, refusedWrites: 1 });
    expect(usage.usedBytes).toBeLessThanOrEqual(LIMIT);
    expect(usage.usedBytes).toBeGreaterThan(LIMIT - 2048);
    // other data writes are refused too; the queue holds exactly what was accepted
    expect((await rejectionOf(store.putRetained({ topic: 'r', payload: randomBytes(2048), qos: 1, retain: true }))).code).toBe('STO_QUOTA_EXCEEDED');
    expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual(accepted);
    expect(await store.loadRetained()).toEqual([]);
    expect(store.usage().usedBytes).toBe(usage.usedBytes);
  });

  it('when full, bookkeeping (in-flight marks, sessions) uses the reserve and space-freeing writes succeed', async () => {
    const store = await open({ path: await freshDir(), maxSizeBytes: LIMIT });
    const { accepted } = await fillQueue(store, 'c');
    const first = (await store.loadQueue('c'))[0] as QueueEntryRecord;
    await store.putQueueEntries('c', [{ ...first, packetId: 7 }]); // replaces an admitted entry
    await store.saveSession({ clientId: 'c', protocolVersion: 5, expiryIntervalSeconds: 300, subscriptions: [] });
    const full = store.usage();
    expect(full.full).toBe(true);

    const half = accepted.slice(0, Math.floor(accepted.length / 2));
    await store.deleteQueueEntries('c', half);
    const freed = store.usage();
    expect(freed.usedBytes).toBeLessThan(full.usedBytes - half.length * 1024);
    expect(freed.full).toBe(false);
    await store.putQueueEntries('c', [entry(20_000)]); // room again
    await store.putRetained({ topic: 'r', payload: randomBytes(1024), qos: 1, retain: true });

    await fillQueue(store, 'd');
    expect(store.usage().full).toBe(true);
    await store.deleteRetained('r');
    await store.deleteSession('c');
    expect(await store.loadQueue('c')).toEqual([]);
    expect(store.usage().usedBytes).toBeLessThan(LIMIT / 2 + 4096);
    await store.putQueueEntries('c', [entry(1)]);
  });

  it('reopening the store reports the same usage', async () => {
    const path = await freshDir();
    const encryptionKey = randomBytes(32);
    const store = await open({ path, encryptionKey, maxSizeBytes: LIMIT });
    await store.saveSession({ clientId: 's', protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
    await store.putRetained({ topic: 'a/b', payload: randomBytes(300), qos: 0, retain: true });
    await store.putRetained({ topic: 'a/b', payload: randomBytes(100), qos: 0, retain: true }); // replaced
    const { accepted } = await fillQueue(store, 's');
    await store.deleteQueueEntries('s', accepted.slice(0, 5));
    await store.putQueueEntries('s', [{ ...entry(accepted[5] as number, 10), packetId: 1 }]);
    const before = store.usage();
    await store.close();
    const again = await open({ path, encryptionKey, maxSizeBytes: LIMIT });
    const after = again.usage();
    expect(after.usedBytes).toBe(before.usedBytes);
    expect(after.records).toBe(before.records);
    expect(after.limitBytes).toBe(LIMIT);
  });

  it('compacts in the background as data is removed: the directory shrinks', async () => {
    const path = await freshDir();
    const first = await open({ path, maxSizeBytes: 4 * 1024 * 1024 });
    // 8 batches: 8 segments of 125 entries; the 50 entries kept below all lie in the last one,
    // whose bytes stay until its last entry goes (a segment is deleted whole)
    for (let i = 0; i < 8; i++) {
      const entries = Array.from({ length: 125 }, (_, j) => entry(i * 125 + j + 1, 2048));
      await first.putQueueEntries('big', entries);
    }
    // a restart in between: the queued messages are in a table file, as after any restart or
    // memtable flush (put and delete in the same memtable share a table; see compactor.ts)
    await first.close();
    const store = await open({ path, maxSizeBytes: 4 * 1024 * 1024 });
    const full = await directoryBytes(path);
    expect(full).toBeGreaterThan(1000 * 2048); // random payloads: snappy cannot shrink them
    expect(store.compactionStats).toMatchObject({ runs: 0, running: false, available: true });
    await store.deleteQueueEntries('big', Array.from({ length: 900 }, (_, i) => i + 1));
    await store.deleteQueueEntries('big', Array.from({ length: 50 }, (_, i) => i + 901));
    await store.compactionIdle();
    expect(store.compactionStats.runs).toBeGreaterThanOrEqual(1);
    expect(store.compactionStats.failures).toBe(0);
    const after = await directoryBytes(path);
    expect(after).toBeLessThan(full / 4);
    expect(store.usage().diskBytes).toBe(after);
    expect((await store.loadQueue('big')).length).toBe(50);
  });
});

function capturingLogger(errors: string[]): Logger {
  const ignore = (): void => undefined;
  const push = (fields: Readonly<Record<string, unknown>>, message: string): void => void errors.push(`${message} ${JSON.stringify(fields)}`);
  return { debug: ignore, info: ignore, warn: push, error: push };
}

/** Leaves a persistent session (expiry 300 s) subscribed to `q/+` at QoS 1, disconnected. */
async function offlineSubscriber(port: number, clientId: string): Promise<void> {
  const sub = await raw(port);
  await sub.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/+', qos: 1 }] });
  expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
  sub.send({ cmd: 'disconnect' });
  await sub.closed;
}

/** The payloads of the next `count` publishes to `client`, each acknowledged. */
async function receiveAcking(client: RawClient, count: number): Promise<string[]> {
  const got: string[] = [];
  while (got.length < count) {
    const packet = (await client.nextOf('publish')) as IPublishPacket | undefined;
    if (packet === undefined) throw new Error('closed before all messages arrived');
    got.push(packet.payload.toString());
    client.send({ cmd: 'puback', messageId: packet.messageId as number, reasonCode: 0 });
  }
  return got;
}

/**
 * These tests fill the store through one session: its own queue bound is set above the store's
 * limit (by default a persisted queue gets only 1/16 of it, see session-queue-bound.test.ts).
 */
const OWN_BOUND_ABOVE_STORE = { maxSessionQueueBytes: 16 * LIMIT };

describe('engine on a full LevelBrokerStore', () => {
  it('v5 publishers get 0x97, 3.1.1 publishers are disconnected, acknowledged messages come back in order', async () => {
    const path = await freshDir();
    const encryptionKey = randomBytes(32);
    const errors: string[] = [];
    const first = await open({ path, encryptionKey, maxSizeBytes: LIMIT });
    let running = await brokers.start({ store: first, logger: capturingLogger(errors), connectionLimits: OWN_BOUND_ABOVE_STORE });

    await offlineSubscriber(running.port, 'sub');

    const pub = await raw(running.port);
    await pub.connect({ clientId: 'pub' });
    const acknowledged: string[] = [];
    let refused = 0;
    for (let id = 1; refused < 3 && id < 1000; id++) {
      const payload = `m-${id}-${randomBytes(700).toString('hex')}`;
      pub.send({ cmd: 'publish', topic: 'q/x', payload, qos: 1, messageId: id, retain: false, dup: false });
      const ack = (await pub.nextOf('puback')) as IPubackPacket;
      expect(ack.messageId).toBe(id);
      if (ack.reasonCode === ReasonCode.Success) {
        expect(refused).toBe(0); // once full, nothing gets through
        acknowledged.push(payload);
      } else {
        expect(ack.reasonCode).toBe(ReasonCode.QuotaExceeded);
        refused++;
      }
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(refused).toBe(3);
    expect(errors.join('\n')).toContain('The store is full'); // the engine logs the refusals

    const legacy = await raw(running.port, 4);
    await legacy.connect({ clientId: 'legacy', protocolVersion: 4 });
    legacy.send({ cmd: 'publish', topic: 'q/y', payload: randomBytes(1500), qos: 1, messageId: 1, retain: false, dup: false });
    expect(await legacy.nextOf('puback')).toBeUndefined(); // closed, never acknowledged
    const fullUsage = first.usage();
    expect(fullUsage.full).toBe(true);
    await running.stop();

    // restart on the same files: exactly the acknowledged messages, in order
    const store = await open({ path, encryptionKey, maxSizeBytes: LIMIT });
    expect(store.usage().usedBytes).toBe(fullUsage.usedBytes);
    errors.length = 0;
    running = await brokers.start({ store, logger: capturingLogger(errors), connectionLimits: OWN_BOUND_ABOVE_STORE });
    const again = await raw(running.port);
    expect((await again.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 300 } })).sessionPresent).toBe(true);
    expect(await receiveAcking(again, acknowledged.length)).toEqual(acknowledged);
    expect(await drainUntilPong(again)).toEqual([]);
    expect(errors).toEqual([]); // in-flight marks and deletions were all accepted while full
    expect(store.usage().full).toBe(false);
  });
  it('without a restart too, the subscriber gets exactly the messages acknowledged with 0x00', async () => {
    const path = await freshDir();
    const running = await brokers.start({ store: await open({ path, maxSizeBytes: LIMIT }), connectionLimits: OWN_BOUND_ABOVE_STORE });
    await offlineSubscriber(running.port, 'sub2');
    const pub = await raw(running.port);
    await pub.connect({ clientId: 'pub2' });
    const acknowledged: string[] = [];
    let refused = 0;
    for (let id = 1; refused < 5 && id < 1000; id++) {
      const payload = `n-${id}-${randomBytes(700).toString('hex')}`;
      pub.send({ cmd: 'publish', topic: 'q/x', payload, qos: 1, messageId: id, retain: false, dup: false });
      const ack = (await pub.nextOf('puback')) as IPubackPacket;
      if (ack.reasonCode === ReasonCode.Success) acknowledged.push(payload);
      else refused++;
    }
    const again = await raw(running.port);
    await again.connect({ clientId: 'sub2', clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(await receiveAcking(again, acknowledged.length)).toEqual(acknowledged);
    expect(await drainUntilPong(again)).toEqual([]); // none of the refused ones
  });
});
