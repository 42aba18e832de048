import { OpsError } from '../../shared/errors.js';
import type { StoreUsage } from '../broker-store.js';
import { SizeLedger, type AppliedChanges, type SizeChange } from './size-ledger.js';

/*
 * Why the limit is enforced on live bytes (key + stored value of every record) and not on the
 * directory size: the directory also holds the write-ahead log and obsolete versions until
 * LevelDB compacts them, so it grows and shrinks with compaction timing, not with what the broker
 * keeps; refusing messages on it would make admission depend on background work, and a delete
 * could never make room at once. It can also be smaller than the live bytes (snappy). Live bytes
 * are exact, cheap to maintain (a size per record in memory: `Map<seq, size>` per queue), move
 * immediately when data is removed, and come back identical after a restart (counted by one pass
 * at open). The directory size is still measured at open and after each compaction and reported
 * as `diskBytes`, so stats show both; on disk the store can exceed the limit by LevelDB's overhead
 * (log up to the 4 MB write buffer, garbage awaiting compaction).
 */

/**
 * What a write is, for the quota:
 * - `data`: retained messages and queue entries; refused once the store would exceed the limit.
 * - `entries`: a queue entry write; `data` if it creates an entry, bookkeeping if it only
 *   replaces existing ones (in-flight / released marks of messages already admitted).
 * - `session`: session metadata (bookkeeping).
 *
 * Bookkeeping may use a reserve above the limit ({@link BOOKKEEPING_RESERVE_RATIO}), so that
 * accepted messages keep their delivery state and clients keep their sessions when the store
 * is full of messages. Writes that do not grow the store are always accepted.
 */
export type WriteKind = 'data' | 'entries' | 'session';

/** Share of the limit that bookkeeping writes may use above it. */
export const BOOKKEEPING_RESERVE_RATIO = 0.05;

/**
 * Enforces `maxSizeBytes` on the live bytes counted by a {@link SizeLedger}. Decisions are made
 * when a write is submitted, against the size the store will have once every write submitted
 * before it is written (writes are applied in submission order).
 */
export class StoreQuota {
  readonly ledger = new SizeLedger();
  readonly #limit: number | undefined;
  readonly #reserve: number;
  #refused = 0;
  #full = false;
  #diskBytes: number | undefined;

  /** `limitBytes` undefined: no limit (sizes are still counted). */
  constructor(limitBytes: number | undefined) {
    if (limitBytes !== undefined && (!Number.isSafeInteger(limitBytes) || limitBytes <= 0)) {
      throw new RangeError(`maxSizeBytes must be a positive integer, got ${limitBytes}`);
    }
    this.#limit = limitBytes;
    this.#reserve = limitBytes === undefined ? 0 : Math.ceil(limitBytes * BOOKKEEPING_RESERVE_RATIO);
  }

  /** Records the last measured size of the store directory. */
  set diskBytes(bytes: number) {
    this.#diskBytes = bytes;
  }

  /**
   * Applies `changes` to the ledger if the quota allows them; otherwise leaves the ledger as it
   * was and returns the STO_QUOTA_EXCEEDED error the write must reject with.
   */
  admit(changes: readonly SizeChange[], kind: WriteKind): AppliedChanges | OpsError {
    const before = this.ledger.usedBytes;
    if (this.#limit === undefined || before + addedAtMost(changes) <= this.#limit) {
      // Fits even if nothing is freed (the common case, far from the limit): nothing to undo.
      const applied = this.ledger.apply(changes, false);
      if (applied.added < applied.freed) this.#full = false;
      return applied;
    }
    const applied = this.ledger.apply(changes);
    const net = applied.added - applied.freed;
    if (net < 0) this.#full = false;
    if (net <= 0 || this.#limit === undefined) return applied;
    const bookkeeping = kind === 'session' || (kind === 'entries' && applied.created === 0);
    const ceiling = bookkeeping ? this.#limit + this.#reserve : this.#limit;
    if (this.ledger.usedBytes <= ceiling) return applied;
    applied.undo();
    this.#refused++;
    this.#full = true;
    return new OpsError('STO_QUOTA_EXCEEDED', { used: before, limit: this.#limit });
  }

  /**
   * `admit([{ kind: 'putEntry', prefix, seq, size }], 'entries')` for one queue entry, without
   * change or result objects when it fits (the common case). Returns the bytes it replaced, or the
   * STO_QUOTA_EXCEEDED error the write must reject with (the ledger then stays as it was).
   */
  admitEntry(prefix: Buffer, seq: number, size: number): number | OpsError {
    if (this.#limit === undefined || this.ledger.usedBytes + size <= this.#limit) {
      const freed = this.ledger.putEntry(prefix, seq, size);
      if (size < freed) this.#full = false;
      return freed;
    }
    const applied = this.admit([{ kind: 'putEntry', prefix, seq, size }], 'entries');
    return applied instanceof OpsError ? applied : applied.freed;
  }

  /** A queue entry delete (never refused: it only frees); returns the bytes freed. */
  releaseEntry(prefix: Buffer, seq: number): number {
    const freed = this.ledger.delEntry(prefix, seq);
    if (freed > 0) this.#full = false;
    return freed;
  }

  /** Whether messages that need the store are refused now (see {@link StoreUsage.full}); no allocation. */
  get full(): boolean {
    const limit = this.#limit;
    return limit !== undefined && (this.#full || this.ledger.usedBytes >= limit);
  }

  /** Size, limit and whether the store is full (see {@link StoreUsage}). */
  usage(): StoreUsage {
    const usedBytes = this.ledger.usedBytes;
    const limit = this.#limit;
    return {
      usedBytes,
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      full: this.full,
      refusedWrites: this.#refused,
      records: this.ledger.records,
      ...(this.#diskBytes !== undefined ? { diskBytes: this.#diskBytes } : {}),
    };
  }
}

/** Bytes `changes` write, before what they free: an upper bound of their growth. */
function addedAtMost(changes: readonly SizeChange[]): number {
  let added = 0;
  for (const change of changes) if (change.kind === 'put' || change.kind === 'putEntry') added += change.size;
  return added;
}
