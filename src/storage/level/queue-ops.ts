/**
 * What the level queue store (level-queue-store.ts) hands a group-commit batch beyond plain puts
 * and deletes: the identity of a queue entry's key (its queue and seq) and values turned into
 * bytes only when their batch is written (segment-batch.ts does both). The group commit
 * (group-commit.ts) carries them in its operations and coalesces by entry identity.
 */
import type { QueueEntryRecord } from '../broker-store.js';

/**
 * A value sealed (encrypted) only when its batch is written: a put that a later delete of the same
 * key in the same batch cancels (a message queued and acknowledged within one batch) never is.
 */
export interface DeferredValue {
  /** The plain record. */
  readonly plain: Buffer;
}

/**
 * A queue entry put, encoded only when its batch is written, straight into the batch's segment
 * (segment-batch.ts): no bytes of its own before that, and none at all if a delete cancels it.
 */
export interface DeferredEntry {
  readonly entry: QueueEntryRecord;
  /** Its encoded length (`queueEntryBytes` of ../message-codec.ts). */
  readonly bytes: number;
}

/**
 * Where a queue entry's key comes from: its queue's key prefix (the same Buffer object for every
 * operation on that queue) and its seq. Lets coalescing recognise operations on the same entry
 * without turning each key into a string. Optional: operations without it are compared by key
 * bytes; two operations on one key, one with and one without, are both kept, in order.
 * An operation with both is resolved to its key by the batch target (`BatchTarget` of
 * group-commit.ts): its `key` may be a stand-in (the queue prefix) and is not written.
 */
export interface EntrySlot {
  readonly queue?: Buffer;
  readonly seq?: number;
}
