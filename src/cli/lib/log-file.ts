/**
 * Reads a log file in bounded memory: lines streamed from an offset, the start of the last N
 * matching lines found by reading backwards from the end, and following the file as it grows
 * (like `tail -F`: a truncated file is read again from its start, a replaced one is reopened).
 * A line longer than {@link MAX_LINE_BYTES} is cut there (the rest of it is skipped).
 */
import { open, stat, type FileHandle } from 'node:fs/promises';

/** Longest line kept; the rest of a longer line is dropped. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Bytes read at a time. */
const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** Splits bytes into lines, keeping at most {@link MAX_LINE_BYTES} of a line and the incomplete tail for the next chunk. */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  /** The current line went past the limit: its remaining bytes are skipped. */
  #overlong = false;

  /** Feeds bytes; calls `onLine` for each complete line (without the newline, UTF-8 decoded). */
  push(bytes: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (;;) {
      const end = bytes.indexOf(NEWLINE, start);
      if (end < 0) {
        this.#keep(bytes.subarray(start));
        return;
      }
      this.#keep(bytes.subarray(start, end));
      onLine(this.#take());
      start = end + 1;
    }
  }

  /** Bytes held of the current, unfinished line. */
  get pending(): number {
    return this.#size;
  }

  /** The unfinished last line (a file not ending in a newline), emptied. */
  flush(onLine: (line: string) => void): void {
    if (this.#size > 0 || this.#overlong) onLine(this.#take());
  }

  #keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = MAX_LINE_BYTES - this.#size;
    if (room <= 0) {
      this.#overlong = true;
      return;
    }
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (bytes.length > room) this.#overlong = true;
    this.#parts.push(Buffer.from(kept)); // a copy: the read buffer is reused
    this.#size += kept.length;
  }

  #take(): string {
    const line = Buffer.concat(this.#parts, this.#size).toString('utf8').replace(/\r$/, '');
    this.#parts = [];
    this.#size = 0;
    this.#overlong = false;
    return line;
  }
}

/**
 * Reads `handle` from `offset` line by line, to its current end or for `maxChunks` chunks; returns
 * the offset after the bytes read (an unfinished last line waits in `splitter`).
 */
export async function readLinesFrom(
  handle: FileHandle,
  offset: number,
  splitter: LineSplitter,
  onLine: (line: string) => void,
  maxChunks = Number.POSITIVE_INFINITY,
): Promise<number> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let position = offset;
  for (let chunks = 0; chunks < maxChunks; chunks++) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    splitter.push(buffer.subarray(0, bytesRead), onLine);
    position += bytesRead;
  }
  return position;
}

/**
 * The offset where the last `count` lines for which `matches` holds begin, read backwards in
 * chunks from `end` (the whole file: 0). Memory: one chunk and one line.
 */
export async function startOfLastLines(handle: FileHandle, end: number, count: number, matches: (line: string) => boolean): Promise<number> {
  if (count <= 0) return end;
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let found = 0;
  let position = end;
  /** Bytes of the line being assembled backwards (after the newline last seen), newest chunk last. */
  let tail: Buffer[] = [];
  let tailSize = 0;
  let lineEnd = end; // offset just past the line being assembled
  const judge = (lineStart: number): boolean => {
    // A line of only a newline at the very end (or an empty line) is nothing to show.
    if (lineEnd > lineStart && tailSize <= MAX_LINE_BYTES) {
      const text = Buffer.concat(tail, tailSize).toString('utf8').replace(/\r$/, '');
      if (text.length > 0 && matches(text)) found++;
    } else if (lineEnd > lineStart) found++; // an overlong line: shown (cut), never parsed here
    tail = [];
    tailSize = 0;
    return found >= count;
  };
  while (position > 0) {
    const size = Math.min(CHUNK_BYTES, position);
    position -= size;
    const { bytesRead } = await handle.read(buffer, 0, size, position);
    let chunkEnd = bytesRead;
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buffer[i] !== NEWLINE) continue;
      const lineStart = position + i + 1;
      if (lineStart < lineEnd) prepend(buffer.subarray(i + 1, chunkEnd));
      if (lineStart < end && judge(lineStart)) return lineStart;
      lineEnd = position + i; // the next line (backwards) ends before this newline
      chunkEnd = i;
    }
    prepend(buffer.subarray(0, chunkEnd));
  }
  return 0; // fewer than `count` matching lines: from the start
  function prepend(bytes: Buffer): void {
    if (bytes.length === 0) return;
    tailSize += bytes.length;
    if (tailSize <= MAX_LINE_BYTES) tail.unshift(Buffer.from(bytes));
    else tail = []; // too long to judge: counted as shown, not kept
  }
}

/** The size and identity of the file at `path` now, or undefined when there is none. */
export async function fileIdentity(path: string): Promise<{ size: number; ino: number; dev: number } | undefined> {
  try {
    const s = await stat(path);
    return { size: s.size, ino: s.ino, dev: s.dev };
  } catch {
    return undefined;
  }
}

/** Opens `path` for reading, or undefined when it does not exist. */
export async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
