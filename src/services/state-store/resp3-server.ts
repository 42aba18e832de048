/**
 * The RESP3 subset of the state store (docs/reference/state-store-protocol.md §2): requests are one array of
 * bulk strings; replies are the forms of §2.3. Parsing never throws.
 */
import { ERR } from './constants.js';

const CR = 0x0d;
const LF = 0x0a;
/** Upper bound on the element count of a request (a request has at most 6 elements). */
const MAX_ELEMENTS = 64;

/** Result of {@link parseRequest}: the elements, or the `syntax error` marker. */
export type ParsedRequest = { readonly ok: true; readonly elements: readonly Buffer[] } | { readonly ok: false };

/** Where {@link readLength} stopped: the byte after the CRLF (module scratch, no object per call). */
let lengthEnd = 0;

/**
 * Reads a decimal after a type byte at `start` up to CRLF; -1 when malformed. On success
 * `lengthEnd` is the offset after the CRLF.
 */
function readLength(buf: Buffer, start: number): number {
  let i = start;
  let value = 0;
  while (i < buf.length && buf[i] !== CR) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
    if (value > Number.MAX_SAFE_INTEGER) return -1;
    i++;
  }
  if (i === start || i + 1 >= buf.length || buf[i + 1] !== LF) return -1;
  if (i - start > 1 && buf[start] === 0x30) return -1; // no leading zeros
  lengthEnd = i + 2;
  return value;
}

const NOT_OK: ParsedRequest = { ok: false };

/** Parses one request payload: exactly one array of ≥ 1 bulk strings, nothing before or after. */
export function parseRequest(buf: Buffer): ParsedRequest {
  if (buf.length < 4 || buf[0] !== 0x2a) return NOT_OK;
  const count = readLength(buf, 1);
  if (count <= 0 || count > MAX_ELEMENTS) return NOT_OK;
  const elements: Buffer[] = [];
  let pos = lengthEnd;
  for (let n = 0; n < count; n++) {
    if (pos >= buf.length || buf[pos] !== 0x24) return NOT_OK;
    const len = readLength(buf, pos + 1);
    if (len < 0) return NOT_OK;
    const begin = lengthEnd;
    const end = begin + len;
    if (end + 2 > buf.length || buf[end] !== CR || buf[end + 1] !== LF) return NOT_OK;
    elements.push(buf.subarray(begin, end));
    pos = end + 2;
  }
  if (pos !== buf.length) return NOT_OK;
  return { ok: true, elements };
}

/** `+OK\r\n`. */
export const REPLY_OK: Buffer = Buffer.from('+OK\r\n');
/** `$-1\r\n` (GET miss). */
export const REPLY_NIL: Buffer = Buffer.from('$-1\r\n');
/** `:-1\r\n` (condition not met). */
export const REPLY_NOT_APPLIED: Buffer = Buffer.from(':-1\r\n');
/** `:0\r\n`. */
export const REPLY_ZERO: Buffer = Buffer.from(':0\r\n');
/** `:1\r\n`. */
export const REPLY_ONE: Buffer = Buffer.from(':1\r\n');

/** `-ERR <message>\r\n`. */
export function encodeError(message: string): Buffer {
  return Buffer.from(`-ERR ${message}\r\n`);
}

/** `$<len>\r\n<bytes>\r\n`. */
export function encodeBulk(value: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n')]);
}

/** `*<n>\r\n` followed by each element as a bulk string (requests, notifications). */
export function encodeArray(elements: readonly (Uint8Array | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${elements.length}\r\n`)];
  for (const e of elements) parts.push(encodeBulk(typeof e === 'string' ? Buffer.from(e) : e));
  return Buffer.concat(parts);
}

/** `-ERR syntax error\r\n`. */
export const REPLY_SYNTAX_ERROR: Buffer = encodeError(ERR.syntax);

/** Notification payload `NOTIFY SET VALUE v` (§4.3). */
export function encodeNotifySet(value: Uint8Array): Buffer {
  return encodeArray(['NOTIFY', 'SET', 'VALUE', value]);
}

/** Notification payload `NOTIFY DELETE` (§4.3). */
export const NOTIFY_DELETE: Buffer = encodeArray(['NOTIFY', 'DELETE']);
