/**
 * Redis stream ids (`<ms>-<seq>`, two unsigned 64-bit integers) and the parts of `XINFO STREAM`
 * a tail needs, read defensively.
 */
import { RedisErrorReply, type RedisReply } from '../storage/redis/cluster-commands.js';

const MAX_U64 = (1n << 64n) - 1n;
const ID = /^(\d{1,20})-(\d{1,20})$/;

/** Whether `text` is a complete stream id (`<ms>-<seq>`, each at most 2^64 − 1). */
export function isStreamId(text: string): boolean {
  const match = ID.exec(text);
  return match !== null && BigInt(match[1] ?? '') <= MAX_U64 && BigInt(match[2] ?? '') <= MAX_U64;
}

/** Compares two valid stream ids: negative, 0 or positive as `a` is before, equal to or after `b`. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** What `XINFO STREAM` says about a stream's extent (Redis 7.0 or later). */
export interface StreamInfo {
  /** Entries in the stream now. */
  readonly length: number;
  /** The id of the last entry ever added (`0-0` when none was). */
  readonly lastGeneratedId: string;
  /** Entries ever added (so `entriesAdded - length` were trimmed or deleted). */
  readonly entriesAdded: number;
  /** The id of the first entry now, undefined when the stream is empty. */
  readonly firstEntryId: string | undefined;
}

/**
 * Reads an `XINFO STREAM` reply: the info, undefined when the stream does not exist (`no such
 * key`), or a string saying what is wrong with the reply.
 */
export function readStreamInfo(reply: RedisReply): StreamInfo | undefined | string {
  if (reply instanceof RedisErrorReply) return /no such key/i.test(reply.message) ? undefined : `error reply: ${reply.message}`;
  if (!Array.isArray(reply) || reply.length % 2 !== 0) return 'not a field/value array';
  const fields = new Map<string, RedisReply>();
  for (let i = 0; i < reply.length; i += 2) {
    const name = reply[i];
    if (Buffer.isBuffer(name)) fields.set(name.toString('latin1'), reply[i + 1] ?? null);
  }
  const length = fields.get('length');
  const entriesAdded = fields.get('entries-added');
  const last = fields.get('last-generated-id');
  if (typeof length !== 'number' || length < 0) return 'no length';
  if (typeof entriesAdded !== 'number' || entriesAdded < length) return 'no entries-added (Redis 7.0 or later is needed)';
  if (!Buffer.isBuffer(last) || !isStreamId(last.toString('latin1'))) return 'no last-generated-id';
  let firstEntryId: string | undefined;
  if (length > 0) {
    const recorded = fields.get('recorded-first-entry-id');
    const first = fields.get('first-entry');
    const firstId = Array.isArray(first) ? first[0] : undefined;
    const text = Buffer.isBuffer(recorded) ? recorded.toString('latin1') : Buffer.isBuffer(firstId) ? firstId.toString('latin1') : undefined;
    if (text === undefined || !isStreamId(text)) return 'no first entry id';
    firstEntryId = text;
  }
  return { length, lastGeneratedId: last.toString('latin1'), entriesAdded, firstEntryId };
}
