import { randomBytes } from 'node:crypto';
import type { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import type { OpsError } from '../../../src/shared/errors.js';
import type { QueueEntryRecord, StoreUsage } from '../../../src/storage/broker-store.js';
import { aesGcmCipher, makeKeyCheck, plainCipher, type ValueCipher } from '../../../src/storage/value-cipher.js';
import { KeyLayout, META_FORMAT_KEY, META_KEYCHECK_KEY, parseQueueKey, parseSegmentKey, segmentKey } from '../../../src/storage/level/keys.js';
import { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { encodeQueueEntry } from '../../../src/storage/record-codec.js';
import { STORE_FORMAT_VERSION } from '../../../src/storage/level/store-format.js';
import { expectCode, levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { rawEntries, withRawLevel } from '../../helpers/raw-level.js';

const fixture = levelStoreFixture('ops-level-segments-');
const freshDir = fixture.freshDir;

function open(path: string, encryptionKey?: Buffer, maxSizeBytes?: number): Promise<LevelBrokerStore> {
  return fixture.open({ path, ...(encryptionKey !== undefined ? { encryptionKey } : {}), ...(maxSizeBytes !== undefined ? { maxSizeBytes } : {}) });
}

afterEach(fixture.cleanup);

function entry(seq: number, text = `m-${seq}`): QueueEntryRecord {
  return { seq, message: { topic: 't/x', payload: Buffer.from(text), qos: 1, retain: false }, qos: 1, retain: false };
}

/** Puts each entry with its own call in one tick: one batch, one segment. */
async function putOneBatch(store: LevelBrokerStore, writes: [clientId: string, seq: number][]): Promise<void> {
  await Promise.all(writes.map(([clientId, seq]) => store.putQueueEntries(clientId, [entry(seq)])));
}

/** Segment ids on disk, and the queue keys (seq, segment) on disk, with their values' lengths. */
async function layout(path: string): Promise<{ segments: number[]; entries: { seq: number; segment: number; valueBytes: number }[] }> {
  const segments = (await rawEntries(path, 'seg/')).map(([key]) => parseSegmentKey(key) as number);
  const entries = (await rawEntries(path, 'q/')).map(([key, value]) => {
    const parsed = parseQueueKey(key);
    if (parsed === undefined) throw new Error('unparsable queue key');
    return { seq: parsed.seq, segment: parsed.segment, valueBytes: value.length };
  });
  return { segments, entries };
}

/** What the ledger counts (the directory size differs from open to open). */
const counted = (usage: StoreUsage): { usedBytes: number; records: number } => ({ usedBytes: usage.usedBytes, records: usage.records });

const seqs = (entries: readonly QueueEntryRecord[]): number[] => entries.map((e) => e.seq);

describe.each([
  ['AES-256-GCM', (): Buffer | undefined => randomBytes(32)],
  ['Disabled', (): Buffer | undefined => undefined],
])('queue segments (encryption %s)', (_mode, makeKey) => {
  it('one batch is one segment; entry keys hold no value; the segment goes with its last entry', async () => {
    const path = await freshDir();
    const key = makeKey();
    const store = await open(path, key);
    await putOneBatch(store, [
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
    await store.putQueueEntries('b', [entry(2)]); // a second batch: a second segment
    await store.deleteQueueEntries('a', [1, 2]); // the first segment still holds b/1
    await store.close();
    let disk = await layout(path);
    expect(disk.segments).toHaveLength(2);
    expect(disk.entries.map((e) => e.valueBytes)).toEqual([0, 0]);
    const [first, second] = disk.segments;

    const again = await open(path, key);
    expect(seqs(await again.loadQueue('b'))).toEqual([1, 2]);
    await again.deleteQueueEntries('b', [1]); // the last live entry of the first segment
    await again.close();
    disk = await layout(path);
    expect(disk.segments).toEqual([second]);
    expect(disk.segments).not.toContain(first);

    const third = await open(path, key);
    await third.putQueueEntries('b', [{ ...entry(2), packetId: 5, released: true }]); // re-put: moves to a new segment
    await third.close();
    disk = await layout(path);
    expect(disk.segments).toHaveLength(1);
    expect(disk.segments[0]).toBeGreaterThan(second as number); // ids are never reused
    expect(await (await open(path, key)).loadQueue('b')).toEqual([{ ...entry(2), packetId: 5, released: true }]);
  });

  it('partial acknowledgements across restarts: exactly the unacknowledged entries come back, in order', async () => {
    const path = await freshDir();
    const key = makeKey();
    let store = await open(path, key);
    const all = Array.from({ length: 30 }, (_, i) => i + 1);
    await putOneBatch(store, all.slice(0, 10).flatMap((seq): [string, number][] => [['s1', seq], ['s2', seq]]));
    await putOneBatch(store, all.slice(10).flatMap((seq): [string, number][] => [['s1', seq], ['s2', seq]]));
    await store.deleteQueueEntries('s1', [1, 2, 3, 11]);
    await store.close();

    store = await open(path, key);
    expect(seqs(await store.loadQueue('s1'))).toEqual(all.filter((s) => ![1, 2, 3, 11].includes(s)));
    expect(seqs(await store.loadQueue('s2'))).toEqual(all);
    await store.deleteQueueEntries('s2', all.slice(0, 25));
    await store.deleteQueueEntries('s1', all.slice(0, 20));
    const usage = store.usage();
    await store.close();

    store = await open(path, key);
    expect(counted(store.usage())).toEqual(counted(usage)); // bytes charged for segments and entries survive exactly
    expect(await store.loadQueue('s1')).toEqual(all.slice(20).map((s) => entry(s)));
    expect(seqs(await store.loadQueue('s2'))).toEqual(all.slice(25));
    await store.deleteSession('s1');
    await store.deleteSession('s2');
    await store.close();
    expect(await layout(path)).toEqual({ segments: [], entries: [] });
  });

  it('orphan segments (no entry refers to them) are deleted at open and not counted', async () => {
    const path = await freshDir();
    const key = makeKey();
    const store = await open(path, key);
    await putOneBatch(store, [
      ['a', 1],
      ['a', 2],
    ]);
    await store.putQueueEntries('a', [entry(3)]);
    const usage = store.usage();
    await store.close();
    // As if a broker was killed between writing entry deletions and the segment's deletion, or an
    // older broker left a segment: its entry keys are gone, the segment is not.
    const orphan = (await layout(path)).segments[0] as number;
    await withRawLevel(path, async (db) => {
      const keys = (await db.keys().all()).filter((k) => parseQueueKey(k)?.segment === orphan);
      await db.batch(
        keys.map((k) => ({ type: 'del' as const, key: k })),
        { sync: true },
      );
      await db.put(segmentKey(999), Buffer.from('garbage'), { sync: true });
    });
    const again = await open(path, key);
    expect(seqs(await again.loadQueue('a'))).toEqual([3]);
    expect(again.usage().usedBytes).toBeLessThan(usage.usedBytes);
    const after = again.usage();
    await again.close();
    expect((await layout(path)).segments).toHaveLength(1);
    expect(counted((await open(path, key)).usage())).toEqual(counted(after));
  });

  it('quota: a segment is charged when written and freed when its last entry goes; refusals write nothing', async () => {
    const path = await freshDir();
    const key = makeKey();
    const store = await open(path, key, 64 * 1024);
    const big = (seq: number): QueueEntryRecord => ({ ...entry(seq), message: { ...entry(seq).message, payload: randomBytes(4096) } });
    await Promise.all([1, 2, 3, 4].map((seq) => store.putQueueEntries('q', [big(seq)])));
    const four = store.usage().usedBytes;
    expect(four).toBeGreaterThan(4 * 4096);
    await store.deleteQueueEntries('q', [1, 2, 3]);
    const oneLeft = store.usage().usedBytes;
    expect(four - oneLeft).toBeLessThan(3 * 100); // only entry keys: the segment still holds 4 records
    await store.deleteQueueEntries('q', [4]);
    expect(store.usage().usedBytes).toBeLessThan(four - 4 * 4096); // the segment is gone
    // fill to the limit, one entry per batch
    let refused: OpsError | undefined;
    const accepted: number[] = [];
    for (let seq = 10; refused === undefined; seq++) {
      await store.putQueueEntries('q', [big(seq)]).then(
        () => void accepted.push(seq),
        (e: unknown) => void (refused = e as OpsError),
      );
    }
    expect(refused?.code).toBe('STO_QUOTA_EXCEEDED');
    expect(store.usage().usedBytes).toBeLessThanOrEqual(64 * 1024);
    const full = store.usage();
    await store.close();
    const again = await open(path, key, 64 * 1024);
    expect(again.usage().usedBytes).toBe(full.usedBytes);
    expect(seqs(await again.loadQueue('q'))).toEqual(accepted);
  });
});

describe('queue segments: tampering', () => {
  it('an entry key copied under another queue, a deleted segment and a segment moved under another id are STO_CORRUPT_RECORD', async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    const store = await open(path, key);
    await putOneBatch(store, [['victim', 1]]);
    await putOneBatch(store, [['other', 1]]);
    await store.saveSession({ clientId: 'thief', protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] });
    await store.close();
    const [victimSegment, otherSegment] = (await layout(path)).segments as [number, number];

    // 1. the victim's entry key copied into the thief's queue (same seq, same segment)
    await withRawLevel(path, async (db) => {
      const keys = await layoutOf(db, key);
      const victimKey = (await db.keys().all()).find((k) => parseQueueKey(k)?.segment === victimSegment) as Buffer;
      const parsed = parseQueueKey(victimKey);
      if (parsed === undefined) throw new Error('no entry key');
      await db.put(Buffer.concat([keys.queuePrefix('thief'), victimKey.subarray(parsed.prefixLength)]), Buffer.alloc(0), { sync: true });
    });
    const copied = await open(path, key);
    expect((await expectCode(copied.loadQueue('thief'), 'STO_CORRUPT_RECORD')).message).toMatch(/does not hold this entry/);
    expect(seqs(await copied.loadQueue('victim'))).toEqual([1]);
    await copied.close();

    // 2. the other segment's value moved under the victim's segment id
    await withRawLevel(path, async (db) => {
      const value = (await db.get(segmentKey(otherSegment))) as Buffer;
      await db.put(segmentKey(victimSegment), value, { sync: true });
    });
    const moved = await open(path, key);
    const error = await expectCode(moved.loadQueue('victim'), 'STO_CORRUPT_RECORD');
    expect(error.message).toMatch(/queue entry.*authentication failed/);
    expect(seqs(await moved.loadQueue('other'))).toEqual([1]); // other queues are unaffected
    await moved.close();

    // 3. the segment deleted
    await withRawLevel(path, (db) => db.del(segmentKey(victimSegment), { sync: true }));
    const missing = await open(path, key);
    expect((await expectCode(missing.loadQueue('victim'), 'STO_CORRUPT_RECORD')).message).toMatch(/segment \d+ is missing/);
  });

  it("an entry key naming a segment that does not hold that entry is STO_CORRUPT_RECORD, never another queue's message", async () => {
    const path = await freshDir();
    const key = randomBytes(32);
    const store = await open(path, key);
    await putOneBatch(store, [
      ['victim', 1],
      ['thief', 1],
    ]);
    await store.putQueueEntries('thief', [entry(2)]);
    await store.close();
    const [shared] = (await layout(path)).segments as [number];
    // the thief's entry 2 re-pointed at the shared segment, which holds no thief/2
    await withRawLevel(path, async (db) => {
      const all = await db.keys().all();
      const thief2 = all.find((k) => parseQueueKey(k)?.seq === 2) as Buffer;
      const parsed = parseQueueKey(thief2);
      if (parsed === undefined) throw new Error('no entry key');
      const forged = Buffer.from(thief2);
      forged.writeUInt32BE(0, parsed.prefixLength + 8);
      forged.writeUInt32BE(shared, parsed.prefixLength + 12);
      await db.batch(
        [
          { type: 'del', key: thief2 },
          { type: 'put', key: forged, value: Buffer.alloc(0) },
        ],
        { sync: true },
      );
    });
    const again = await open(path, key);
    expect(seqs(await again.loadQueue('victim'))).toEqual([1]);
    expect((await expectCode(again.loadQueue('thief'), 'STO_CORRUPT_RECORD')).message).toMatch(/does not hold this entry/);
  });
});

/** The key layout of the store open in `db` (its salt read from the format record). */
async function layoutOf(db: Level<Buffer, Buffer>, encryptionKey: Buffer | undefined): Promise<KeyLayout> {
  const format = JSON.parse(((await db.get(META_FORMAT_KEY)) as Buffer).toString()) as { salt: string };
  return new KeyLayout((encryptionKey === undefined ? plainCipher() : aesGcmCipher(encryptionKey, Buffer.from(format.salt, 'base64'))).id);
}

/** Writes a format 1 store (per-entry sealed records) directly, as the previous broker did. */
async function writeFormat1Store(path: string, encryptionKey: Buffer | undefined, queues: Record<string, number[]>): Promise<void> {
  const salt = randomBytes(16);
  const cipher: ValueCipher = encryptionKey === undefined ? plainCipher() : aesGcmCipher(encryptionKey, salt);
  const keys = new KeyLayout(cipher.id);
  const format = { version: 1, encryption: encryptionKey === undefined ? 'Disabled' : 'AES-256-GCM', salt: salt.toString('base64') };
  const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [{ type: 'put', key: META_FORMAT_KEY, value: Buffer.from(JSON.stringify(format)) }];
  if (encryptionKey !== undefined) ops.push({ type: 'put', key: META_KEYCHECK_KEY, value: makeKeyCheck(cipher, META_KEYCHECK_KEY) });
  for (const [clientId, list] of Object.entries(queues)) {
    for (const seq of list) {
      const key = keys.queueEntry(clientId, seq);
      ops.push({ type: 'put', key, value: cipher.seal(key, encodeQueueEntry(entry(seq))) });
    }
  }
  await withRawLevel(path, (db) => db.batch(ops, { sync: true }));
}

describe.each([
  ['AES-256-GCM', (): Buffer | undefined => randomBytes(32)],
  ['Disabled', (): Buffer | undefined => undefined],
])('a format 1 store (encryption %s)', (_mode, makeKey) => {
  it('opens, reads its per-entry records, mixes them with segments, and is marked format 2', async () => {
    const path = await freshDir();
    const key = makeKey();
    await writeFormat1Store(path, key, { a: [1, 2, 3, 4], b: [1] });
    let store = await open(path, key);
    expect(await store.loadQueue('a')).toEqual([1, 2, 3, 4].map((s) => entry(s)));
    const usage = store.usage();
    await store.deleteQueueEntries('a', [1]); // an old record deleted
    await store.putQueueEntries('a', [{ ...entry(2), packetId: 3, released: true }]); // an old record replaced (moves to a segment)
    await store.putQueueEntries('a', [entry(5), entry(6)]); // new entries: a segment
    expect(store.usage().usedBytes).not.toBe(usage.usedBytes);
    const mixed = store.usage();
    await store.close();

    const disk = await layout(path);
    expect(disk.entries.filter((e) => e.segment === 0).length).toBe(3); // a/3, a/4, b/1 still old records
    expect(disk.entries.filter((e) => e.segment !== 0).length).toBe(3); // a/2, a/5, a/6
    expect(disk.segments).toHaveLength(2);
    const format = await withRawLevel(path, async (db) => JSON.parse(((await db.get(META_FORMAT_KEY)) as Buffer).toString()) as { version: number });
    expect(format.version).toBe(STORE_FORMAT_VERSION);

    store = await open(path, key);
    expect(counted(store.usage())).toEqual(counted(mixed));
    expect(await store.loadQueue('a')).toEqual([{ ...entry(2), packetId: 3, released: true }, entry(3), entry(4), entry(5), entry(6)]);
    expect(seqs(await store.loadQueue('b'))).toEqual([1]);
    await store.deleteSession('a');
    await store.deleteQueueEntries('b', [1]);
    await store.close();
    expect(await layout(path)).toEqual({ segments: [], entries: [] });
  });
});

it('a store of a newer format is refused with a clear error', async () => {
  const path = await freshDir();
  await (await open(path)).close();
  await withRawLevel(path, async (db) => {
    const format = JSON.parse(((await db.get(META_FORMAT_KEY)) as Buffer).toString()) as Record<string, unknown>;
    await db.put(META_FORMAT_KEY, Buffer.from(JSON.stringify({ ...format, version: STORE_FORMAT_VERSION + 1 })), { sync: true });
  });
  const error = await expectCode(LevelBrokerStore.open({ path }), 'STO_OPEN_FAILED');
  expect(error.message).toMatch(/newer than this broker supports/);
});
