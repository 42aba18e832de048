/**
 * Reads a LevelDB WriteBatch (the contents of one logical log record): `[sequence u64 LE]
 * [count u32 LE]` then `count` operations, each `[tag u8]` (1 put, 0 delete) `[varint32 key
 * length][key]`, and for a put `[varint32 value length][value]`.
 */
import { decodeCommitMark, META_COMMIT_KEY, type CommitMark } from './commit-mark.js';

/** What the write-ahead log check needs of a batch. */
export interface BatchSummary {
  /** Its commit mark, when it carries one (group-commit batches do; format and open-time writes do not). */
  readonly mark: CommitMark | undefined;
}

/** Thrown for a batch whose operations do not parse. */
export class WriteBatchFormatError extends Error {}

function varint32(bytes: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0, i = at; shift <= 28; shift += 7, i++) {
    if (i >= bytes.length) break;
    const byte = bytes[i] as number;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value >>> 0, i + 1];
  }
  throw new WriteBatchFormatError('bad varint');
}

/** The summary of the WriteBatch `rep`; throws {@link WriteBatchFormatError} when it does not parse. */
export function summarizeBatch(rep: Buffer): BatchSummary {
  if (rep.length < 12) throw new WriteBatchFormatError('shorter than its header');
  const count = rep.readUInt32LE(8);
  let at = 12;
  let mark: CommitMark | undefined;
  for (let n = 0; n < count; n++) {
    const tag = rep[at];
    if (tag !== 0 && tag !== 1) throw new WriteBatchFormatError(`unknown operation ${String(tag)}`);
    const [keyLength, keyAt] = varint32(rep, at + 1);
    const keyEnd = keyAt + keyLength;
    if (keyEnd > rep.length) throw new WriteBatchFormatError('key past the end');
    at = keyEnd;
    if (tag === 1) {
      const [valueLength, valueAt] = varint32(rep, at);
      at = valueAt + valueLength;
      if (at > rep.length) throw new WriteBatchFormatError('value past the end');
      if (keyLength === META_COMMIT_KEY.length && META_COMMIT_KEY.equals(rep.subarray(keyAt, keyEnd))) {
        mark = decodeCommitMark(rep.subarray(valueAt, at)) ?? mark;
      }
    }
  }
  if (at !== rep.length) throw new WriteBatchFormatError('bytes after the last operation');
  return { mark };
}
