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

/** An array being filled: its elements so far, and how many it declared. */
interface OpenArray {
  readonly items: RedisReply[];
  readonly length: number;
}

/** The type bytes of RESP2 replies: `+ - : $ *`. */
const TYPE_BYTES = new Set([0x2b, 0x2d, 0x3a, 0x24, 0x2a]);

/**
 * An incremental RESP2 parser. Feed it the socket's chunks with {@link push}; it returns the replies
 * completed by each. It is a state machine that resumes where the last chunk ended (the open arrays
 * are a stack, a line or bulk string in progress keeps its parts), so every byte is looked at a
 * bounded number of times however the reply is split: the work is linear in the bytes. After an
 * error it stays failed (every later push reports the same error).
 */
export class RespParser {
  /** What the next byte is: a reply's type, its line (up to CRLF), a bulk string's bytes, or its CRLF. */
  private state: 'type' | 'line' | 'bulk' | 'bulkEnd' = 'type';
  private type = 0;
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  /** The line's CR was seen; its LF comes next. */
  private sawCr = false;
  private bulkParts: Buffer[] = [];
  private bulkLength = 0;
  private bulkLeft = 0;
  /** Bytes of the bulk string's terminating CRLF seen (0-2). */
  private bulkEndSeen = 0;
  /** The arrays being filled, outermost first (at most `maxDepth`). */
  private open: OpenArray[] = [];
  /** Bytes of the top-level reply in progress. */
  private held = 0;
  private failure: RespProtocolError | undefined;
  private stepCount = 0;

  constructor(private readonly limits: RespLimits = DEFAULT_RESP_LIMITS) {}

  /** Bytes held for an incomplete reply. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Parse steps taken so far (each consumes at least one byte or completes a value): a measure of the work, for tests. */
  get steps(): number {
    return this.stepCount;
  }

  /** Adds `chunk` and returns the replies it completes (never throws). */
  push(chunk: Buffer): RespPushResult {
    if (this.failure !== undefined) return { replies: [], error: this.failure };
    const replies: RedisReply[] = [];
    try {
      this.consume(chunk, replies);
    } catch (error) {
      this.failure = error instanceof RespProtocolError ? error : new RespProtocolError(String(error));
      this.lineParts = [];
      this.bulkParts = [];
      this.open = [];
      this.held = 0;
      return { replies, error: this.failure };
    }
    return { replies };
  }

  /** Runs the state machine over `chunk`; throws RespProtocolError on invalid input. */
  private consume(chunk: Buffer, replies: RedisReply[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      this.stepCount++;
      switch (this.state) {
        case 'type': {
          const type = chunk[pos] as number;
          if (!TYPE_BYTES.has(type)) throw new RespProtocolError(`unknown reply type byte 0x${type.toString(16).padStart(2, '0')}`);
          this.type = type;
          this.state = 'line';
          pos++;
          this.hold(1);
          break;
        }
        case 'line': {
          if (this.sawCr) {
            if (chunk[pos] !== 0x0a) throw new RespProtocolError('CR not followed by LF');
            pos++;
            this.hold(1);
            this.sawCr = false;
            const parts = this.lineParts;
            const line = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.lineBytes);
            this.lineParts = [];
            this.lineBytes = 0;
            this.lineDone(line, replies);
            break;
          }
          const cr = chunk.indexOf(0x0d, pos);
          const end = cr === -1 ? chunk.length : cr;
          const n = end - pos;
          if (this.lineBytes + n > this.limits.maxLineBytes) throw new RespProtocolError(`line longer than ${this.limits.maxLineBytes} bytes`);
          if (n > 0) {
            this.lineParts.push(chunk.subarray(pos, end));
            this.lineBytes += n;
            this.hold(n);
          }
          pos = end;
          if (cr !== -1) {
            this.sawCr = true;
            pos++;
            this.hold(1);
          }
          break;
        }
        case 'bulk': {
          const n = Math.min(this.bulkLeft, chunk.length - pos);
          this.bulkParts.push(chunk.subarray(pos, pos + n));
          this.bulkLeft -= n;
          pos += n;
          this.hold(n);
          if (this.bulkLeft === 0) this.state = 'bulkEnd';
          break;
        }
        case 'bulkEnd': {
          if (chunk[pos] !== (this.bulkEndSeen === 0 ? 0x0d : 0x0a)) throw new RespProtocolError('bulk string not terminated by CRLF');
          pos++;
          this.hold(1);
          if (++this.bulkEndSeen < 2) break;
          // One copy of the parts (a reply does not keep the socket's chunks alive).
          const value = Buffer.concat(this.bulkParts, this.bulkLength);
          this.bulkParts = [];
          this.state = 'type';
          this.value(value, replies);
          break;
        }
      }
    }
  }

  /** A complete line of the reply being read: a simple reply, or the header of a bulk string or array. */
  private lineDone(line: Buffer, replies: RedisReply[]): void {
    this.state = 'type';
    switch (this.type) {
      case 0x2b: // '+'
        this.value(Buffer.from(line), replies);
        return;
      case 0x2d: // '-'
        this.value(new RedisErrorReply(line.toString('utf8')), replies);
        return;
      case 0x3a: // ':'
        this.value(parseInteger(line, Number.MIN_SAFE_INTEGER), replies);
        return;
      case 0x24: {
        // '$'
        const length = parseInteger(line, -1);
        if (length === -1) {
          this.value(null, replies);
          return;
        }
        if (length > this.limits.maxBulkBytes) throw new RespProtocolError(`bulk string of ${length} bytes exceeds the limit of ${this.limits.maxBulkBytes}`);
        this.bulkLength = length;
        this.bulkLeft = length;
        this.bulkEndSeen = 0;
        this.state = length === 0 ? 'bulkEnd' : 'bulk';
        return;
      }
      default: {
        // '*' (the type byte was checked)
        const length = parseInteger(line, -1);
        if (length === -1) {
          this.value(null, replies);
          return;
        }
        if (length > this.limits.maxArrayLength) throw new RespProtocolError(`array of ${length} elements exceeds the limit of ${this.limits.maxArrayLength}`);
        if (this.open.length >= this.limits.maxDepth) throw new RespProtocolError(`arrays nested deeper than ${this.limits.maxDepth}`);
        if (length === 0) this.value([], replies);
        else this.open.push({ items: [], length });
      }
    }
  }

  /** A complete value: an element of the innermost open array (closing the arrays it completes), or a reply. */
  private value(completed: RedisReply, replies: RedisReply[]): void {
    let value = completed;
    for (;;) {
      this.stepCount++;
      const array = this.open[this.open.length - 1];
      if (array === undefined) {
        replies.push(value);
        this.held = 0;
        return;
      }
      array.items.push(value);
      if (array.items.length < array.length) return;
      this.open.pop();
      value = array.items;
    }
  }

  /** Counts `n` more bytes of the reply in progress; RespProtocolError beyond `maxReplyBytes`. */
  private hold(n: number): void {
    this.held += n;
    if (this.held > this.limits.maxReplyBytes) throw new RespProtocolError(`more than ${this.limits.maxReplyBytes} bytes held for incomplete replies`);
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
