import { RecordFormatError } from '../binary-io.js';
import type { QueueEntryRecord } from '../broker-store.js';
import { writeQueueEntryAt } from '../message-codec.js';

/**
 * The plain bytes of a segment: the queue entries written by one batch, sealed together as one
 * value (`seg/<id>`, see keys.ts) so a batch costs one cipher setup instead of one per entry.
 *
 * Layout: `[segment codec version u8][count u32]`, then per entry
 * `[queue prefix length u16][queue prefix][seq u64][record length u32][record]`. The queue
 * prefix is the entry key's `q/<len><id>` (an HMAC of the client id when encrypted), so an entry
 * key can only name a record of its own queue and seq inside an authentic segment: an index key
 * copied under another queue finds nothing there and is reported, never delivered.
 */
export const SEGMENT_CODEC_VERSION = 1;

const HEADER_BYTES = 1 + 4;

/** Bytes a segment spends on an entry besides its record, for a queue prefix of this length. */
export function segmentEntryOverhead(prefixLength: number): number {
  return 2 + prefixLength + 8 + 4;
}

/** Bytes of an empty segment (version and count). */
export const SEGMENT_HEADER_BYTES = HEADER_BYTES;

/** Builds the plain bytes of one segment, entry by entry. */
export class SegmentBuilder {
  readonly #queues: Buffer[] = [];
  readonly #seqs: number[] = [];
  /** Encoded records, or entries encoded into the segment by `finish` (`#lengths` has their size). */
  readonly #records: (Buffer | QueueEntryRecord)[] = [];
  readonly #lengths: number[] = [];
  #bytes = HEADER_BYTES;

  /** Adds the encoded record of entry `seq` of the queue with key prefix `queue`. */
  add(queue: Buffer, seq: number, record: Buffer): void {
    this.#add(queue, seq, record, record.length);
  }

  /** Adds entry `seq` of queue `queue` unencoded: `finish` writes it into the segment (`bytes`: its `queueEntryBytes`). */
  addEntry(queue: Buffer, seq: number, entry: QueueEntryRecord, bytes: number): void {
    this.#add(queue, seq, entry, bytes);
  }

  #add(queue: Buffer, seq: number, record: Buffer | QueueEntryRecord, length: number): void {
    if (queue.length > 0xffff) throw new RangeError('queue prefix longer than 65535 bytes');
    this.#queues.push(queue);
    this.#seqs.push(seq);
    this.#records.push(record);
    this.#lengths.push(length);
    this.#bytes += segmentEntryOverhead(queue.length) + length;
  }

  /** Entries added so far. */
  get count(): number {
    return this.#records.length;
  }

  /** The segment's plain bytes. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.#bytes);
    out[0] = SEGMENT_CODEC_VERSION;
    out.writeUInt32BE(this.#records.length, 1);
    let at = HEADER_BYTES;
    for (let i = 0; i < this.#records.length; i++) {
      const queue = this.#queues[i] as Buffer;
      const seq = this.#seqs[i] as number;
      const record = this.#records[i] as Buffer | QueueEntryRecord;
      const length = this.#lengths[i] as number;
      out.writeUInt16BE(queue.length, at);
      queue.copy(out, at + 2);
      at += 2 + queue.length;
      out.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), at);
      out.writeUInt32BE(seq >>> 0, at + 4);
      out.writeUInt32BE(length, at + 8);
      at += 12;
      const end = Buffer.isBuffer(record) ? at + record.copy(out, at) : writeQueueEntryAt(out, at, record);
      if (end !== at + length) throw new RangeError(`queue entry ${seq}: encoded ${end - at} bytes, expected ${length}`);
      at = end;
    }
    return out;
  }
}

/** A decoded segment: records by queue prefix (latin1) and seq. Records are views of the segment's bytes. */
export type SegmentContents = ReadonlyMap<string, ReadonlyMap<number, Buffer>>;

function need(bytes: Buffer, at: number, n: number): void {
  if (at + n > bytes.length) throw new RecordFormatError('segment is truncated');
}

/** Decodes a segment's plain bytes; throws {@link RecordFormatError} on malformed bytes. */
export function decodeSegment(bytes: Buffer): SegmentContents {
  need(bytes, 0, HEADER_BYTES);
  if (bytes[0] !== SEGMENT_CODEC_VERSION) throw new RecordFormatError(`unknown segment codec version ${String(bytes[0])}`);
  const count = bytes.readUInt32BE(1);
  const queues = new Map<string, Map<number, Buffer>>();
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    need(bytes, at, 2);
    const prefixLength = bytes.readUInt16BE(at);
    need(bytes, at + 2, prefixLength + 12);
    const queue = bytes.toString('latin1', at + 2, at + 2 + prefixLength);
    at += 2 + prefixLength;
    const seq = bytes.readUInt32BE(at) * 0x1_0000_0000 + bytes.readUInt32BE(at + 4);
    const length = bytes.readUInt32BE(at + 8);
    at += 12;
    need(bytes, at, length);
    let records = queues.get(queue);
    if (records === undefined) {
      records = new Map();
      queues.set(queue, records);
    }
    records.set(seq, bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.length) throw new RecordFormatError('segment has trailing bytes');
  return queues;
}
