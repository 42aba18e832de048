/**
 * The write-ahead log check's parts: the log reader on logs laid out as LevelDB 1.20's
 * `log::Writer` writes them (blocks, padding, FIRST/MIDDLE/LAST fragments), the commit counter
 * and the acknowledged-mark file's two slots.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACKED_MARK_FILE, AckedMarkFile, readAckedMark } from '../../../src/storage/level/wal/acked-mark-file.js';
import { CommitCounter, decodeCommitMark, NO_COMMIT } from '../../../src/storage/level/wal/commit-mark.js';
import { crc32c, maskCrc } from '../../../src/storage/level/wal/crc32c.js';
import { LOG_BLOCK_BYTES, readLog } from '../../../src/storage/level/wal/log-reader.js';

/** Lays `records` out as LevelDB's log writer does (32 KiB blocks, 7-byte headers, zero padding). */
function logOf(records: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  const emit = (type: number, data: Buffer): void => {
    const header = Buffer.alloc(7);
    header.writeUInt16LE(data.length, 4);
    header[6] = type;
    header.writeUInt32LE(maskCrc(crc32c(Buffer.concat([header.subarray(6), data]))), 0);
    out.push(header, data);
    offset += 7 + data.length;
  };
  for (const record of records) {
    let left = record;
    let begin = true;
    do {
      const room = LOG_BLOCK_BYTES - (offset % LOG_BLOCK_BYTES);
      if (room < 7) {
        out.push(Buffer.alloc(room));
        offset += room;
        continue;
      }
      const fragment = left.subarray(0, room - 7);
      left = left.subarray(fragment.length);
      const end = left.length === 0;
      emit(begin && end ? 1 : begin ? 2 : end ? 4 : 3, fragment);
      begin = false;
    } while (left.length > 0);
  }
  return Buffer.concat(out);
}

const batch = (n: number, bytes: number): Buffer => Buffer.alloc(bytes, n);

describe('readLog (LevelDB log replay)', () => {
  it('replays whole records, one across three blocks (FIRST, MIDDLE, LAST), and block padding', () => {
    const records = [batch(1, 32_760), batch(2, 80_000), batch(3, 100)]; // the first leaves 1 byte of padding
    const contents = readLog(logOf(records));
    expect(contents.drops).toEqual([]);
    expect(contents.records.map((r) => r.data)).toEqual(records);
  });

  it('a flipped bit drops the rest of its block and the fragments that follow; later records replay', () => {
    const log = logOf([batch(1, 1000), batch(2, 1000), batch(3, 40_000), batch(4, 1000)]);
    log[1007 + 500] = (log[1007 + 500] as number) ^ 1; // inside the second record
    const { records, drops } = readLog(log);
    expect(records.map((r) => r.data[0])).toEqual([1, 4]);
    expect(drops.map((d) => d.reason)).toEqual(['checksum mismatch', 'missing start of fragmented record']);
  });

  it('a cut end (data, header or a fragmented record) is skipped as a writer that died mid-record', () => {
    const whole = logOf([batch(1, 1000), batch(2, 40_000)]);
    for (const [cut, reason] of [
      [1007 + 500, 'the last record is cut short'],
      [1007 + 3, 'the last record is cut short (header)'],
      [LOG_BLOCK_BYTES + 100, 'the last record is cut short (fragments)'], // its FIRST fragment whole, the rest cut
    ] as const) {
      const { records, drops } = readLog(whole.subarray(0, cut));
      expect(records.map((r) => r.data[0])).toEqual([1]);
      expect(drops.at(-1)?.reason).toBe(reason);
    }
  });

  it('zero bytes in place of a record are reported (LevelDB skips the rest of the block silently)', () => {
    const log = logOf([batch(1, 1000), batch(2, 1000), batch(3, 1000)]);
    log.fill(0, 1007, 1007 + 1007);
    const { records, drops } = readLog(log);
    expect(records.map((r) => r.data[0])).toEqual([1]);
    expect(drops).toEqual([{ offset: 1007, bytes: log.length - 1007, reason: 'zero bytes in place of records' }]);
  });
});

describe('CommitCounter', () => {
  it('numbers batches after the last durable one, with running totals; a failed batch number is taken again', () => {
    const counter = new CommitCounter({ batch: 7, entries: 2, total: 50 });
    expect(decodeCommitMark(counter.seal(3))).toEqual({ batch: 8, entries: 3, total: 53 });
    expect(counter.written()).toEqual({ batch: 8, entries: 3, total: 53 });
    counter.seal(5); // fails: never written
    expect(decodeCommitMark(counter.seal(6))).toEqual({ batch: 9, entries: 3, total: 56 });
    expect(counter.written().batch).toBe(9);
    expect(new CommitCounter(NO_COMMIT).durable).toEqual(NO_COMMIT);
  });
});

describe('AckedMarkFile', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the newest valid slot: a torn write leaves the previous mark; both slots damaged is "damaged"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ops-acked-'));
    dirs.push(dir);
    expect(await readAckedMark(dir)).toEqual({ kind: 'absent' });
    const file = await AckedMarkFile.open(dir, 0, { batch: 1, entries: 1, total: 1 });
    file.advance({ batch: 2, entries: 1, total: 2 });
    await file.close({ batch: 3, entries: 1, total: 3 });
    expect(await readAckedMark(dir)).toEqual({ kind: 'valid', value: { generation: 3, clean: true, mark: { batch: 3, entries: 1, total: 3 } } });

    const path = join(dir, ACKED_MARK_FILE);
    const bytes = await readFile(path);
    bytes[64 + 20] = (bytes[64 + 20] as number) ^ 1; // generation 3 is in the second slot: torn
    await writeFile(path, bytes);
    const previous = await readAckedMark(dir);
    expect(previous.kind === 'valid' && previous.value.generation).toBe(2);
    bytes[20] = (bytes[20] as number) ^ 1;
    await writeFile(path, bytes);
    expect(await readAckedMark(dir)).toEqual({ kind: 'damaged' });
  });
});
