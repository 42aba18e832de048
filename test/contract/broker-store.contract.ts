import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerStore, MessageRecord, QueueEntryRecord, SessionRecord } from '../../src/storage/broker-store.js';

/** What a contract run needs: a fresh store, and a way to open it again (after close) on the same data. */
export interface StoreUnderTest {
  readonly store: BrokerStore;
  /** Closes nothing itself; returns a store that sees everything written before (memory: the same instance). */
  reopen(): Promise<BrokerStore>;
}

/**
 * Per test of the enclosing describe: a fresh store from `makeStore`, handed to `use`; every store
 * opened is closed after the test. Returns `reopen`: closes the current store, opens it again on the
 * same data, hands the new one to `use` and returns it.
 */
export function useStoreUnderTest(makeStore: () => Promise<StoreUnderTest>, use: (store: BrokerStore) => void): () => Promise<BrokerStore> {
  let sut: StoreUnderTest;
  let current: BrokerStore;
  const open: BrokerStore[] = [];
  beforeEach(async () => {
    sut = await makeStore();
    current = sut.store;
    open.push(current);
    use(current);
  });
  afterEach(async () => {
    for (const s of new Set(open.splice(0))) await s.close().catch(() => undefined);
  });
  return async () => {
    await current.close();
    current = await sut.reopen();
    open.push(current);
    use(current);
    return current;
  };
}

/** Resolves a write's completion, synchronous or not. */
async function done(completion: void | Promise<void>): Promise<void> {
  await completion;
}

const fullMessage: MessageRecord = {
  topic: 'sensors/büro/t',
  payload: Buffer.from([0, 1, 2, 0xfe, 0xff]),
  qos: 2,
  retain: true,
  expiresAt: 1_900_000_000_123,
  expirySet: true,
  properties: {
    payloadFormatIndicator: false,
    contentType: 'application/octet-stream',
    responseTopic: 'reply/here',
    correlationData: Buffer.from('corr-ü'),
    userProperties: [['a', '1'], ['multi', 'x'], ['b', ''], ['multi', 'y'], ['ключ', 'значение']],
  },
  senderId: 'publisher-1',
};

const plainMessage: MessageRecord = { topic: 'a/b', payload: Buffer.alloc(0), qos: 0, retain: false };

function session(clientId: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    expiryIntervalSeconds: 3600,
    subscriptions: [
      { filter: 'a/+', qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 2, subscriptionId: 42 },
      { filter: '$share/g/b/#', qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 0 },
    ],
    ...extra,
  };
}

function entry(seq: number, extra: Partial<QueueEntryRecord> = {}): QueueEntryRecord {
  return { seq, message: { ...plainMessage, payload: Buffer.from(`m${seq}`), qos: 1 }, qos: 1, retain: false, ...extra };
}

/** Deep, Buffer-aware copy, so assertions never compare an object with itself. */
function clone<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
  }
  return value;
}

function byClientId(a: SessionRecord, b: SessionRecord): number {
  return a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0;
}

function byTopic(a: MessageRecord, b: MessageRecord): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0;
}

/**
 * The {@link BrokerStore} contract: every implementation (memory now, level later) runs this
 * suite. `makeStore` returns a fresh, empty store each time.
 */
export function runBrokerStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`BrokerStore contract: ${name}`, () => {
    let store!: BrokerStore;
    const reopen = useStoreUnderTest(makeStore, (current) => (store = current));

    it('starts empty', async () => {
      expect(await store.loadSessions()).toEqual([]);
      expect(await store.loadRetained()).toEqual([]);
      expect(await store.loadQueue('nobody')).toEqual([]);
      expect(typeof store.durable).toBe('boolean');
    });

    describe('sessions', () => {
      it('save and load round-trip every field', async () => {
        const full = session('c1', {
          disconnectedAt: 1_700_000_000_000,
          will: { message: fullMessage, delaySeconds: 30 },
          owner: 'X509:CN=dév-1, O=Contoso',
          connectUserProperties: [
            ['aio-persistence', 'true'],
            ['région', ''],
          ],
        });
        await done(store.saveSession(clone(full)));
        await done(store.saveSession(clone(session('c2', { protocolVersion: 4, expiryIntervalSeconds: 0, persistQueue: false, subscriptions: [] }))));
        const loaded = (await store.loadSessions()).sort(byClientId);
        expect(loaded).toEqual([full, session('c2', { protocolVersion: 4, expiryIntervalSeconds: 0, persistQueue: false, subscriptions: [] })]);
        expect(Buffer.isBuffer(loaded[0]?.will?.message.payload)).toBe(true);
        expect(Buffer.isBuffer(loaded[0]?.will?.message.properties?.correlationData)).toBe(true);
      });

      it('save replaces the record of the same client id', async () => {
        await done(store.saveSession(session('c1')));
        const updated = session('c1', { expiryIntervalSeconds: 5, subscriptions: [], disconnectedAt: 123 });
        await done(store.saveSession(updated));
        expect(await store.loadSessions()).toEqual([updated]);
      });

      it('delete removes the session and its queue, and leaves others alone', async () => {
        await done(store.saveSession(session('c1')));
        await done(store.saveSession(session('c2')));
        await done(store.putQueueEntries('c1', [entry(1), entry(2)]));
        await done(store.putQueueEntries('c2', [entry(1)]));
        await done(store.deleteSession('c1'));
        expect((await store.loadSessions()).map((s) => s.clientId)).toEqual(['c2']);
        expect(await store.loadQueue('c1')).toEqual([]);
        expect(await store.loadQueue('c2')).toEqual([entry(1)]);
      });

      it('deleting an unknown session is harmless', async () => {
        await done(store.deleteSession('ghost'));
        expect(await store.loadSessions()).toEqual([]);
      });
    });

    describe('queues', () => {
      it('load returns entries sorted by seq, whatever the write order', async () => {
        await done(store.putQueueEntries('c', [entry(10), entry(2)]));
        await done(store.putQueueEntries('c', [entry(7)]));
        await done(store.putQueueEntries('c', [entry(100), entry(1)]));
        expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual([1, 2, 7, 10, 100]);
      });

      it('put replaces an entry with the same seq (in flight, then released)', async () => {
        await done(store.putQueueEntries('c', [entry(1), entry(2)]));
        await done(store.putQueueEntries('c', [entry(1, { packetId: 17 })]));
        await done(store.putQueueEntries('c', [entry(1, { packetId: 17, released: true, qos: 2 })]));
        expect(await store.loadQueue('c')).toEqual([entry(1, { packetId: 17, released: true, qos: 2 }), entry(2)]);
      });

      it('delete removes the given seqs only; unknown seqs and clients are ignored', async () => {
        await done(store.putQueueEntries('c', [entry(1), entry(2), entry(3), entry(4)]));
        await done(store.deleteQueueEntries('c', [2, 4, 99]));
        await done(store.deleteQueueEntries('nobody', [1]));
        expect((await store.loadQueue('c')).map((e) => e.seq)).toEqual([1, 3]);
      });

      it('queues of different clients are separate', async () => {
        await done(store.putQueueEntries('a', [entry(1)]));
        await done(store.putQueueEntries('b', [entry(1, { retain: true })]));
        expect(await store.loadQueue('a')).toEqual([entry(1)]);
        expect(await store.loadQueue('b')).toEqual([entry(1, { retain: true })]);
      });

      it('entries round-trip every field, Buffers included', async () => {
        const full: QueueEntryRecord = { seq: 5, message: fullMessage, qos: 2, retain: true, subscriptionIds: [1, 268_435_455], packetId: 65_535, released: false };
        await done(store.putQueueEntries('c', [clone(full)]));
        const [loaded] = await store.loadQueue('c');
        expect(loaded).toEqual(full);
        expect(Buffer.isBuffer(loaded?.message.payload)).toBe(true);
        expect(loaded?.message.payload.equals(fullMessage.payload)).toBe(true);
      });
    });

    describe('retained messages', () => {
      it('put, replace by topic, delete', async () => {
        await done(store.putRetained(clone(fullMessage)));
        await done(store.putRetained({ ...plainMessage, payload: Buffer.from('v1'), retain: true }));
        await done(store.putRetained({ ...plainMessage, payload: Buffer.from('v2'), retain: true }));
        const loaded = (await store.loadRetained()).sort(byTopic);
        expect(loaded).toEqual([{ ...plainMessage, payload: Buffer.from('v2'), retain: true }, fullMessage].sort(byTopic));
        await done(store.deleteRetained('a/b'));
        await done(store.deleteRetained('never/set'));
        expect(await store.loadRetained()).toEqual([fullMessage]);
      });

      it('topics differing only in case or trailing slash are different', async () => {
        for (const topic of ['a/b', 'A/b', 'a/b/', '/a/b']) await done(store.putRetained({ ...plainMessage, topic, payload: Buffer.from(topic) }));
        expect((await store.loadRetained()).map((m) => m.topic).sort()).toEqual(['/a/b', 'A/b', 'a/b', 'a/b/']);
      });
    });

    describe('reopen', () => {
      it('returns everything written before', async () => {
        const s = session('c1', { disconnectedAt: 99, will: { message: fullMessage, delaySeconds: 0 } });
        await done(store.saveSession(clone(s)));
        await done(store.saveSession(session('gone')));
        await done(store.deleteSession('gone'));
        await done(store.putQueueEntries('c1', [entry(3), entry(1, { packetId: 9 }), entry(2)]));
        await done(store.deleteQueueEntries('c1', [2]));
        await done(store.putRetained(clone(fullMessage)));
        await done(store.putRetained({ ...plainMessage, topic: 'deleted' }));
        await done(store.deleteRetained('deleted'));

        const again = await reopen();
        expect(await again.loadSessions()).toEqual([s]);
        expect(await again.loadQueue('c1')).toEqual([entry(1, { packetId: 9 }), entry(3)]);
        expect(await again.loadQueue('gone')).toEqual([]);
        expect(await again.loadRetained()).toEqual([fullMessage]);
      });

      it('a reopened store takes further writes', async () => {
        await done(store.putQueueEntries('c', [entry(1)]));
        const again = await reopen();
        await done(again.putQueueEntries('c', [entry(2)]));
        await done(again.saveSession(session('c')));
        expect((await again.loadQueue('c')).map((e) => e.seq)).toEqual([1, 2]);
        expect((await again.loadSessions()).map((x) => x.clientId)).toEqual(['c']);
      });
    });
  });
}
