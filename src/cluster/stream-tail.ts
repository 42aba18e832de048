/**
 * Tails one Redis stream key on a Redis Cluster: `XREAD BLOCK <ms> COUNT <n> STREAMS key lastId` on
 * a dedicated {@link NodeConnection} to the master of the key's slot (a blocked read would hold up
 * the shared client's pipeline). Each batch is handed to `onEntries` and awaited before the next read
 * (back-pressure: at most one batch of at most `count` entries is held). Any failure (connection
 * lost, `MOVED`, an error or malformed reply, a timeout, `onEntries` throwing) drops the connection,
 * asks the client to read the topology again and, after a short backoff, reconnects to the slot's
 * current master and reads on from the last id processed: no entry is skipped, an entry may be handed
 * over again only when `onEntries` failed on it.
 */
import { reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { RedisErrorReply, type RedisCommand, type RedisReply } from '../storage/redis/cluster-commands.js';
import type { RedisClusterClient } from '../storage/redis/cluster-client.js';
import { parseEndpoint } from '../storage/redis/cluster-topology.js';
import { hashSlot } from '../storage/redis/hash-slot.js';
import { NodeConnection } from '../storage/redis/node-connection.js';
import type { RespLimits } from '../storage/redis/resp.js';
import { ConditionWaiters } from './condition-waiters.js';
import { compareStreamIds, isStreamId, readStreamInfo, type StreamInfo } from './stream-ids.js';

/** One stream entry: its id and its fields (names as UTF-8 text, values as bytes). */
export interface StreamEntry {
  readonly id: string;
  readonly fields: ReadonlyMap<string, Buffer>;
}

/** What {@link StreamTail} needs. */
export interface StreamTailOptions {
  /** The cluster client: the slot's master is found with `masterOf` (and `refreshTopology` after a failure). */
  readonly client: RedisClusterClient;
  /** The stream key (with its hash tag). */
  readonly key: string;
  /** Called with each non-empty batch, in id order; the next read waits for it. A rejection re-reads the batch after a backoff. */
  readonly onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void;
  /**
   * Called before a read when the stream lost entries the tail has not read yet (trimmed past the
   * last id processed, or the stream's last id went back behind it after a failover): the caller
   * rebuilds what it derives from the stream and resolves with the id to read on from. Absent: no
   * check is made. When set, each read is preceded by `XINFO STREAM` in the same pipeline (meant for
   * streams trimmed with `MAXLEN` and never `XDEL`ed: a deletion may look like a gap).
   */
  readonly onGap?: ((lastId: string, info: StreamInfo) => Promise<string>) | undefined;
  readonly logger: Logger;
  /** `XREAD BLOCK` in ms (default 1000); the connection's batch timeout is this plus `replyTimeoutMs`. */
  readonly blockMs?: number | undefined;
  /** `XREAD COUNT`: the most entries of one batch (default 256). */
  readonly count?: number | undefined;
  /** A reply may take this much longer than `blockMs` before the connection is dropped (default 5000). */
  readonly replyTimeoutMs?: number | undefined;
  /** Connecting to the master fails after this many ms (default 1000). */
  readonly connectTimeoutMs?: number | undefined;
  /** First backoff after a failure in ms (default 50), doubled up to `maxBackoffMs` (default 500). */
  readonly backoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  /** The RESP bounds of a reply. */
  readonly limits?: RespLimits | undefined;
}

/** Why a reply cannot be used. */
class BadReply extends Error {}

/** A tail of one stream. Create it, then {@link start} it. */
export class StreamTail {
  private lastIdValue = '0-0';
  /** Callers of {@link reached} waiting for the tail to hand over entries up to an id. */
  private readonly reachWaiters = new ConditionWaiters();
  private connection: NodeConnection | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly blockMs: number;
  private readonly count: number;
  private readonly replyTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private failures = 0;

  constructor(private readonly options: StreamTailOptions) {
    this.blockMs = options.blockMs ?? 1000;
    this.count = options.count ?? 256;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.backoffMs = options.backoffMs ?? 50;
    this.maxBackoffMs = options.maxBackoffMs ?? 500;
    if (!(Number.isInteger(this.blockMs) && this.blockMs > 0)) throw new RangeError('blockMs must be a positive integer (BLOCK 0 blocks forever)');
    if (!(Number.isInteger(this.count) && this.count > 0)) throw new RangeError('count must be a positive integer');
  }

  /** The id of the last entry processed (handed to `onEntries` and resolved), or the start id. */
  get lastId(): string {
    return this.lastIdValue;
  }

  /** Consecutive failed reads (0 while reading works): for stats and tests. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Starts reading the entries after `fromId` (`0-0`: from the beginning). Once only. */
  start(fromId: string): void {
    if (this.loop !== undefined || this.closed) throw new Error('StreamTail.start: already started or closed');
    if (!isStreamId(fromId)) throw new RangeError('StreamTail.start: not a stream id');
    this.lastIdValue = fromId;
    this.loop = this.run();
  }

  /** Stops reading; resolves once a batch being processed finished and the connection is closed. */
  async close(): Promise<void> {
    this.closed = true;
    this.reachWaiters.close();
    this.connection?.close();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.readOnce();
        this.failures = 0;
      } catch (error) {
        if (this.closed) break;
        this.failures++;
        this.connection?.close();
        this.connection = undefined;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.options.logger.warn({ stream: this.options.key, failures: this.failures, reason: reasonOf(error) }, 'reading a stream failed; reconnecting');
        }
        // The topology is read again in the background; masterOf gives the new master once it is known.
        void this.options.client.refreshTopology().catch(() => undefined);
        await this.sleep(Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(this.failures - 1, 10)));
      }
    }
    this.connection?.close();
    this.connection = undefined;
  }

  /** One read (after the gap check when asked for) and the handing over of its entries. */
  private async readOnce(): Promise<void> {
    const connection = await this.connect();
    const { key } = this.options;
    const commands: RedisCommand[] = [];
    const checkGap = this.options.onGap !== undefined;
    if (checkGap) commands.push(['XINFO', 'STREAM', key]);
    commands.push(['XREAD', 'COUNT', this.count, 'BLOCK', this.blockMs, 'STREAMS', key, this.lastIdValue]);
    const replies = await connection.send(commands, this.blockMs + this.replyTimeoutMs);
    if (this.closed) return;
    if (checkGap && this.options.onGap !== undefined) {
      const info = readStreamInfo(replies[0] ?? null);
      if (typeof info === 'string') throw new BadReply(`XINFO STREAM: ${info}`);
      if (info !== undefined && hasGap(this.lastIdValue, info)) {
        const from = await this.options.onGap(this.lastIdValue, info);
        if (!isStreamId(from)) throw new BadReply('onGap resolved with no stream id');
        this.lastIdValue = from;
        if (this.reachWaiters.size > 0) this.reachWaiters.settle(); // reloaded: what was before `from` is in
        return; // the read that followed the check may have skipped the gap: read again
      }
    }
    const { entries, end } = this.parseXRead(replies[replies.length - 1] ?? null);
    if (entries.length > 0) await this.options.onEntries(entries);
    this.lastIdValue = end;
    if (this.reachWaiters.size > 0) this.reachWaiters.settle();
  }

  /**
   * Resolves true once every entry up to stream id `id` was handed over (at once when it already
   * was), false after `timeoutMs` or at close.
   */
  reached(id: string, timeoutMs: number): Promise<boolean> {
    if (this.closed && compareStreamIds(this.lastIdValue, id) < 0) return Promise.resolve(false);
    return this.reachWaiters.wait(() => compareStreamIds(this.lastIdValue, id) >= 0, timeoutMs);
  }


  /** The open connection to the slot's master, opening one when there is none. */
  private async connect(): Promise<NodeConnection> {
    const current = this.connection;
    if (current !== undefined && current.usable) return current;
    const address = this.options.client.masterOf(hashSlot(this.options.key));
    if (address === undefined) throw new BadReply(`no master serves the slot of ${this.options.key}`);
    const endpoint = parseEndpoint(address, '127.0.0.1');
    if (endpoint === undefined) throw new BadReply(`${address} is not a host:port address`);
    const connection = await NodeConnection.open({ ...endpoint, connectTimeoutMs: this.connectTimeoutMs, limits: this.options.limits });
    if (this.closed) connection.close();
    this.connection = connection;
    return connection;
  }

  /**
   * The entries of an XREAD reply (`nil` on timeout, else `[[key, [[id, [field, value, ...]], ...]]]`)
   * and the id the batch ends at. A reply of another shape throws (the read is retried). An entry
   * with malformed fields, or a field named twice, is logged and skipped (the batch's end still moves
   * past it); one with a malformed id, or an id not beyond the previous one, is logged and skipped.
   */
  private parseXRead(reply: RedisReply): { entries: StreamEntry[]; end: string } {
    if (reply === null) return { entries: [], end: this.lastIdValue };
    if (reply instanceof RedisErrorReply) throw new BadReply(`XREAD: ${reply.message}`);
    if (!Array.isArray(reply) || reply.length !== 1) throw new BadReply('XREAD: expected one stream');
    const stream = reply[0];
    if (!Array.isArray(stream) || stream.length !== 2 || !Array.isArray(stream[1])) throw new BadReply('XREAD: expected [key, entries]');
    const raw = stream[1];
    if (raw.length > this.count) throw new BadReply(`XREAD: ${raw.length} entries for COUNT ${this.count}`);
    const entries: StreamEntry[] = [];
    let end = this.lastIdValue;
    for (const item of raw) {
      const parsed = parseStreamEntry(item);
      if (typeof parsed === 'string') {
        this.options.logger.warn({ stream: this.options.key, reason: parsed }, 'a malformed stream entry was skipped');
        continue;
      }
      if (compareStreamIds(parsed.id, end) <= 0) {
        this.options.logger.warn({ stream: this.options.key, id: parsed.id }, 'a stream entry not after the previous one was skipped');
        continue;
      }
      end = parsed.id;
      if (parsed.fields === undefined) {
        this.options.logger.warn({ stream: this.options.key, id: parsed.id }, 'a stream entry with malformed fields was skipped');
        continue;
      }
      entries.push({ id: parsed.id, fields: parsed.fields });
    }
    if (raw.length > 0 && end === this.lastIdValue) throw new BadReply('XREAD: no entry with a valid id after the last one');
    return { entries, end };
  }

  /** Sleeps `ms`, or less when closed. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** Whether entries after `lastId` are gone: trimmed past it, or the stream went back behind it (a failover lost entries). */
function hasGap(lastId: string, info: StreamInfo): boolean {
  if (compareStreamIds(info.lastGeneratedId, lastId) < 0) return true;
  if (info.entriesAdded === info.length) return false; // nothing was ever trimmed
  // Emptied: entries after lastId were added and are gone. Else: the first entry left is beyond lastId
  // (at worst a false alarm when the reader is a whole MAXLEN behind: rebuilding is then cheaper anyway).
  if (info.firstEntryId === undefined) return compareStreamIds(info.lastGeneratedId, lastId) > 0;
  return compareStreamIds(info.firstEntryId, lastId) > 0;
}

/**
 * One entry of an XREAD or XRANGE reply, `[id, [field, value, ...]]`, parsed defensively: fields
 * undefined when they are malformed (not bulk strings in pairs, or a name given twice); a string
 * saying why when the entry or its id is malformed.
 */
export function parseStreamEntry(item: RedisReply): { id: string; fields: Map<string, Buffer> | undefined } | string {
  if (!Array.isArray(item) || item.length !== 2) return 'not [id, fields]';
  const [idReply, list] = item;
  if (!Buffer.isBuffer(idReply)) return 'the id is not a bulk string';
  const id = idReply.toString('latin1');
  if (!isStreamId(id)) return 'not a stream id';
  if (!Array.isArray(list) || list.length % 2 !== 0) return { id, fields: undefined };
  const fields = new Map<string, Buffer>();
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const value = list[i + 1];
    if (!Buffer.isBuffer(name) || !Buffer.isBuffer(value)) return { id, fields: undefined };
    const text = name.toString('utf8');
    if (fields.has(text)) return { id, fields: undefined };
    fields.set(text, value);
  }
  return { id, fields };
}
