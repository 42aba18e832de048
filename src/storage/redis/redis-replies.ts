import { RedisErrorReply, type RedisReply } from './cluster-commands.js';

/**
 * Defensive readers of Redis replies: a reply of an unexpected shape is a {@link RedisReplyError}
 * (the store reports it as a failed read or write), never a crash and never taken as data.
 */

/** A reply was an error reply, or not of the shape the command returns. */
export class RedisReplyError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RedisReplyError';
  }
}

/** Throws {@link RedisReplyError} for an error reply; otherwise returns the reply. */
export function notError(reply: RedisReply | undefined, what: string): Exclude<RedisReply, RedisErrorReply> {
  if (reply === undefined) throw new RedisReplyError(`${what}: no reply`);
  if (reply instanceof RedisErrorReply) throw new RedisReplyError(`${what}: ${reply.message}`);
  return reply;
}

/** Checks every reply of a pipeline for errors, and that there is one per command. */
export function checkReplies(replies: readonly RedisReply[], count: number, what: string): void {
  if (replies.length !== count) throw new RedisReplyError(`${what}: ${replies.length} replies to ${count} commands`);
  for (const reply of replies) notError(reply, what);
}

/** A bulk string, or null (missing key). */
export function bulkOrNull(reply: RedisReply | undefined, what: string): Buffer | null {
  const r = notError(reply, what);
  if (r === null || Buffer.isBuffer(r)) return r;
  throw new RedisReplyError(`${what}: expected a bulk string, got ${describe(r)}`);
}

/** One page of a cursor scan (`SSCAN`/`HSCAN`): the next cursor and the items. */
export interface ScanPage {
  /** `0` when the scan is complete. */
  readonly cursor: string;
  readonly items: Buffer[];
}

/** Reads a `[cursor, [item...]]` scan reply. */
export function scanPage(reply: RedisReply | undefined, what: string): ScanPage {
  const r = notError(reply, what);
  if (!Array.isArray(r) || r.length !== 2) throw new RedisReplyError(`${what}: expected [cursor, items], got ${describe(r)}`);
  const [cursor, items] = r;
  if (!Buffer.isBuffer(cursor) || !/^[0-9]{1,20}$/.test(cursor.toString('latin1'))) throw new RedisReplyError(`${what}: bad cursor`);
  if (!Array.isArray(items)) throw new RedisReplyError(`${what}: expected an item array, got ${describe(items ?? null)}`);
  const out: Buffer[] = [];
  for (const item of items) {
    if (!Buffer.isBuffer(item)) throw new RedisReplyError(`${what}: expected bulk string items, got ${describe(item)}`);
    out.push(item);
  }
  return { cursor: cursor.toString('latin1'), items: out };
}

/** A short description of a reply's type, for error messages (never its content). */
function describe(reply: RedisReply): string {
  if (reply === null) return 'nil';
  if (Buffer.isBuffer(reply)) return 'a bulk string';
  if (Array.isArray(reply)) return `an array of ${reply.length}`;
  if (reply instanceof RedisErrorReply) return 'an error';
  return 'an integer';
}
