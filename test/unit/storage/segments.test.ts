import { describe, expect, it } from 'vitest';
import { RecordFormatError } from '../../../src/storage/binary-io.js';
import { EntryKeyScratch, parseQueueKey, parseSegmentKey, queueEntryKey, segmentedEntryKey, segmentKey } from '../../../src/storage/level/keys.js';
import { decodeSegment, SegmentBuilder, segmentEntryOverhead, SEGMENT_HEADER_BYTES } from '../../../src/storage/level/segment-codec.js';
import { SegmentIndex } from '../../../src/storage/level/segment-index.js';
import { queueEntryBytes } from '../../../src/storage/message-codec.js';
import { encodeQueueEntry } from '../../../src/storage/record-codec.js';
import { SegmentReader } from '../../../src/storage/level/segment-reader.js';

const prefix = (id: string): Buffer => Buffer.concat([Buffer.from('q/'), Buffer.from([0, id.length]), Buffer.from(id)]);

describe('segment codec', () => {
  it('round-trips entries of several queues; sizes are as announced', () => {
    const builder = new SegmentBuilder();
    builder.add(prefix('a'), 1, Buffer.from('one'));
    builder.add(prefix('b'), 2 ** 40, Buffer.from('two'));
    builder.add(prefix('a'), 2, Buffer.alloc(0));
    const bytes = builder.finish();
    expect(bytes.length).toBe(SEGMENT_HEADER_BYTES + 3 * segmentEntryOverhead(prefix('a').length) + 6);
    const contents = decodeSegment(bytes);
    expect(contents.get(prefix('a').toString('latin1'))?.get(1)?.toString()).toBe('one');
    expect(contents.get(prefix('a').toString('latin1'))?.get(2)?.length).toBe(0);
    expect(contents.get(prefix('b').toString('latin1'))?.get(2 ** 40)?.toString()).toBe('two');
    expect(builder.count).toBe(3);
  });

  it('an entry added unencoded is written as its encoded record; a wrong announced length is refused', () => {
    const entry = { seq: 9, message: { topic: 'a/ü', payload: Buffer.from('x'), qos: 1 as const, retain: false, senderId: 'p' }, qos: 1 as const, retain: false, packetId: 3 };
    const encoded = encodeQueueEntry(entry);
    const plain = new SegmentBuilder();
    plain.add(prefix('a'), 9, encoded);
    const deferred = new SegmentBuilder();
    deferred.addEntry(prefix('a'), 9, entry, queueEntryBytes(entry));
    expect(deferred.finish()).toEqual(plain.finish());
    const wrong = new SegmentBuilder();
    wrong.addEntry(prefix('a'), 9, entry, queueEntryBytes(entry) + 1);
    expect(() => wrong.finish()).toThrow(/expected/);
  });

  it('truncated, padded or unknown-version segments are RecordFormatError', () => {
    const builder = new SegmentBuilder();
    builder.add(prefix('a'), 1, Buffer.from('one'));
    const bytes = builder.finish();
    for (const bad of [bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, Buffer.from([0])]), Buffer.concat([Buffer.from([9]), bytes.subarray(1)]), Buffer.alloc(2)]) {
      expect(() => decodeSegment(bad)).toThrow(RecordFormatError);
    }
  });
});

describe('segment keys', () => {
  it('keys built in reused buffers equal freshly built ones, across queues of the same and other lengths', () => {
    const scratch = new EntryKeyScratch();
    const queues = [prefix('aa'), prefix('bb'), prefix('a'), prefix('aa')];
    for (const [i, p] of queues.entries()) {
      for (const [seq, segment] of [[1, 1], [2 ** 40, 2 ** 33 + 1], [i, 7]] as const) {
        expect(Buffer.from(scratch.key(p, seq, segment))).toEqual(segmentedEntryKey(p, seq, segment));
      }
    }
    expect(() => scratch.key(prefix('a'), -1, 1)).toThrow(RangeError);
  });

  it('entry keys of both formats and segment keys parse back; entry keys sort by seq', () => {
    const p = prefix('client');
    expect(parseQueueKey(segmentedEntryKey(p, 7, 2 ** 33))).toEqual({ prefixLength: p.length, seq: 7, segment: 2 ** 33 });
    expect(parseQueueKey(queueEntryKey(p, 7))).toEqual({ prefixLength: p.length, seq: 7, segment: 0 });
    expect(parseQueueKey(Buffer.concat([p, Buffer.alloc(3)]))).toBeUndefined();
    expect(parseQueueKey(Buffer.from('s/abc'))).toBeUndefined();
    expect(parseSegmentKey(segmentKey(12345))).toBe(12345);
    expect(parseSegmentKey(Buffer.from('s/abc'))).toBeUndefined();
    expect(Buffer.compare(segmentedEntryKey(p, 1, 900), segmentedEntryKey(p, 2, 1))).toBeLessThan(0);
  });
});

describe('SegmentIndex', () => {
  it('counts live entries per segment; the last removal empties it; orphans are segments without entries', () => {
    const index = new SegmentIndex();
    index.loadSegment(3);
    index.loadSegment(5);
    index.loadEntry('a', 1, 3);
    index.loadEntry('b', 1, 3);
    index.loadEntry('a', 0, 0); // a format 1 record
    expect(index.orphans()).toEqual([5]);
    expect(index.nextId()).toBe(6);
    expect(index.liveCount(3)).toBe(2);
    expect(index.remove('a', 1)).toEqual({ place: 3, emptied: false });
    expect(index.remove('a', 1)).toBeUndefined();
    expect(index.remove('a', 0)).toEqual({ place: 0, emptied: false });
    expect(index.remove('b', 1)).toEqual({ place: 3, emptied: true });
    expect(index.liveCount(3)).toBe(0);
    index.place('c', 9, 6);
    expect(index.placeOf('c', 9)).toBe(6);
  });
});

describe('SegmentReader', () => {
  it('loads each segment once while entries remain, drops it when all were handed out', async () => {
    const loads: number[][] = [];
    const reader = new SegmentReader((ids) => {
      loads.push([...ids]);
      return Promise.resolve(ids.map((id) => ({ contents: new Map([['q', new Map([[id, Buffer.from(`r${id}`)]])]]), bytes: 10 })));
    });
    const live = (): number => 2;
    const first = await reader.fetch([1, 2, 1], live);
    expect([...first.keys()]).toEqual([1, 2]);
    reader.handedOut(1);
    await reader.fetch([1], live); // still cached: one entry of segment 1 is left
    reader.handedOut(1); // both handed out: dropped
    await reader.fetch([1], live);
    expect(loads).toEqual([[1, 2], [1]]);
    reader.forget(2); // deleted: read again if ever asked
    await reader.fetch([2], live);
    expect(loads).toEqual([[1, 2], [1], [2]]);
  });

  it('past its byte limit it evicts oldest first, but always answers every id asked', async () => {
    const reader = new SegmentReader((ids) => Promise.resolve(ids.map(() => ({ contents: new Map(), bytes: 60 }))), 100);
    const got = await reader.fetch([1, 2, 3], () => 1);
    expect([...got.keys()]).toEqual([1, 2, 3]);
  });
});
