import type { ValueCipher } from '../value-cipher.js';
import type { BatchOp, WriteSink } from './group-commit.js';
import type { DeferredEntry, DeferredValue } from './queue-ops.js';
import { encodeQueueEntry } from '../record-codec.js';
import { EntryKeyScratch, queueEntryKey, queueIdOf, SEGMENT_KEY_BYTES, segmentKey } from './keys.js';
import { SEGMENT_HEADER_BYTES, SegmentBuilder, segmentEntryOverhead } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';
import type { LoadedSegment, SegmentRewriter } from './segment-rewriter.js';
import type { SizeChange, SizeLedger } from './size-ledger.js';

const EMPTY = Buffer.alloc(0);

/** The segment a batch is building, if any yet, and its id. */
interface NewSegment {
  builder: SegmentBuilder | undefined;
  id: number;
}

/** The plain bytes of a deferred value outside a segment (a queue entry there is encoded on its own). */
function plainOf(value: DeferredValue | DeferredEntry): Buffer {
  return 'plain' in value ? value.plain : encodeQueueEntry(value.entry);
}

/**
 * Turns a coalesced batch into the writes of the log-structured queue layout: the queue entries
 * the batch puts go into ONE new segment (`seg/<id>`, sealed once: one fresh nonce, its key as
 * the additional data), each entry marked by a key `q/<queue><seq><segment id>` with an empty
 * value; an entry replaced or deleted has its old key deleted, and a segment left without live
 * entries is deleted in the same batch. Other operations pass through (deferred values sealed).
 *
 * Size accounting: at submission an entry is charged {@link SegmentBatcher.entryCharge} (its key,
 * its bytes in the segment and a whole segment's overhead: an upper bound); here the charge
 * becomes exact: the entry key alone, plus the segment record (key + sealed value) once. A
 * segment's bytes stay charged until the segment is deleted.
 *
 * Queue operations carry their queue prefix and seq; puts carry the plain record as a deferred
 * value (a Buffer value of a queue put is taken as the plain record too).
 *
 * Segment compaction ({@link SegmentRewriter}): a batch also moves the live entries of the sparse
 * segments read for it into its new segment (same records, new keys, old keys deleted), entries
 * its own operations touch excepted; the old segment, left empty, is deleted in the same batch.
 */
export class SegmentBatcher {
  readonly #index: SegmentIndex;
  readonly #cipher: ValueCipher;
  readonly #ledger: SizeLedger;
  readonly #segmentOverhead: number;
  readonly #deleted: ((id: number) => void) | undefined;
  readonly #keys = new EntryKeyScratch();
  /** Sparse segments to move entries out of, when segment compaction is on. */
  rewriter: SegmentRewriter | undefined;
  /** Queue entries put by the batches taken so far (entries moved by segment compaction not counted). */
  entriesPut = 0;

  /** `deleted` is told of each segment a batch deletes (when the batch is taken). */
  constructor(index: SegmentIndex, cipher: ValueCipher, ledger: SizeLedger, deleted?: (id: number) => void) {
    this.#index = index;
    this.#cipher = cipher;
    this.#ledger = ledger;
    this.#deleted = deleted;
    this.#segmentOverhead = SEGMENT_KEY_BYTES + cipher.sealedLength(SEGMENT_HEADER_BYTES);
  }

  /** Bytes charged at submission for an entry of the queue `prefix` with a record of `recordBytes`. */
  entryCharge(prefix: Buffer, recordBytes: number): number {
    return prefix.length + 16 + segmentEntryOverhead(prefix.length) + recordBytes + this.#segmentOverhead;
  }

  /** See {@link BatchTarget.finish}. */
  finish(ops: readonly BatchOp[], sink: WriteSink): number {
    const index = this.#index;
    const keys = this.#keys;
    let builder: SegmentBuilder | undefined;
    let id = 0;
    let emptied: number[] | undefined;
    for (const op of ops) {
      const queue = op.queue;
      const seq = op.seq;
      if (queue === undefined || seq === undefined) {
        if (op.type === 'del') sink.del(op.key);
        else sink.put(op.key, Buffer.isBuffer(op.value) ? op.value : this.#cipher.seal(op.key, plainOf(op.value)));
        continue;
      }
      const queueId = queueIdOf(queue);
      const old = index.remove(queueId, seq);
      if (old !== undefined) {
        sink.del(old.place === 0 ? queueEntryKey(queue, seq) : keys.key(queue, seq, old.place));
        if (old.emptied) (emptied ??= []).push(old.place);
      }
      if (op.type !== 'put') continue;
      this.entriesPut++;
      if (builder === undefined) {
        builder = new SegmentBuilder();
        id = index.nextId();
      }
      const value = op.value;
      if (Buffer.isBuffer(value)) builder.add(queue, seq, value);
      else if ('plain' in value) builder.add(queue, seq, value.plain);
      else builder.addEntry(queue, seq, value.entry, value.bytes);
      index.place(queueId, seq, id);
      sink.put(keys.key(queue, seq, id), EMPTY);
    }
    const rewrites = this.rewriter?.take();
    if (rewrites !== undefined && rewrites.length > 0) {
      const target: NewSegment = { builder, id };
      emptied = this.#move(rewrites, target, sink, emptied ?? []);
      ({ builder, id } = target);
    }
    let freed = 0;
    if (emptied !== undefined) {
      const deletes: SizeChange[] = [];
      for (const segment of emptied) {
        const key = segmentKey(segment);
        sink.del(key);
        deletes.push({ kind: 'del', key });
        this.#deleted?.(segment);
      }
      freed = this.#ledger.apply(deletes, false).freed;
    }
    if (builder !== undefined) {
      const key = segmentKey(id);
      const value = this.#cipher.seal(key, builder.finish());
      sink.put(key, value);
      // Each entry put is charged its key alone (`q/<queue><seq><segment>`: prefix + 16 bytes); its record is in the segment.
      const ledger = this.#ledger;
      for (const op of ops) {
        if (op.type === 'put' && op.queue !== undefined && op.seq !== undefined) ledger.putEntry(op.queue, op.seq, op.queue.length + 16);
      }
      ledger.apply([{ kind: 'put', key, size: key.length + value.length }], false);
    }
    return freed;
  }

  /**
   * Moves the entries still placed in the `segments` read for compaction into the batch's new
   * segment (`target`, started here if the batch had none): each entry's record is copied as it
   * is, its old key deleted and its new key put. Returns `emptied` with the segments this left
   * without live entries (all of them, normally).
   */
  #move(segments: readonly LoadedSegment[], target: NewSegment, sink: WriteSink, emptied: number[]): number[] {
    const index = this.#index;
    const keys = this.#keys;
    let moved = 0;
    let cleared = 0;
    for (const segment of segments) {
      for (const [queueId, seqs] of segment.contents) {
        let queue: Buffer | undefined;
        for (const [seq, record] of seqs) {
          if (index.placeOf(queueId, seq) !== segment.id) continue; // deleted, replaced, or touched by this batch
          queue ??= Buffer.from(queueId, 'latin1');
          const old = index.remove(queueId, seq);
          sink.del(keys.key(queue, seq, segment.id));
          if (old?.emptied === true) {
            emptied.push(segment.id);
            cleared++;
          }
          if (target.builder === undefined) {
            target.builder = new SegmentBuilder();
            target.id = index.nextId();
          }
          target.builder.add(queue, seq, record);
          index.place(queueId, seq, target.id);
          sink.put(keys.key(queue, seq, target.id), EMPTY);
          moved++;
        }
      }
    }
    this.rewriter?.moved(cleared, moved);
    return emptied;
  }
}
