import { describe, expect, it } from 'vitest';
import type { BrokerStore, StateStoreKeyRecord } from '../../src/storage/broker-store.js';
import { useStoreUnderTest, type StoreUnderTest } from './broker-store.contract.js';

async function done(completion: void | Promise<void>): Promise<void> {
  await completion;
}

const full: StateStoreKeyRecord = {
  key: Buffer.from([0x00, 0x6b, 0x2f, 0xff, 0xfe]),
  value: Buffer.from([1, 2, 3, 0, 0xff]),
  version: { wall: 1_750_000_000_123, counter: 7, node: 'node-a' },
  fencingToken: { wall: 1_750_000_000_001, counter: 0, node: 'client-ü' },
  expiresAt: 1_900_000_000_456,
};

function plain(key: string, value = 'v'): StateStoreKeyRecord {
  return { key: Buffer.from(key), value: Buffer.from(value), version: { wall: 1, counter: 0, node: 'n' } };
}

function byKey(a: StateStoreKeyRecord, b: StateStoreKeyRecord): number {
  return Buffer.compare(a.key, b.key);
}

/** Requires the store's optional state-store namespace. */
function ns(store: BrokerStore): Required<Pick<BrokerStore, 'loadStateStoreKeys' | 'putStateStoreKey' | 'deleteStateStoreKey'>> {
  const { loadStateStoreKeys, putStateStoreKey, deleteStateStoreKey } = store;
  if (loadStateStoreKeys === undefined || putStateStoreKey === undefined || deleteStateStoreKey === undefined) {
    throw new Error('the store has no state-store namespace');
  }
  return {
    loadStateStoreKeys: () => loadStateStoreKeys.call(store),
    putStateStoreKey: (record) => putStateStoreKey.call(store, record),
    deleteStateStoreKey: (key) => deleteStateStoreKey.call(store, key),
  };
}

/** The optional state-store key namespace of {@link BrokerStore}, for stores that implement it. */
export function runStateStoreKeysContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`BrokerStore state-store keys: ${name}`, () => {
    let store!: BrokerStore;
    const reopen = useStoreUnderTest(makeStore, (current) => (store = current));

    it('starts empty, and round-trips every field (binary key, fencing token, expiry)', async () => {
      expect(await ns(store).loadStateStoreKeys()).toEqual([]);
      await done(ns(store).putStateStoreKey({ ...full, key: Buffer.from(full.key), value: Buffer.from(full.value) }));
      await done(ns(store).putStateStoreKey(plain('no-extras')));
      const loaded = (await ns(store).loadStateStoreKeys()).sort(byKey);
      expect(loaded).toEqual([full, plain('no-extras')].sort(byKey));
      expect('fencingToken' in (loaded.find((r) => r.key.toString() === 'no-extras') ?? {})).toBe(false);
    });

    it('put replaces by key bytes; delete removes; unknown deletes are harmless', async () => {
      await done(ns(store).putStateStoreKey(plain('a', '1')));
      await done(ns(store).putStateStoreKey(plain('A', '2')));
      await done(ns(store).putStateStoreKey(plain('a', '3')));
      await done(ns(store).deleteStateStoreKey(Buffer.from('missing')));
      expect((await ns(store).loadStateStoreKeys()).sort(byKey).map((r) => r.value.toString())).toEqual(['2', '3']);
      await done(ns(store).deleteStateStoreKey(Buffer.from('A')));
      expect((await ns(store).loadStateStoreKeys()).map((r) => r.key.toString())).toEqual(['a']);
    });

    it('keeps state-store keys apart from sessions, queues and retained messages', async () => {
      await done(ns(store).putStateStoreKey(plain('s/x')));
      await done(store.putRetained({ topic: 'k/x', payload: Buffer.from('r'), qos: 0, retain: true }));
      expect(await store.loadSessions()).toEqual([]);
      expect((await store.loadRetained()).map((m) => m.topic)).toEqual(['k/x']);
      expect((await ns(store).loadStateStoreKeys()).map((r) => r.key.toString())).toEqual(['s/x']);
    });

    it('a record put and then changed by the caller is stored as it was put', async () => {
      const record = plain('mut', 'before');
      await done(ns(store).putStateStoreKey(record));
      record.value.write('AFTER!');
      expect((await ns(store).loadStateStoreKeys())[0]?.value.toString()).toBe('before');
    });

    it('reopen returns the keys written before and takes further writes', async () => {
      await done(ns(store).putStateStoreKey(full));
      await done(ns(store).putStateStoreKey(plain('gone')));
      await done(ns(store).deleteStateStoreKey(Buffer.from('gone')));
      const again = await reopen();
      expect(await ns(again).loadStateStoreKeys()).toEqual([full]);
      await done(ns(again).putStateStoreKey(plain('later')));
      expect((await ns(again).loadStateStoreKeys()).length).toBe(2);
    });
  });
}
