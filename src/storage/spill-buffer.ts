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
