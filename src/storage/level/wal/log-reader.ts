/**
 * Reads a LevelDB write-ahead log file (`NNNNNN.log`) the way LevelDB 1.20's `log::Reader` replays
 * it at open (classic-level's bundled LevelDB, `paranoid_checks` off: classic-level has no option
 * for it), but also says what that replay skips without a word.
 *
 * Format: 32 KiB blocks of physical records `[masked CRC-32C u32 LE][length u16 LE][type u8][data]`
 * (types FULL 1, FIRST 2, MIDDLE 3, LAST 4; the CRC covers type and data); a block's last < 7
 * bytes are zero padding. A logical record (one WriteBatch) is a FULL record or FIRST, MIDDLE...,
 * LAST. What LevelDB does with damage, mirrored here:
 * - checksum mismatch, or a length running past a block that is not the file's last: the rest of
 *   the block is dropped (and a logical record in progress with it); replay goes on at the next
 *   block, whose MIDDLE/LAST fragments of the dropped record are dropped too;
 * - a zero header (type 0, length 0): the rest of the block is dropped *silently*;
 * - a record running past the end of the file (header or data cut short) and a logical record
 *   left without its LAST fragment at the end: ignored as a writer that died mid-write.
 * Every one of these is returned as a {@link LogDrop}; only the records LevelDB replays are
 * returned as {@link LogRecord}s.
 */
import { crc32c, maskCrc } from './crc32c.js';

/** LevelDB's log block size. */
export const LOG_BLOCK_BYTES = 32 * 1024;
const HEADER_BYTES = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;
/** A WriteBatch is at least its sequence number and count. */
const MIN_BATCH_BYTES = 12;

/** A logical record that LevelDB replays: one WriteBatch. */
export interface LogRecord {
  /** Byte offset of its first physical record in the file. */
  readonly offset: number;
  readonly data: Buffer;
}

/** Bytes the replay skips, and why. */
export interface LogDrop {
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

/** What a log file holds, as replayed. */
export interface LogContents {
  readonly records: LogRecord[];
  readonly drops: LogDrop[];
}

/** One physical record, or why there is none. */
type Physical =
  | { readonly kind: 'record'; readonly type: number; readonly offset: number; readonly data: Buffer }
  | { readonly kind: 'bad' }
  | { readonly kind: 'eof' };

/** Walks the physical records of a log file, as `log::Reader::ReadPhysicalRecord` does. */
class PhysicalReader {
  readonly #bytes: Buffer;
  readonly drops: LogDrop[] = [];
  /** Start of the current block's unread part; end of the current block. */
  #pos = 0;
  #blockEnd = 0;
  /** Whether the current block is the file's last (shorter than a block, or the end reached). */
  #eof = false;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Drops the rest of the current block. */
  #dropBlock(reason: string): void {
    const bytes = this.#blockEnd - this.#pos;
    if (bytes > 0) this.drops.push({ offset: this.#pos, bytes, reason });
    this.#pos = this.#blockEnd;
  }

  next(): Physical {
    const bytes = this.#bytes;
    for (;;) {
      if (this.#blockEnd - this.#pos < HEADER_BYTES) {
        if (!this.#eof) {
          // The block's trailer (zero padding) is skipped; the next block is read.
          this.#pos = this.#blockEnd;
          this.#blockEnd = Math.min(this.#pos + LOG_BLOCK_BYTES, bytes.length);
          if (this.#blockEnd - this.#pos < LOG_BLOCK_BYTES) this.#eof = true;
          continue;
        }
        // A header cut short at the end of the file: a writer that died mid-header.
        if (this.#blockEnd > this.#pos) this.#dropBlock('the last record is cut short (header)');
        return { kind: 'eof' };
      }
      const at = this.#pos;
      const length = (bytes[at + 4] as number) | ((bytes[at + 5] as number) << 8);
      const type = bytes[at + 6] as number;
      if (HEADER_BYTES + length > this.#blockEnd - at) {
        if (!this.#eof) {
          this.#dropBlock('bad record length');
          return { kind: 'bad' };
        }
        this.#dropBlock('the last record is cut short');
        return { kind: 'eof' };
      }
      if (type === 0 && length === 0) {
        // LevelDB skips the rest of the block without reporting it (preallocated regions).
        this.#dropBlock('zero bytes in place of records');
        return { kind: 'bad' };
      }
      const stored = bytes.readUInt32LE(at);
      if (maskCrc(crc32c(bytes, at + 6, at + HEADER_BYTES + length)) !== stored) {
        this.#dropBlock('checksum mismatch');
        return { kind: 'bad' };
      }
      this.#pos = at + HEADER_BYTES + length;
      return { kind: 'record', type, offset: at, data: bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length) };
    }
  }
}

/**
 * The records LevelDB replays from the log file `bytes`, and every byte range it skips
 * (`log::Reader::ReadRecord` with checksums on and initial offset 0, plus `RecoverLogFile`'s
 * "log record too small").
 */
export function readLog(bytes: Buffer): LogContents {
  const reader = new PhysicalReader(bytes);
  const records: LogRecord[] = [];
  const drops = reader.drops;
  let fragments: Buffer[] | undefined;
  let fragmentsAt = 0;
  let fragmentBytes = 0;
  const emit = (offset: number, data: Buffer): void => {
    if (data.length < MIN_BATCH_BYTES) drops.push({ offset, bytes: data.length, reason: 'log record too small' });
    else records.push({ offset, data });
  };
  const dropPartial = (reason: string): void => {
    if (fragments !== undefined && fragmentBytes > 0) drops.push({ offset: fragmentsAt, bytes: fragmentBytes, reason });
    fragments = undefined;
    fragmentBytes = 0;
  };
  for (;;) {
    const physical = reader.next();
    if (physical.kind === 'eof') {
      // A logical record without its LAST fragment: the writer died mid-record (LevelDB: not a corruption).
      dropPartial('the last record is cut short (fragments)');
      break;
    }
    if (physical.kind === 'bad') {
      dropPartial('error in middle of record');
      continue;
    }
    const { type, offset, data } = physical;
    switch (type) {
      case FULL:
        // An empty FIRST before a FULL was written by old LevelDB writers; anything else is dropped.
        if (fragments !== undefined && fragmentBytes > 0) dropPartial('partial record without end');
        fragments = undefined;
        emit(offset, data);
        break;
      case FIRST:
        if (fragments !== undefined && fragmentBytes > 0) dropPartial('partial record without end');
        fragments = [data];
        fragmentsAt = offset;
        fragmentBytes = data.length;
        break;
      case MIDDLE:
      case LAST:
        if (fragments === undefined) {
          drops.push({ offset, bytes: data.length, reason: 'missing start of fragmented record' });
          break;
        }
        fragments.push(data);
        fragmentBytes += data.length;
        if (type === LAST) {
          emit(fragmentsAt, Buffer.concat(fragments));
          fragments = undefined;
          fragmentBytes = 0;
        }
        break;
      default:
        drops.push({ offset, bytes: data.length + fragmentBytes, reason: `unknown record type ${type}` });
        fragments = undefined;
        fragmentBytes = 0;
    }
  }
  return { records, drops };
}
