/**
 * The queue part of {@link LevelBrokerStore}: restoring, putting and deleting queue entries, which
 * are log-structured (docs/storage.md, "Queue segments"): the entries a batch puts are sealed
 * together as one segment, each marked by an empty-valued key naming its segment.
 */
import type { Level } from 'level';
import type { QueueEntryRecord } from '../broker-store.js';
import type { ValueCipher } from '../value-cipher.js';
import type { BatchOp, GroupCommit } from './group-commit.js';
import { checkQueueSeq, parseQueueKey, queueIdOf, segmentKey, type KeyLayout, type KeyRange } from './keys.js';
import { queueEntryBytes } from '../message-codec.js';
import { decodeQueueEntry } from '../record-codec.js';
import type { SegmentBatcher } from './segment-batch.js';
import { decodeSegment } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';
import { SegmentReader } from './segment-reader.js';
import type { LoadedSegment } from './segment-rewriter.js';
import type { SizeChange } from './size-ledger.js';
import { closedWrite, corruptRecord, failed, readFailed, refusedWrite } from '../store-errors.js';
import { reasonOf } from '../../shared/errors.js';
import { openRecord } from './open-record.js';
import type { StoreQuota } from './store-quota.js';

type Db = Level<Buffer, Buffer>;

/** Queue entries restored per round of segment reads. */
const RESTORE_CHUNK = 512;

/** What the queue part shares with the store that owns it. */
export interface QueueStoreParts {
  readonly db: Db;
  readonly path: string;
  readonly cipher: ValueCipher;
  readonly keys: KeyLayout;
  readonly quota: StoreQuota;
  readonly index: SegmentIndex;
  readonly batcher: SegmentBatcher;
  readonly commit: GroupCommit;
  /** Every key and value in `range`, once submitted writes are written (STO_READ_FAILED). */
  readonly rows: (range: KeyRange) => Promise<[Buffer, Buffer][]>;
  /** Whether the store is closed. */
  readonly isClosed: () => boolean;
}

/** Several entries planned for one submission: the batch ops and their effect on the live size. */
export interface PlannedEntries {
  readonly ops: BatchOp[];
  readonly changes: SizeChange[];
}

/**
 * Queue entries of a {@link LevelBrokerStore}. Entry puts go into the batch unencoded
 * (`DeferredEntry`): the {@link SegmentBatcher} writes each straight into its segment, unless a
 * delete in the same batch cancels it. An entry's key is only known then: the queue prefix stands
 * in (no key built per write). One entry, the broker's case, takes a path without closures or
 * change objects.
 */
export class LevelQueueStore {
  /** Segments read at restore, kept while entries of theirs are still to be handed out. */
  readonly reader: SegmentReader;
  readonly #parts: QueueStoreParts;
  #loading = 0;

  constructor(parts: QueueStoreParts) {
    this.#parts = parts;
    this.reader = new SegmentReader((ids) => this.#loadSegments(ids));
  }

  /**
   * The queue in seq order. Entries in segments: each segment is read and opened once per
   * restore (kept for the sessions loaded after this one, see {@link SegmentReader}); an entry
   * whose segment is missing, unauthentic or does not hold it is STO_CORRUPT_RECORD. Entries of
   * format 1 stores (one sealed record each) are read as they are.
   */
  async load(clientId: string): Promise<QueueEntryRecord[]> {
    this.#loading++; // no entry moves to another segment meanwhile (see SegmentRewriter)
    try {
      return await this.#load(clientId);
    } finally {
      this.#loading--;
    }
  }

  /** Whether a restore is reading queues now. */
  get loading(): boolean {
    return this.#loading > 0;
  }

  /**
   * Segment `id` read for compaction (see SegmentRewriter): undefined when it is gone. Rejects
   * (STO_READ_FAILED, STO_CORRUPT_RECORD) when it cannot be read or is not authentic.
   */
  async loadForRewrite(id: number): Promise<LoadedSegment | undefined> {
    const { db, path } = this.#parts;
    const key = segmentKey(id);
    let value: Buffer | undefined;
    try {
      value = await db.get(key);
    } catch (error) {
      throw readFailed(path, reasonOf(error), error);
    }
    return value === undefined ? undefined : this.#openSegment(id, key, value);
  }

  async #load(clientId: string): Promise<QueueEntryRecord[]> {
    const { keys, index, cipher, path } = this.#parts;
    const rows = await this.#parts.rows(keys.queueRange(clientId));
    const queue = queueIdOf(keys.queuePrefix(clientId));
    const out: QueueEntryRecord[] = [];
    for (let from = 0; from < rows.length; from += RESTORE_CHUNK) {
      const chunk = rows.slice(from, from + RESTORE_CHUNK);
      const parsedKeys = chunk.map(([key]) => parseQueueKey(key));
      const ids: number[] = [];
      for (const parsed of parsedKeys) if (parsed !== undefined && parsed.segment !== 0) ids.push(parsed.segment);
      const segments = ids.length === 0 ? undefined : await this.reader.fetch(ids, (id) => index.liveCount(id));
      for (let i = 0; i < chunk.length; i++) {
        const [key, value] = chunk[i] as [Buffer, Buffer];
        const parsed = parsedKeys[i];
        if (parsed === undefined) throw corruptRecord(path, 'queue entry', 'malformed entry key');
        if (parsed.segment === 0) {
          out.push(openRecord(cipher, path, key, value, 'queue entry', decodeQueueEntry));
          continue;
        }
        if (value.length !== 0) throw corruptRecord(path, 'queue entry', 'an entry key of a segment holds a value');
        const record = segments?.get(parsed.segment)?.get(queue)?.get(parsed.seq);
        if (record === undefined) throw corruptRecord(path, 'queue entry', `segment ${parsed.segment} does not hold this entry`);
        this.reader.handedOut(parsed.segment);
        try {
          out.push(decodeQueueEntry(record));
        } catch (error) {
          throw corruptRecord(path, 'queue entry', reasonOf(error), error);
        }
      }
    }
    return out;
  }

  /** Puts one entry (the broker's case): asks the quota, then submits it, `fresh` when no such entry exists yet. */
  putOne(clientId: string, entry: QueueEntryRecord): Promise<void> {
    const { keys, quota, batcher, commit, path } = this.#parts;
    if (this.#parts.isClosed()) return closedWrite(path);
    let prefix: Buffer;
    let bytes: number;
    try {
      prefix = keys.queuePrefix(clientId);
      checkQueueSeq(entry.seq);
      bytes = queueEntryBytes(entry);
    } catch (error) {
      return refusedWrite(path, error);
    }
    const seq = entry.seq;
    const fresh = !quota.ledger.hasEntry(prefix, seq);
    const freed = quota.admitEntry(prefix, seq, batcher.entryCharge(prefix, bytes));
    if (typeof freed !== 'number') return failed(freed);
    // A fresh entry has no other write in a batch not yet taken: seqs only grow within a queue, and
    // a queue reusing seqs was deleted by deleteSession, whose batch is always coalesced (see #distinct).
    return commit.submitOne({ type: 'put', key: prefix, value: { entry, bytes }, fresh, queue: prefix, seq }, freed, fresh);
  }

  /** Plans several entries for one submission through the quota (throws on an invalid seq or client id). */
  plan(clientId: string, entries: readonly QueueEntryRecord[]): PlannedEntries {
    const { keys, quota, batcher } = this.#parts;
    const prefix = keys.queuePrefix(clientId);
    const planned: PlannedEntries = { ops: [], changes: [] };
    for (const entry of entries) {
      checkQueueSeq(entry.seq);
      const bytes = queueEntryBytes(entry);
      planned.ops.push({ type: 'put', key: prefix, value: { entry, bytes }, fresh: !quota.ledger.hasEntry(prefix, entry.seq), queue: prefix, seq: entry.seq });
      planned.changes.push({ kind: 'putEntry', prefix, seq: entry.seq, size: batcher.entryCharge(prefix, bytes) });
    }
    return planned;
  }

  /** Deletes entries; deletes never need the quota's permission: they only free. */
  delete(clientId: string, seqs: readonly number[]): Promise<void> {
    const { keys, quota, commit, path } = this.#parts;
    if (this.#parts.isClosed()) return closedWrite(path);
    let prefix: Buffer;
    try {
      prefix = keys.queuePrefix(clientId);
      for (const seq of seqs) checkQueueSeq(seq);
    } catch (error) {
      return refusedWrite(path, error);
    }
    if (seqs.length === 1) {
      const seq = seqs[0] as number;
      return commit.submitOne({ type: 'del', key: prefix, queue: prefix, seq }, quota.releaseEntry(prefix, seq), this.#distinct(prefix, seq));
    }
    const ops: BatchOp[] = [];
    let freed = 0;
    for (const seq of seqs) {
      ops.push({ type: 'del', key: prefix, queue: prefix, seq });
      freed += quota.releaseEntry(prefix, seq);
    }
    return commit.submit(ops, freed);
  }

  /**
   * Whether a delete of entry `seq` surely touches no entry written by a batch not yet taken: its
   * put was taken already (the index places it). Re-puts are never called distinct (`fresh` false),
   * so an entry whose put and re-put are both pending makes its batch coalesced anyway.
   */
  #distinct(prefix: Buffer, seq: number): boolean {
    return this.#parts.index.placeOf(queueIdOf(prefix), seq) !== undefined;
  }

  /** Reads, opens and decodes segments (for {@link SegmentReader}). */
  async #loadSegments(ids: readonly number[]): Promise<LoadedSegment[]> {
    const { db, path } = this.#parts;
    const keys = ids.map((id) => segmentKey(id));
    let values: (Buffer | undefined)[];
    try {
      values = await db.getMany(keys);
    } catch (error) {
      throw readFailed(path, reasonOf(error), error);
    }
    return keys.map((key, i) => {
      const value = values[i];
      const id = ids[i] as number;
      if (value === undefined) throw corruptRecord(path, 'queue entry', `segment ${String(id)} is missing`);
      return this.#openSegment(id, key, value);
    });
  }

  /** Opens and decodes segment `id` (STO_CORRUPT_RECORD if it is not authentic), and tells the index how many entries it holds in all. */
  #openSegment(id: number, key: Buffer, value: Buffer): LoadedSegment {
    const contents = openRecord(this.#parts.cipher, this.#parts.path, key, value, 'queue entry', decodeSegment);
    let count = 0;
    for (const seqs of contents.values()) count += seqs.size;
    this.#parts.index.noteTotal(id, count); // how sparse it is, for segment compaction
    return { id, contents, bytes: value.length };
  }
}
