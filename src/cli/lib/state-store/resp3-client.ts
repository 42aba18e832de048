/**
 * The client side of the state store's RESP3 subset (docs/reference/state-store-protocol.md §2, §4.3):
 * requests are one array of bulk strings; replies are `+OK`, `:n`, `$n`, `$-1` or `-ERR`.
 * Parsing never throws: malformed input gives `{ type: 'malformed' }` with why.
 */

const CRLF = Buffer.from('\r\n');

/** One reply of the state store. */
export type Reply =
  | { readonly type: 'ok' }
  | { readonly type: 'integer'; readonly value: number }
  | { readonly type: 'bulk'; readonly value: Buffer }
  | { readonly type: 'nil' }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'malformed'; readonly reason: string };

/** One key notification. */
export type KeyNotification = { readonly operation: 'SET'; readonly value: Buffer } | { readonly operation: 'DELETE' };

/** `*<n>\r\n` then each element as `$<len>\r\n<bytes>\r\n`. */
export function encodeRequest(elements: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${elements.length}\r\n`)];
  for (const element of elements) {
    const bytes = typeof element === 'string' ? Buffer.from(element, 'utf8') : Buffer.from(element);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Index of the first CRLF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number): number {
  return buf.indexOf(CRLF, from);
}

/** A signed decimal with no leading zeros ("0" and "-1" allowed), or undefined. */
function decimal(text: string): number | undefined {
  if (!/^-?(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a bulk string starting at `at` (`$`); returns it and the index after it. */
function readBulk(buf: Buffer, at: number): { value: Buffer | null; next: number } | string {
  if (buf[at] !== 0x24) return 'expected a bulk string';
  const end = lineEnd(buf, at + 1);
  if (end < 0) return 'bulk string length without CRLF';
  const len = decimal(buf.subarray(at + 1, end).toString('latin1'));
  if (len === undefined || len < -1) return 'bad bulk string length';
  if (len === -1) return { value: null, next: end + 2 };
  const start = end + 2;
  if (start + len + 2 > buf.length || buf[start + len] !== 0x0d || buf[start + len + 1] !== 0x0a) return 'bulk string shorter than its length';
  return { value: buf.subarray(start, start + len), next: start + len + 2 };
}

/** Parses exactly one reply (nothing after it). */
export function parseReply(buf: Buffer): Reply {
  const malformed = (reason: string): Reply => ({ type: 'malformed', reason });
  if (buf.length === 0) return malformed('empty payload');
  const first = buf[0];
  if (first === 0x24) {
    const bulk = readBulk(buf, 0);
    if (typeof bulk === 'string') return malformed(bulk);
    if (bulk.next !== buf.length) return malformed('bytes after the reply');
    return bulk.value === null ? { type: 'nil' } : { type: 'bulk', value: bulk.value };
  }
  const end = lineEnd(buf, 1);
  if (end < 0 || end + 2 !== buf.length) return malformed('reply is not one CRLF-terminated line');
  const text = buf.subarray(1, end).toString('utf8');
  if (first === 0x2b) return text === 'OK' ? { type: 'ok' } : malformed(`unexpected simple string '${text}'`);
  if (first === 0x2d) return text.startsWith('ERR ') ? { type: 'error', message: text.slice(4) } : malformed(`unexpected error form '${text}'`);
  if (first === 0x3a) {
    const value = decimal(text);
    return value === undefined ? malformed(`bad integer '${text}'`) : { type: 'integer', value };
  }
  return malformed(`unknown reply type '${String.fromCharCode(first ?? 0)}'`);
}

/** Parses an array of bulk strings (no nulls), or undefined. */
function parseBulkArray(buf: Buffer): Buffer[] | undefined {
  if (buf[0] !== 0x2a) return undefined;
  const end = lineEnd(buf, 1);
  const count = end < 0 ? undefined : decimal(buf.subarray(1, end).toString('latin1'));
  if (count === undefined || count < 1) return undefined;
  const elements: Buffer[] = [];
  let pos = end + 2;
  for (let i = 0; i < count; i++) {
    const bulk = readBulk(buf, pos);
    if (typeof bulk === 'string' || bulk.value === null) return undefined;
    elements.push(bulk.value);
    pos = bulk.next;
  }
  return pos === buf.length ? elements : undefined;
}

/** Parses `NOTIFY SET VALUE v` or `NOTIFY DELETE`; undefined for anything else. */
export function parseNotification(buf: Buffer): KeyNotification | undefined {
  const e = parseBulkArray(buf)?.map((b, i) => (i < 3 ? b.toString('latin1') : b));
  if (e?.[0] !== 'NOTIFY') return undefined;
  if (e.length === 2 && e[1] === 'DELETE') return { operation: 'DELETE' };
  const value = e[3];
  if (e.length === 4 && e[1] === 'SET' && e[2] === 'VALUE' && Buffer.isBuffer(value)) return { operation: 'SET', value };
  return undefined;
}
