/**
 * The commit mark: a small plain record `meta/commit` that every group-commit batch writes last,
 * numbering the batch, so that what a write-ahead log replays can be compared with what was
 * acknowledged (wal-check.ts). Value: `[version u8 = 1][batch u64 BE][entries u32 BE][total u64 BE]`:
 * the batch's number (consecutive from 1 over the store's life), the queue entries it put, and
 * the queue entries put by it and every batch before. Visible on disk: counts only.
 */

/** Level key of the commit mark. */
export const META_COMMIT_KEY = Buffer.from('meta/commit');

const VERSION = 1;
/** Encoded length of a commit mark value. */
export const COMMIT_MARK_BYTES = 21;

/** What a batch's commit mark says. */
export interface CommitMark {
  /** The batch's number; 0: no batch yet. */
  readonly batch: number;
  /** Queue entries the batch put. */
  readonly entries: number;
  /** Queue entries put by this batch and all before it. */
  readonly total: number;
}

/** The mark of a store in which no batch was written yet (or written before commit marks). */
export const NO_COMMIT: CommitMark = { batch: 0, entries: 0, total: 0 };

/** Encodes `mark` into a new buffer. */
export function encodeCommitMark(mark: CommitMark): Buffer {
  const out = Buffer.allocUnsafe(COMMIT_MARK_BYTES);
  out[0] = VERSION;
  out.writeBigUInt64BE(BigInt(mark.batch), 1);
  out.writeUInt32BE(mark.entries, 9);
  out.writeBigUInt64BE(BigInt(mark.total), 13);
  return out;
}

/** Decodes a commit mark value; undefined when it is not one. */
export function decodeCommitMark(value: Buffer): CommitMark | undefined {
  if (value.length !== COMMIT_MARK_BYTES || value[0] !== VERSION) return undefined;
  return { batch: Number(value.readBigUInt64BE(1)), entries: value.readUInt32BE(9), total: Number(value.readBigUInt64BE(13)) };
}

/**
 * Numbers the batches of a running store. `seal` makes the mark of the batch about to be written
 * (the next number after the last durable one); `durable` records that it was written. A batch
 * that fails is not durable: the next batch takes its number again (after a failed write LevelDB
 * refuses further writes until reopened, so a number is never used twice on disk with different
 * contents that both replay).
 */
export class CommitCounter {
  readonly #base: number;
  #durable: CommitMark;
  #sealed: CommitMark | undefined;

  /** Numbering goes on after `start`, the store's last durable batch at open. */
  constructor(start: CommitMark) {
    this.#durable = start;
    this.#base = start.total;
  }

  /** The last batch known durable. */
  get durable(): CommitMark {
    return this.#durable;
  }

  /**
   * The value of the commit mark of the batch being written; `putSinceOpen`: queue entries put by
   * the batches taken since the store was opened, this one included.
   */
  seal(putSinceOpen: number): Buffer {
    const last = this.#durable;
    const total = this.#base + putSinceOpen;
    const mark: CommitMark = { batch: last.batch + 1, entries: total - last.total, total };
    this.#sealed = mark;
    return encodeCommitMark(mark);
  }

  /** The batch sealed last is durable; returns its mark. */
  written(): CommitMark {
    const mark = this.#sealed ?? this.#durable;
    this.#durable = mark;
    this.#sealed = undefined;
    return mark;
  }
}
