/**
 * A damaged write-ahead log: LevelDB replays its `.log` at open and, without
 * paranoid checks, skips damaged records silently, so a store would lose acknowledged messages
 * without a word. The store refuses it (STO_LOG_DAMAGED) before LevelDB touches a file, and with
 * `repair` opens what survived and says exactly what was lost. A crash is simulated by copying the
 * directory of an open store (the acknowledged-mark file first): what kill -9 leaves on disk.
 */
import { copyFile, cp, open as openFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueEntryRecord } from '../../../src/storage/broker-store.js';
import type { LevelBrokerStore } from '../../../src/storage/level/level-broker-store.js';
import { ACKED_MARK_FILE, readAckedMark } from '../../../src/storage/level/wal/acked-mark-file.js';
import { LOG_BLOCK_BYTES, readLog } from '../../../src/storage/level/wal/log-reader.js';
import { eventually } from '../../helpers/cli-ops.js';
import { expectCode, levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { dirSnapshot, newestLog } from '../../helpers/raw-level.js';

const fixture = levelStoreFixture('ops-level-wal-');
afterEach(fixture.cleanup);

const KEY = randomBytes(32);
const CLIENTS = ['sub-a', 'sub-b'];
const BATCHES = 150;
const PER_BATCH = 10;
const MESSAGES = BATCHES * PER_BATCH * CLIENTS.length;

function entry(seq: number): QueueEntryRecord {
  return { seq, message: { topic: 'wal/t', payload: Buffer.alloc(120, seq % 251), qos: 1, retain: false }, qos: 1, retain: false };
}

function open(path: string, repair = false): Promise<LevelBrokerStore> {
  return fixture.open({ path, encryptionKey: KEY, ...(repair ? { repair } : {}) });
}

/** A store with MESSAGES queue entries written in BATCHES batches, and its acknowledged mark caught up. */
async function writtenStore(): Promise<{ store: LevelBrokerStore; path: string }> {
  const path = join(await fixture.freshDir(), 'store');
  const store = await open(path);
  for (const clientId of CLIENTS) await store.saveSession({ clientId, protocolVersion: 5, expiryIntervalSeconds: 300, subscriptions: [] });
  for (let b = 0; b < BATCHES; b++) {
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= PER_BATCH; i++) for (const clientId of CLIENTS) writes.push(store.putQueueEntries(clientId, [entry(b * PER_BATCH + i)]));
    await Promise.all(writes);
  }
  const caughtUp = await eventually(async () => {
    const acked = await readAckedMark(path);
    return acked.kind === 'valid' && acked.value.mark.total === MESSAGES;
  });
  expect(caughtUp).toBe(true);
  return { store, path };
}

/** What kill -9 leaves: the files of the open store at `path`, copied (the acknowledged mark first). */
async function crashCopy(path: string): Promise<string> {
  const copy = join(await fixture.freshDir(), 'store');
  await cp(path, copy, { recursive: true, filter: (source) => !source.endsWith(ACKED_MARK_FILE) });
  await copyFile(join(path, ACKED_MARK_FILE), join(copy, ACKED_MARK_FILE));
  return copy;
}

async function queued(store: LevelBrokerStore): Promise<number> {
  let n = 0;
  for (const clientId of CLIENTS) n += (await store.loadQueue(clientId)).length;
  return n;
}

/** Flips one bit `into` bytes after the start of the log's middle block (inside a record, not a block's padding). */
async function flipMiddle(log: string, into = 1000): Promise<void> {
  const bytes = await readFile(log);
  const at = Math.floor(bytes.length / 2 / LOG_BLOCK_BYTES) * LOG_BLOCK_BYTES + into;
  bytes[at] = (bytes[at] as number) ^ 0x10;
  await writeFile(log, bytes);
}

/** Cuts the log at the start of the record `fromEnd` records before its end: whole records dropped. */
async function dropLastRecords(log: string, fromEnd: number): Promise<void> {
  const { records } = readLog(await readFile(log));
  const first = records.at(-fromEnd);
  if (first === undefined) throw new Error('not that many records');
  await truncate(log, first.offset);
}

/** Zeroes `bytes` bytes from the start of the log's middle record (its header first). */
async function zeroMiddle(log: string, bytes: number): Promise<void> {
  const { records } = readLog(await readFile(log));
  const record = records[Math.floor(records.length / 2)];
  if (record === undefined) throw new Error('empty log');
  const file = await openFile(log, 'r+');
  await file.write(Buffer.alloc(bytes), 0, bytes, record.offset);
  await file.close();
}

/**
 * The damaged store at `path`: refused with STO_LOG_DAMAGED naming the log and touching no file;
 * opened with repair, the report's loss is exactly what is missing; then it opens normally.
 */
async function refusedThenRepaired(path: string, logName: string): Promise<{ lost: number; findings: string[] }> {
  const before = await dirSnapshot(path);
  const error = await expectCode(open(path), 'STO_LOG_DAMAGED');
  expect(error.message).toContain(path);
  expect(error.message).toContain(logName);
  expect(error.message).toMatch(/would be lost/);
  expect(await dirSnapshot(path)).toEqual(before);

  const repaired = await open(path, true);
  const report = repaired.walRecovery;
  expect(report?.repaired).toBe(true);
  const survived = await queued(repaired);
  expect(report?.lostMessages).toBe(MESSAGES - survived);
  expect(report?.lostBatches).toBeGreaterThan(0);
  await repaired.close();

  const again = await open(path);
  expect(again.walRecovery).toBeUndefined();
  expect(await queued(again)).toBe(survived);
  return { lost: MESSAGES - survived, findings: (report?.findings ?? []).map((f) => f.reason) };
}

describe('LevelBrokerStore: a damaged write-ahead log', () => {
  it('a bit flipped in the log: refused untouched, repaired with the exact loss', async () => {
    const { path } = await writtenStore();
    const copy = await crashCopy(path);
    const log = await newestLog(copy);
    await flipMiddle(log);
    const { lost, findings } = await refusedThenRepaired(copy, log.slice(copy.length + 1));
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(MESSAGES / 2); // one block's batches, later ones replay
    expect(findings.some((f) => f === 'checksum mismatch' || f === 'bad record length')).toBe(true);
  });

  it('a log cut in the middle of a record: refused untouched, repaired with the exact loss', async () => {
    const { path } = await writtenStore();
    const copy = await crashCopy(path);
    const log = await newestLog(copy);
    await truncate(log, Math.floor((await readFile(log)).length / 2) + 3);
    const { lost } = await refusedThenRepaired(copy, log.slice(copy.length + 1));
    expect(lost).toBeGreaterThan(MESSAGES / 3);
  });

  it('whole records cut from the end (a clean cut): found from the acknowledged mark, after a crash and after a clean close', async () => {
    const { store, path } = await writtenStore();
    const crashed = await crashCopy(path);
    await dropLastRecords(await newestLog(crashed), 20);
    expect((await refusedThenRepaired(crashed, 'was acknowledged')).lost).toBe(20 * PER_BATCH * CLIENTS.length);

    await store.close();
    const closed = await crashCopy(path);
    await dropLastRecords(await newestLog(closed), 1);
    expect((await refusedThenRepaired(closed, 'was acknowledged')).lost).toBe(PER_BATCH * CLIENTS.length);
  });

  it('a crash while the last batch was being written (its record cut, not acknowledged): opens normally, no false alarm', async () => {
    const { store, path } = await writtenStore();
    const copy = join(await fixture.freshDir(), 'store');
    await cp(path, copy, { recursive: true }); // the acknowledged mark before the last batch
    await Promise.all(CLIENTS.map((clientId) => store.putQueueEntries(clientId, [entry(BATCHES * PER_BATCH + 1)])));
    await cp(path, copy, { recursive: true, filter: (source) => !source.endsWith(ACKED_MARK_FILE) });
    const log = await newestLog(copy);
    const { records } = readLog(await readFile(log));
    const last = records.at(-1);
    if (last === undefined) throw new Error('empty log');
    await truncate(log, last.offset + 7 + Math.floor(last.data.length / 2)); // its data cut in half

    const reopened = await open(copy);
    expect(reopened.walRecovery).toBeUndefined();
    expect(await queued(reopened)).toBe(MESSAGES); // everything but the batch being written
  });

  it('zeroed bytes inside the log (LevelDB skips them without a report): refused untouched, repaired', async () => {
    const { path } = await writtenStore();
    const copy = await crashCopy(path);
    const log = await newestLog(copy);
    await zeroMiddle(log, 4096);
    const { lost, findings } = await refusedThenRepaired(copy, log.slice(copy.length + 1));
    expect(lost).toBeGreaterThan(0);
    expect(findings).toContain('zero bytes in place of records');
  });

  it('a crash copy without damage opens with nothing lost; the acknowledged-mark file damaged or removed is refused', async () => {
    const { path } = await writtenStore();
    const sound = await crashCopy(path);
    const store = await open(sound);
    expect(store.walRecovery).toBeUndefined();
    expect(await queued(store)).toBe(MESSAGES);
    await store.close();

    const damaged = await crashCopy(path);
    await writeFile(join(damaged, ACKED_MARK_FILE), Buffer.alloc(128, 7));
    expect((await expectCode(open(damaged), 'STO_LOG_DAMAGED')).message).toContain('an unknown number of write batches would be lost');
    const missing = await crashCopy(path);
    await rm(join(missing, ACKED_MARK_FILE));
    const error = await expectCode(open(missing), 'STO_LOG_DAMAGED');
    expect(error.message).toContain('acknowledged-mark file is missing');
  });
});
