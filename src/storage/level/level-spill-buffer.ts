import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Level } from 'level';
import type { QueueEntryRecord } from '../broker-store.js';
import { aesGcmCipher, KEY_BYTES, type ValueCipher } from '../value-cipher.js';
import { KeyLayout, queueEntryKey } from './keys.js';
import { openFailed } from '../store-errors.js';
import { reasonOf } from '../../shared/errors.js';
import { decodeQueueEntry, encodeQueueEntry } from '../record-codec.js';
import type { SpillBuffer } from '../spill-buffer.js';
import { PerKeySerializer } from './per-key-serializer.js';
import { SpillAccounting } from './spill-accounting.js';

type Db = Level<Buffer, Buffer>;

/**
 * {@link SpillBuffer} on LevelDB. The directory is wiped at open (the buffer gives no durability,
 * as AIO's), and entries are sealed with AES-256-GCM under a random key that lives only in this
 * process: what spills to disk is unreadable once the process is gone. Writes are not synced.
 */
export class LevelSpillBuffer implements SpillBuffer {
  readonly path: string;
  readonly #db: Db;
  readonly #cipher: ValueCipher;
  readonly #keys: KeyLayout;
  readonly #accounting: SpillAccounting;
  readonly #serial = new PerKeySerializer();

  private constructor(db: Db, path: string, maxBytes: number) {
    this.#db = db;
    this.path = path;
    this.#cipher = aesGcmCipher(randomBytes(KEY_BYTES), randomBytes(16));
    this.#keys = new KeyLayout(this.#cipher.id);
    this.#accounting = new SpillAccounting(maxBytes);
  }

  /** Empties `path` and opens a new buffer there; STO_OPEN_FAILED when it cannot. */
  static async open(options: { path: string; maxBytes: number }): Promise<LevelSpillBuffer> {
    const { path, maxBytes } = options;
    try {
      await rm(path, { recursive: true, force: true });
      const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      return new LevelSpillBuffer(db, path, maxBytes);
    } catch (error) {
      throw openFailed(path, reasonOf(error), error);
    }
  }

  get usedBytes(): number {
    return this.#accounting.usedBytes;
  }

  get maxBytes(): number {
    return this.#accounting.maxBytes;
  }

  append(clientId: string, entries: readonly QueueEntryRecord[]): Promise<void> | false {
    const prefix = this.#keys.queuePrefix(clientId);
    const ops = entries.map((entry) => {
      const key = queueEntryKey(prefix, entry.seq);
      return { type: 'put' as const, key, value: this.#cipher.seal(key, encodeQueueEntry(entry)) };
    });
    const size = ops.reduce((n, op) => n + op.key.length + op.value.length, 0);
    if (!this.#accounting.fits(size)) return false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as (typeof ops)[number];
      this.#accounting.add(clientId, (entries[i] as QueueEntryRecord).seq, op.key.length + op.value.length);
    }
    return this.#serial.run(clientId, () => this.#db.batch(ops));
  }

  read(clientId: string, afterSeq: number, limit: number): Promise<QueueEntryRecord[]> {
    const prefix = this.#keys.queuePrefix(clientId);
    const range = this.#keys.queueRange(clientId);
    return this.#serial.run(clientId, async () => {
      const rows = await this.#db.iterator({ gt: queueEntryKey(prefix, afterSeq), lt: range.lt, limit }).all();
      return rows.map(([key, value]) => decodeQueueEntry(this.#cipher.open(key, value)));
    });
  }

  discard(clientId: string, uptoSeq: number): Promise<void> {
    const range = this.#keys.queueRange(clientId);
    const end = queueEntryKey(this.#keys.queuePrefix(clientId), uptoSeq + 1);
    this.#accounting.remove(clientId, uptoSeq);
    return this.#serial.run(clientId, () => this.#db.clear({ gte: range.gte, lt: end }));
  }

  drop(clientId: string): Promise<void> {
    const range = this.#keys.queueRange(clientId);
    this.#accounting.remove(clientId);
    return this.#serial.run(clientId, () => this.#db.clear({ gte: range.gte, lt: range.lt }));
  }

  async close(): Promise<void> {
    await this.#db.close();
    await rm(this.path, { recursive: true, force: true });
  }
}
