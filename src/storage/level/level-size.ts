import type { Level } from 'level';
import { readFailed, writeFailed } from '../store-errors.js';
import { reasonOf } from '../../shared/errors.js';
import { parseQueueKey, parseSegmentKey, segmentKey, type KeyRange } from './keys.js';
import type { SegmentIndex } from './segment-index.js';
import { META_COMMIT_KEY } from './wal/commit-mark.js';
import type { StoreQuota } from './store-quota.js';

type Db = Level<Buffer, Buffer>;

/** `compactRange` of classic-level (what `level` is on Node.js); absent from `level`'s types. */
export interface RangeCompaction {
  compactRange(start: Buffer, end: Buffer): Promise<void>;
}

/** Every key of the store lies in `[0x00, 0xff)`: they all start with ASCII (`meta/`, `s/`, `q/`, `r/`). */
export const ALL_KEYS: KeyRange = { gte: Buffer.from([0x00]), lt: Buffer.from([0xff]) };

/** The database's `compactRange`, when the implementation has one (classic-level does). */
export function rangeCompaction(db: Db): RangeCompaction | undefined {
  const candidate = db as unknown as Partial<RangeCompaction>;
  return typeof candidate.compactRange === 'function' ? (db as unknown as RangeCompaction) : undefined;
}

/**
 * Counts every record of the store (format records included) into `quota`'s ledger, and every
 * queue entry and segment into `index`: one pass over keys and values at open. Rejects with
 * STO_READ_FAILED.
 */
export async function countLiveBytes(db: Db, quota: StoreQuota, index: SegmentIndex, path: string): Promise<void> {
  const iterator = db.iterator({ gte: ALL_KEYS.gte, lt: ALL_KEYS.lt });
  try {
    for (;;) {
      const chunk = await iterator.nextv(1000);
      if (chunk.length === 0) break;
      for (const [key, value] of chunk) {
        if (key.equals(META_COMMIT_KEY)) continue; // rewritten by every batch, never charged
        const entry = parseQueueKey(key);
        quota.ledger.load(key, value.length, entry);
        if (entry !== undefined) index.loadEntry(key.toString('latin1', 0, entry.prefixLength), entry.seq, entry.segment);
        else {
          const segment = parseSegmentKey(key);
          if (segment !== undefined) index.loadSegment(segment);
        }
      }
    }
  } catch (error) {
    throw readFailed(path, reasonOf(error), error);
  } finally {
    await iterator.close();
  }
}

/**
 * Deletes the segments no entry refers to (a store written by an interrupted or older broker),
 * in one synced batch, and takes them out of the ledger. Rejects with STO_WRITE_FAILED.
 */
export async function deleteOrphanSegments(db: Db, quota: StoreQuota, index: SegmentIndex, path: string): Promise<number> {
  const orphans = index.orphans();
  if (orphans.length === 0) return 0;
  const keys = orphans.map((id) => segmentKey(id));
  try {
    await db.batch(
      keys.map((key) => ({ type: 'del' as const, key })),
      { sync: true },
    );
  } catch (error) {
    throw writeFailed(path, reasonOf(error), error);
  }
  quota.ledger.apply(
    keys.map((key) => ({ kind: 'del' as const, key })),
    false,
  );
  for (const id of orphans) index.dropSegment(id);
  return orphans.length;
}
