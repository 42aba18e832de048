/**
 * RESP2, the Redis wire format: the encoder of commands (arrays of bulk strings) and an incremental,
 * bounded reply parser. Every byte from Redis is parsed defensively: a malformed reply, a length
 * beyond the limits or a nesting too deep is reported as a {@link RespProtocolError} (the connection
 * is then dropped); the parser never throws out of {@link RespParser.push} and never buffers more than
 * the limits allow.
 */
import { RedisErrorReply, type RedisCommand, type RedisReply } from './cluster-commands.js';

/** The bounds of one reply. */
export interface RespLimits {
  /** The longest bulk string accepted, in bytes (Redis' own proto-max-bulk-len is 512 MiB). */
  maxBulkBytes: number;
  /** The most elements one array may declare. */
  maxArrayLength: number;
  /** The deepest nesting of arrays accepted. */
  maxDepth: number;
  /** The longest line (simple string, error, integer, length header), in bytes without CRLF. */
  maxLineBytes: number;
  /** The most bytes held for incomplete replies: bounds a reply made of many elements within the other limits. */
  maxReplyBytes: number;
}

/** The default bounds: 512 MiB bulk strings, 1M elements, 16 levels, 64 KiB lines, 1 GiB held. */
export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxBulkBytes: 512 * 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxDepth: 16,
  maxLineBytes: 64 * 1024,
  maxReplyBytes: 1024 * 1024 * 1024,
};

/** A reply that is not valid RESP2, or exceeds the limits. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

/** Decimal digits of a non-negative integer. */
function digits(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    count++;
  }
  return count;
}

/** Writes `[prefix][n in decimal]\r\n` at `at`; returns the offset after it. */
function writeHeader(out: Buffer, at: number, prefix: number, n: number): number {
  out[at++] = prefix;
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  out[end] = 13;
  out[end + 1] = 10;
  return end + 2;
}

/** A word's bytes as it is sent: a Buffer as it is, a number in decimal, a string as UTF-8. */
function wordText(word: string | number): string {
  return typeof word === 'number' ? String(word) : word;
}

/** A word's length in bytes on the wire. */
function wordBytes(word: string | Buffer | number): number {
  return Buffer.isBuffer(word) ? word.length : Buffer.byteLength(wordText(word), 'utf8');
}

const STAR = 0x2a;
const DOLLAR = 0x24;

/**
 * Commands as one buffer (arrays of bulk strings; numbers in decimal), to be written at once (a
 * pipeline). One allocation: the sizes are added up first (this runs for every pipeline of the
 * cluster client: no buffer per word).
 */
export function encodeCommands(commands: readonly RedisCommand[]): Buffer {
  let size = 0;
  for (const command of commands) {
    size += 3 + digits(command.length);
    for (const word of command) {
      const n = wordBytes(word);
      size += 5 + digits(n) + n;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const command of commands) {
    at = writeHeader(out, at, STAR, command.length);
    for (const word of command) {
      if (Buffer.isBuffer(word)) {
        at = writeHeader(out, at, DOLLAR, word.length);
        at += word.copy(out, at);
      } else {
        const text = wordText(word);
        at = writeHeader(out, at, DOLLAR, Buffer.byteLength(text, 'utf8'));
        at += out.write(text, at, 'utf8');
      }
      out[at++] = 13;
      out[at++] = 10;
    }
  }
  return out;
}

/** What {@link RespParser.push} found in the bytes so far. */
export interface RespPushResult {
  /** The complete replies, in order. */
  replies: RedisReply[];
  /** Set when the input is not valid RESP2: the replies before it are still valid; drop the connection. */
  error?: RespProtocolError;
}

/** Not enough bytes yet: at least `need` bytes in total (from the reply's start) are needed to go on. */
class Incomplete {
  constructor(readonly need: number) {}
}

/**
 * An incremental RESP2 parser. Feed it the socket's chunks with {@link push}; it returns the replies
 * completed by each. After an error it stays failed (every later push reports the same error).
 */
export class RespParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before a parse is worth trying again (so a large bulk in many chunks is parsed once). */
  private need = 0;
  private failure: RespProtocolError | undefined;

  constructor(private readonly limits: RespLimits = DEFAULT_RESP_LIMITS) {}

  /** Bytes held for an incomplete reply. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds `chunk` and returns the replies it completes (never throws). */
  push(chunk: Buffer): RespPushResult {
    if (this.failure !== undefined) return { replies: [], error: this.failure };
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > this.limits.maxReplyBytes) {
      this.failure = new RespProtocolError(`more than ${this.limits.maxReplyBytes} bytes held for incomplete replies`);
      this.chunks = [];
      this.buffered = 0;
      return { replies: [], error: this.failure };
    }
    const replies: RedisReply[] = [];
    if (this.buffered < this.need) return { replies };
    const buffer = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    try {
      while (offset < buffer.length) {
        const parsed = this.parse(buffer, offset, 0);
        if (parsed instanceof Incomplete) {
          this.need = parsed.need - offset;
          break;
        }
        replies.push(parsed.value);
        offset = parsed.next;
        this.need = 0;
      }
    } catch (error) {
      this.failure = error instanceof RespProtocolError ? error : new RespProtocolError(String(error));
      this.chunks = [];
      this.buffered = 0;
      return { replies, error: this.failure };
    }
    const rest = buffer.subarray(offset);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.buffered = rest.length;
    return { replies };
  }

  /** The reply at `offset`, or what is missing; throws RespProtocolError on invalid input. */
  private parse(buffer: Buffer, offset: number, depth: number): { value: RedisReply; next: number } | Incomplete {
    if (offset >= buffer.length) return new Incomplete(offset + 1);
    const type = buffer[offset];
    const lineEnd = this.lineEnd(buffer, offset + 1);
    if (lineEnd instanceof Incomplete) return lineEnd;
    const line = buffer.subarray(offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case 0x2b: // '+'
        return { value: Buffer.from(line), next };
      case 0x2d: // '-'
        return { value: new RedisErrorReply(line.toString('utf8')), next };
      case 0x3a: // ':'
        return { value: parseInteger(line, Number.MIN_SAFE_INTEGER), next };
      case 0x24: {
        // '$'
        const length = parseInteger(line, -1);
        if (length === -1) return { value: null, next };
        if (length > this.limits.maxBulkBytes) throw new RespProtocolError(`bulk string of ${length} bytes exceeds the limit of ${this.limits.maxBulkBytes}`);
        const end = next + length;
        if (buffer.length < end + 2) return new Incomplete(end + 2);
        if (buffer[end] !== 0x0d || buffer[end + 1] !== 0x0a) throw new RespProtocolError('bulk string not terminated by CRLF');
        return { value: Buffer.from(buffer.subarray(next, end)), next: end + 2 };
      }
      case 0x2a: {
        // '*'
        const length = parseInteger(line, -1);
        if (length === -1) return { value: null, next };
        if (length > this.limits.maxArrayLength) throw new RespProtocolError(`array of ${length} elements exceeds the limit of ${this.limits.maxArrayLength}`);
        if (depth >= this.limits.maxDepth) throw new RespProtocolError(`arrays nested deeper than ${this.limits.maxDepth}`);
        const items: RedisReply[] = [];
        let at = next;
        for (let i = 0; i < length; i++) {
          const item = this.parse(buffer, at, depth + 1);
          if (item instanceof Incomplete) return item;
          items.push(item.value);
          at = item.next;
        }
        return { value: items, next: at };
      }
      default:
        throw new RespProtocolError(`unknown reply type byte 0x${(type ?? 0).toString(16).padStart(2, '0')}`);
    }
  }

  /** The index of the CR of the line starting at `start`, or what is missing. */
  private lineEnd(buffer: Buffer, start: number): number | Incomplete {
    const limit = Math.min(buffer.length, start + this.limits.maxLineBytes + 2);
    const found = buffer.subarray(start, limit).indexOf(0x0d);
    const cr = found === -1 ? -1 : start + found;
    if (cr === -1) {
      if (buffer.length - start > this.limits.maxLineBytes + 1) throw new RespProtocolError(`line longer than ${this.limits.maxLineBytes} bytes`);
      return new Incomplete(buffer.length + 1);
    }
    if (cr + 1 >= buffer.length) return new Incomplete(cr + 2);
    if (buffer[cr + 1] !== 0x0a) throw new RespProtocolError('CR not followed by LF');
    return cr;
  }
}

/** A decimal integer line, at least `min`; throws RespProtocolError otherwise. */
function parseInteger(line: Buffer, min: number): number {
  const text = line.toString('latin1');
  if (!/^-?\d{1,16}$/.test(text)) throw new RespProtocolError(`invalid integer '${text.slice(0, 32)}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new RespProtocolError(`integer out of range '${text}'`);
  return value;
}
