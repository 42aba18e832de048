import { Level } from 'level';
import { batchWriter } from './batch-writer.js';
import { OpsError, reasonOf } from '../../shared/errors.js';
import type { BrokerStore, MessageRecord, QueueEntryRecord, SessionRecord, StateStoreKeyRecord, StoreUsage } from '../broker-store.js';
import { Compactor, DEFAULT_COMPACTION_POLICY, directoryBytes, type CompactionPolicy, type CompactionStats } from './compactor.js';
import type { ValueCipher } from '../value-cipher.js';
import { GroupCommit, type BatchOp, type GroupCommitStats } from './group-commit.js';
import { KeyLayout, type KeyRange } from './keys.js';
import { LevelQueueStore } from './level-queue-store.js';
import { ALL_KEYS, countLiveBytes, deleteOrphanSegments, rangeCompaction } from './level-size.js';
import { decodeRetained, decodeSession, decodeStateStoreKey } from '../record-codec.js';
import { encodeRetained, encodeSession, encodeStateStoreKey } from '../record-codec.js';
import { SegmentBatcher } from './segment-batch.js';
import { SegmentIndex } from './segment-index.js';
import { DEFAULT_SEGMENT_REWRITE_POLICY, SegmentRewriter, type SegmentRewritePolicy, type SegmentRewriteStats } from './segment-rewriter.js';
import { closedWrite, failed, openFailed, readFailed, refusedWrite, writeFailed } from '../store-errors.js';
import { openRecord } from './open-record.js';
import { prepareStoreFormat } from './store-format.js';
import type { SizeChange } from './size-ledger.js';
import { StoreQuota, type WriteKind } from './store-quota.js';
import { decodeCommitMark, META_COMMIT_KEY, NO_COMMIT } from './wal/commit-mark.js';
import type { WalCheck } from './wal/wal-check.js';
import { inspectWal, logDamaged, openWal, type OpenWal } from './wal/wal-guard.js';
import type { StoreRepairReport } from '../../shared/store-repair.js';

/** Options of {@link LevelBrokerStore.open}. */
export interface LevelBrokerStoreOptions {
  /** Directory of the LevelDB database (created if missing). */
  readonly path: string;
  /** 32-byte AES-256-GCM key; absent: encryption Disabled. Must match what the store was created with. */
  readonly encryptionKey?: Buffer;
  /**
   * `persistence.maxSize`: limit on the live bytes (encoded keys + stored values). A write that
   * would exceed it rejects with STO_QUOTA_EXCEEDED and is not written. Absent: no limit.
   */
  readonly maxSizeBytes?: number;
  /** When background compaction runs; default {@link DEFAULT_COMPACTION_POLICY}. */
  readonly compaction?: Partial<CompactionPolicy>;
  /** When sparse queue segments are rewritten; default {@link DEFAULT_SEGMENT_REWRITE_POLICY}. */
  readonly segmentRewrite?: Partial<SegmentRewritePolicy>;
  /**
   * Open a store whose write-ahead log is damaged with what survived (LevelDB skips the damaged
   * records) and report the loss in {@link LevelBrokerStore.walRecovery}, instead of refusing
   * with STO_LOG_DAMAGED.
   */
  readonly repair?: boolean;
}

type Db = Level<Buffer, Buffer>;

/** A write as planned: the batch ops and their effect on the live size. */
interface PlannedWrite {
  readonly ops: BatchOp[];
  readonly changes: SizeChange[];
}

/**
 * Durable {@link BrokerStore} on LevelDB (`level`). Values are framed and optionally encrypted
 * (see ../value-cipher.ts), records use ../record-codec.ts, keys follow keys.ts. Writes are merged by
 * {@link GroupCommit} into synced batches; each write's completion resolves once its batch is
 * on disk. Reads first wait for writes already submitted (read-your-writes).
 *
 * Queue entries are log-structured ({@link LevelQueueStore}, {@link SegmentBatcher}): the entries a
 * batch puts are sealed together as one segment, each marked by an empty-valued key naming its
 * segment; a segment is deleted with its last entry. Entries of format 1 stores (one sealed record
 * each) are still read, replaced and deleted.
 *
 * Corrupt or unauthentic values are reported as STO_CORRUPT_RECORD, never returned as data.
 *
 * Size: the live bytes are counted at open and kept up to date write by write ({@link StoreQuota});
 * with `maxSizeBytes`, growing writes over the limit reject with STO_QUOTA_EXCEEDED, writes that
 * free space always succeed. Freed bytes trigger a background `compactRange` ({@link Compactor}).
 */
export class LevelBrokerStore implements BrokerStore {
  readonly durable = true;
  readonly path: string;
  readonly #db: Db;
  readonly #cipher: ValueCipher;
  readonly #keys: KeyLayout;
  readonly #commit: GroupCommit;
  readonly #quota: StoreQuota;
  readonly #compactor: Compactor;
  readonly #queues: LevelQueueStore;
  readonly #rewriter: SegmentRewriter;
  readonly #wal: OpenWal;
  #closed = false;

  private constructor(db: Db, path: string, cipher: ValueCipher, quota: StoreQuota, index: SegmentIndex, policy: CompactionPolicy, rewrite: SegmentRewritePolicy, wal: OpenWal) {
    this.#db = db;
    this.#wal = wal;
    this.path = path;
    this.#cipher = cipher;
    this.#quota = quota;
    const keys = new KeyLayout(cipher.id);
    this.#keys = keys;
    // Called only once a batch is taken, after construction: #queues is set by then.
    const batcher = new SegmentBatcher(index, cipher, quota.ledger, (id) => this.#queues.reader.forget(id));
    const compaction = rangeCompaction(db);
    const compact = compaction === undefined ? undefined : async (): Promise<void> => {
      await compaction.compactRange(ALL_KEYS.gte, ALL_KEYS.lt);
      quota.diskBytes = await directoryBytes(path);
    };
    const compactor = new Compactor(compact, () => quota.ledger.usedBytes, policy);
    this.#compactor = compactor;
    this.#commit = new GroupCommit(
      {
        begin: batchWriter(db),
        finish: (ops, sink) => batcher.finish(ops, sink),
        seal: (sink) => {
          sink.put(META_COMMIT_KEY, wal.counter.seal(batcher.entriesPut));
        },
        durable: () => wal.acked.advance(wal.counter.written()),
      },
      (error) => writeFailed(path, reasonOf(error), error),
      (freed) => compactor.freed(freed),
    );
    this.#queues = new LevelQueueStore({
      db, path, cipher, keys, quota, index, batcher,
      commit: this.#commit,
      rows: (range) => this.#rows(range),
      isClosed: () => this.#closed,
    });
    const queues = this.#queues;
    const commit = this.#commit;
    this.#rewriter = new SegmentRewriter(
      { index, load: (id) => queues.loadForRewrite(id), commit: () => commit.submit([]), busy: () => queues.loading },
      rewrite,
    );
    batcher.rewriter = this.#rewriter;
    this.#rewriter.start();
  }

  /**
   * Opens (or creates) the store at `options.path`. Rejects with STO_OPEN_FAILED (LevelDB could
   * not open it: locked, unreadable, damaged), STO_WRONG_KEY (key missing, unexpected or wrong)
   * or STO_CORRUPT_RECORD (format records damaged), and, before LevelDB replays (and deletes) its
   * write-ahead log, with STO_LOG_DAMAGED when that log is damaged or lost acknowledged batches
   * (wal/wal-check.ts; the store's files are not touched) unless `repair` is set. Reads every record once to count the
   * store's live bytes (STO_READ_FAILED if that fails). A `maxSizeBytes` that is not a positive
   * integer throws a RangeError.
   */
  static async open(options: LevelBrokerStoreOptions): Promise<LevelBrokerStore> {
    const { path, encryptionKey } = options;
    const quota = new StoreQuota(options.maxSizeBytes);
    const policy: CompactionPolicy = { ...DEFAULT_COMPACTION_POLICY, ...options.compaction };
    let walCheck: WalCheck;
    try {
      walCheck = await inspectWal(path);
    } catch (error) {
      throw openFailed(path, `reading the write-ahead log: ${reasonOf(error)}`, error);
    }
    if (walCheck.findings.length > 0 && options.repair !== true) throw logDamaged(path, walCheck);
    const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw openFailed(path, `${reasonOf(error)}${cause}`, error);
    }
    try {
      const cipher = await prepareStoreFormat(
        {
          get: async (key) => (await db.get(key)) as Buffer | undefined,
          hasData: async () => {
            for (const range of KeyLayout.allData) if ((await db.keys({ gte: range.gte, lt: range.lt, limit: 1 }).all()).length > 0) return true;
            return false;
          },
          write: (ops) => db.batch(ops, { sync: true }),
        },
        path,
        encryptionKey,
      );
      const index = new SegmentIndex();
      await countLiveBytes(db, quota, index, path);
      await deleteOrphanSegments(db, quota, index, path);
      quota.diskBytes = await directoryBytes(path);
      const stored = await db.get(META_COMMIT_KEY);
      const wal = await openWal(path, walCheck, (stored === undefined ? undefined : decodeCommitMark(stored)) ?? NO_COMMIT, options.repair === true);
      return new LevelBrokerStore(db, path, cipher, quota, index, policy, { ...DEFAULT_SEGMENT_REWRITE_POLICY, ...options.segmentRewrite }, wal);
    } catch (error) {
      await db.close().catch(() => undefined);
      if (error instanceof OpsError) throw error;
      throw openFailed(path, reasonOf(error), error);
    }
  }

  /** Opened with `repair`: what the write-ahead log check found damaged and what was lost. */
  get walRecovery(): StoreRepairReport | undefined {
    return this.#wal.recovery;
  }

  /** `AES-256-GCM` or `Disabled`, as the store was created. */
  get encryption(): 'AES-256-GCM' | 'Disabled' {
    return this.#cipher.mode;
  }

  /** How writes were grouped into batches so far. */
  get commitStats(): GroupCommitStats {
    return this.#commit.stats;
  }

  /** Live bytes against `maxSizeBytes`, and whether the store is full. */
  usage(): StoreUsage {
    return this.#quota.usage();
  }

  isFull(): boolean {
    return this.#quota.full;
  }

  /** What background compaction did so far. */
  get compactionStats(): CompactionStats {
    return this.#compactor.stats;
  }

  /** What segment compaction (rewriting sparse queue segments) did so far. */
  get segmentRewriteStats(): SegmentRewriteStats {
    return this.#rewriter.stats;
  }

  /**
   * Rewrites every sparse queue segment now (segment compaction otherwise runs on its own timer,
   * for segments sparse at two looks in a row); resolves once the moves are durable.
   */
  rewriteSparseSegments(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#rewriter.rewriteNow();
  }

  /** Resolves once no compaction is running (for tests and orderly shutdown). */
  compactionIdle(): Promise<void> {
    return this.#compactor.idle();
  }

  async loadSessions(): Promise<SessionRecord[]> {
    return this.#readRange(KeyLayout.sessions, 'session', decodeSession);
  }

  saveSession(record: SessionRecord): Promise<void> {
    return this.#submit('session', () => {
      const key = this.#keys.session(record.clientId);
      return this.#put(key, encodeSession(record));
    });
  }

  deleteSession(clientId: string): Promise<void> {
    return this.#submit('data', () => {
      const key = this.#keys.session(clientId);
      const prefix = this.#keys.queuePrefix(clientId);
      // Every entry of the queue as far as submitted writes go: stored ones and ones still in a batch.
      // Their keys are resolved by the batch (SegmentBatcher): the queue prefix stands in.
      const ops: BatchOp[] = [{ type: 'del', key }];
      for (const seq of this.#quota.ledger.entrySeqs(prefix)) ops.push({ type: 'del', key: prefix, queue: prefix, seq });
      return {
        ops,
        changes: [
          { kind: 'del', key },
          { kind: 'clearQueue', prefix },
        ],
      };
    });
  }

  /** The queue in seq order (see {@link LevelQueueStore.load}). */
  loadQueue(clientId: string): Promise<QueueEntryRecord[]> {
    return this.#queues.load(clientId);
  }

  /** Puts queue entries; one entry, the broker's case, takes {@link LevelQueueStore.putOne}'s path. */
  putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): Promise<void> {
    if (entries.length === 1) return this.#queues.putOne(clientId, entries[0] as QueueEntryRecord);
    return this.#submit('entries', () => this.#queues.plan(clientId, entries));
  }

  /** Deletes queue entries (they only free: no quota check). */
  deleteQueueEntries(clientId: string, seqs: readonly number[]): Promise<void> {
    return this.#queues.delete(clientId, seqs);
  }

  async loadRetained(): Promise<MessageRecord[]> {
    return this.#readRange(KeyLayout.retained, 'retained message', decodeRetained);
  }

  putRetained(message: MessageRecord): Promise<void> {
    return this.#submit('data', () => this.#put(this.#keys.retained(message.topic), encodeRetained(message)));
  }

  deleteRetained(topic: string): Promise<void> {
    return this.#submit('data', () => {
      const key = this.#keys.retained(topic);
      return { ops: [{ type: 'del', key }], changes: [{ kind: 'del', key }] };
    });
  }

  async loadStateStoreKeys(): Promise<StateStoreKeyRecord[]> {
    return this.#readRange(KeyLayout.stateStore, 'state store key', decodeStateStoreKey);
  }

  putStateStoreKey(record: StateStoreKeyRecord): Promise<void> {
    return this.#submit('data', () => this.#put(this.#stateStoreKey(record.key), encodeStateStoreKey(record)));
  }

  deleteStateStoreKey(key: Buffer): Promise<void> {
    return this.#submit('data', () => {
      const levelKey = this.#stateStoreKey(key);
      return { ops: [{ type: 'del', key: levelKey }], changes: [{ kind: 'del', key: levelKey }] };
    });
  }

  /** Waits for submitted writes and a running compaction, then closes the database. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#rewriter.stop();
    await this.#commit.barrier();
    await this.#compactor.stop();
    this.#queues.reader.clear();
    await this.#db.close();
    await this.#wal.acked.close(this.#wal.counter.durable);
  }

  /** Level key of a state-store key: hashed like client ids when the store is encrypted. */
  #stateStoreKey(key: Buffer): Buffer {
    return this.#keys.stateStoreKey(key, this.#cipher.mode !== 'Disabled');
  }

  #put(key: Buffer, record: Buffer): PlannedWrite {
    const value = this.#cipher.seal(key, record);
    return { ops: [{ type: 'put', key, value }], changes: [{ kind: 'put', key, size: key.length + value.length }] };
  }

  /**
   * Plans the write, asks the quota (refused: rejects at once, nothing submitted), then submits
   * it to the group commit. Bytes it frees count towards the next compaction once its batch is
   * durable. Writes of one batch share one promise: no promise or closure per write.
   * A batch that fails leaves the count as if it had been written, until the store is reopened.
   */
  #submit(kind: WriteKind, build: () => PlannedWrite): Promise<void> {
    if (this.#closed) return closedWrite(this.path);
    let planned: PlannedWrite;
    try {
      planned = build();
    } catch (error) {
      return refusedWrite(this.path, error);
    }
    const admitted = this.#quota.admit(planned.changes, kind);
    if (admitted instanceof OpsError) return failed(admitted);
    return this.#commit.submit(planned.ops, admitted.freed);
  }

  async #readRange<T>(range: KeyRange, record: string, decode: (bytes: Buffer) => T): Promise<T[]> {
    return (await this.#rows(range)).map(([key, value]) => openRecord(this.#cipher, this.path, key, value, record, decode));
  }

  /** Every key and value in `range`, once submitted writes are written. */
  async #rows(range: KeyRange): Promise<[Buffer, Buffer][]> {
    if (this.#closed) throw readFailed(this.path, 'the store is closed');
    await this.#commit.barrier();
    try {
      return await this.#db.iterator({ gte: range.gte, lt: range.lt }).all();
    } catch (error) {
      throw readFailed(this.path, reasonOf(error), error);
    }
  }
}
