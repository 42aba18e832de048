import { Level } from 'level';
import { OpsError } from '../shared/errors.js';
import type { BrokerStore, MessageRecord, QueueEntryRecord, SessionRecord } from './broker-store.js';
import type { ValueCipher } from './encryption.js';
import { GroupCommit, type BatchOp, type GroupCommitStats, type WriteOp } from './group-commit.js';
import { KeyLayout, queueEntryKey, type KeyRange } from './keys.js';
import {
  decodeQueueEntry,
  decodeRetained,
  decodeSession,
  encodeQueueEntry,
  encodeRetained,
  encodeSession,
} from './record-codec.js';
import { prepareStoreFormat } from './store-format.js';

/** Options of {@link LevelBrokerStore.open}. */
export interface LevelBrokerStoreOptions {
  /** Directory of the LevelDB database (created if missing). */
  readonly path: string;
  /** 32-byte AES-256-GCM key; absent: encryption Disabled. Must match what the store was created with. */
  readonly encryptionKey?: Buffer;
}

type Db = Level<Buffer, Buffer>;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failed(error: OpsError): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined); // reported to whoever awaits; never an unhandled rejection
  return promise;
}

/**
 * Durable {@link BrokerStore} on LevelDB (`level`). Values are framed and optionally encrypted
 * (see encryption.ts), records use record-codec.ts, keys follow keys.ts. Writes are merged by
 * {@link GroupCommit} into synced batches; each write's completion resolves once its batch is
 * on disk. Reads first wait for writes already submitted (read-your-writes).
 *
 * Corrupt or unauthentic values are reported as STO_CORRUPT_RECORD, never returned as data.
 */
export class LevelBrokerStore implements BrokerStore {
  readonly durable = true;
  readonly path: string;
  readonly #db: Db;
  readonly #cipher: ValueCipher;
  readonly #keys: KeyLayout;
  readonly #commit: GroupCommit;
  #closed = false;

  private constructor(db: Db, path: string, cipher: ValueCipher) {
    this.#db = db;
    this.path = path;
    this.#cipher = cipher;
    this.#keys = new KeyLayout(cipher.id);
    this.#commit = new GroupCommit(
      {
        write: (ops) => db.batch(ops, { sync: true }),
        keysIn: (range) => db.keys({ gte: range.gte, lt: range.lt }).all(),
      },
      (error) => new OpsError('STO_WRITE_FAILED', { path, reason: reasonOf(error) }, { cause: error }),
    );
  }

  /**
   * Opens (or creates) the store at `options.path`. Rejects with STO_OPEN_FAILED (LevelDB could
   * not open it: locked, unreadable, damaged), STO_WRONG_KEY (key missing, unexpected or wrong)
   * or STO_CORRUPT_RECORD (format records damaged).
   */
  static async open(options: LevelBrokerStoreOptions): Promise<LevelBrokerStore> {
    const { path, encryptionKey } = options;
    const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new OpsError('STO_OPEN_FAILED', { path, reason: `${reasonOf(error)}${cause}` }, { cause: error });
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
      return new LevelBrokerStore(db, path, cipher);
    } catch (error) {
      await db.close().catch(() => undefined);
      if (error instanceof OpsError) throw error;
      throw new OpsError('STO_OPEN_FAILED', { path, reason: reasonOf(error) }, { cause: error });
    }
  }

  /** `AES-256-GCM` or `Disabled`, as the store was created. */
  get encryption(): 'AES-256-GCM' | 'Disabled' {
    return this.#cipher.mode;
  }

  /** How writes were grouped into batches so far. */
  get commitStats(): GroupCommitStats {
    return this.#commit.stats;
  }

  async loadSessions(): Promise<SessionRecord[]> {
    return this.#readRange(KeyLayout.sessions, 'session', decodeSession);
  }

  saveSession(record: SessionRecord): Promise<void> {
    return this.#submit(() => {
      const key = this.#keys.session(record.clientId);
      return [{ type: 'put', key, value: this.#cipher.seal(key, encodeSession(record)) }];
    });
  }

  deleteSession(clientId: string): Promise<void> {
    return this.#submit(() => [
      { type: 'del', key: this.#keys.session(clientId) },
      { type: 'clear', range: this.#keys.queueRange(clientId) },
    ]);
  }

  async loadQueue(clientId: string): Promise<QueueEntryRecord[]> {
    return this.#readRange(this.#keys.queueRange(clientId), 'queue entry', decodeQueueEntry);
  }

  putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): Promise<void> {
    return this.#submit(() => {
      const prefix = this.#keys.queuePrefix(clientId);
      return entries.map((entry): WriteOp => {
        const key = queueEntryKey(prefix, entry.seq);
        return { type: 'put', key, value: this.#cipher.seal(key, encodeQueueEntry(entry)) };
      });
    });
  }

  deleteQueueEntries(clientId: string, seqs: readonly number[]): Promise<void> {
    return this.#submit(() => {
      const prefix = this.#keys.queuePrefix(clientId);
      return seqs.map((seq): WriteOp => ({ type: 'del', key: queueEntryKey(prefix, seq) }));
    });
  }

  async loadRetained(): Promise<MessageRecord[]> {
    return this.#readRange(KeyLayout.retained, 'retained message', decodeRetained);
  }

  putRetained(message: MessageRecord): Promise<void> {
    return this.#submit(() => {
      const key = this.#keys.retained(message.topic);
      return [{ type: 'put', key, value: this.#cipher.seal(key, encodeRetained(message)) }];
    });
  }

  deleteRetained(topic: string): Promise<void> {
    return this.#submit(() => [{ type: 'del', key: this.#keys.retained(topic) }]);
  }

  /** Waits for submitted writes, then closes the database. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#commit.barrier();
    await this.#db.close();
  }

  #submit(build: () => BatchOp[]): Promise<void> {
    if (this.#closed) return failed(new OpsError('STO_WRITE_FAILED', { path: this.path, reason: 'the store is closed' }));
    let ops: BatchOp[];
    try {
      ops = build();
    } catch (error) {
      return failed(new OpsError('STO_WRITE_FAILED', { path: this.path, reason: reasonOf(error) }, { cause: error }));
    }
    return this.#commit.submit(ops);
  }

  async #readRange<T>(range: KeyRange, record: string, decode: (bytes: Buffer) => T): Promise<T[]> {
    if (this.#closed) throw new OpsError('STO_READ_FAILED', { path: this.path, reason: 'the store is closed' });
    await this.#commit.barrier();
    let entries: [Buffer, Buffer][];
    try {
      entries = await this.#db.iterator({ gte: range.gte, lt: range.lt }).all();
    } catch (error) {
      throw new OpsError('STO_READ_FAILED', { path: this.path, reason: reasonOf(error) }, { cause: error });
    }
    return entries.map(([key, value]) => {
      try {
        return decode(this.#cipher.open(key, value));
      } catch (error) {
        // SealedValueError (not authentic), RecordFormatError (malformed), anything else: never data.
        throw new OpsError('STO_CORRUPT_RECORD', { path: this.path, record, reason: reasonOf(error) }, { cause: error });
      }
    });
  }
}
