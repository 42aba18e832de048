import type { QueueEntryRecord } from './broker-store.js';

/**
 * The disk-backed message buffer (AIO `diskBackedMessageBuffer`): where queues that are not
 * persisted overflow when the memory profile's budget for queued messages is spent, instead of
 * dropping. It gives no durability: it is emptied at every start.
 *
 * Operations on one client id happen in the order they are called.
 */
export interface SpillBuffer {
  /**
   * Appends a client's entries (in seq order). Returns `false` at once, writing nothing, when they
   * do not fit (the buffer is full); otherwise a promise of the write.
   */
  append(clientId: string, entries: readonly QueueEntryRecord[]): Promise<void> | false;
  /** Up to `limit` of the client's entries with seq above `afterSeq`, in seq order. */
  read(clientId: string, afterSeq: number, limit: number): Promise<QueueEntryRecord[]>;
  /** Forgets the client's entries up to and including `uptoSeq`. */
  discard(clientId: string, uptoSeq: number): Promise<void>;
  /** Forgets all of the client's entries. */
  drop(clientId: string): Promise<void>;
  /** Bytes held (encoded entries). */
  readonly usedBytes: number;
  /** `diskBackedMessageBuffer.maxSize` in bytes. */
  readonly maxBytes: number;
  close(): Promise<void>;
}

/** Byte accounting of a spill buffer: per client, the size of each entry by seq, in order. */
export class SpillAccounting {
  readonly #sizes = new Map<string, { seq: number; size: number }[]>();
  #used = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Whether `bytes` more fit. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.maxBytes;
  }

  add(clientId: string, seq: number, size: number): void {
    let list = this.#sizes.get(clientId);
    if (list === undefined) {
      list = [];
      this.#sizes.set(clientId, list);
    }
    list.push({ seq, size });
    this.#used += size;
  }

  /** Removes entries up to `uptoSeq` (all when undefined). */
  remove(clientId: string, uptoSeq?: number): void {
    const list = this.#sizes.get(clientId);
    if (list === undefined) return;
    let n = 0;
    while (n < list.length && (uptoSeq === undefined || (list[n] as { seq: number }).seq <= uptoSeq)) {
      this.#used -= (list[n] as { size: number }).size;
      n++;
    }
    list.splice(0, n);
    if (list.length === 0) this.#sizes.delete(clientId);
  }
}

/** Runs each client's operations one after another (the level backend needs read-after-write order). */
export class PerKeySerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}
