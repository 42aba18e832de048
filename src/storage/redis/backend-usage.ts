/**
 * `persistence.maxSize` on a Redis Cluster backend: the cluster-wide size of the data, read from
 * every master on a timer, so that `isFull()` (asked for every message that needs the store) is a
 * comparison of two numbers.
 *
 * The figure is each master's `used_memory_dataset` (`INFO memory`: the memory Redis uses for keys
 * and values, i.e. `used_memory` without its own overhead: start-up memory, replication backlog,
 * client and AOF buffers), summed over the masters (replicas hold copies: the limit is on the data,
 * not on rf times it). Why this and not a byte counter kept by our writes (`INCRBY` in the write
 * scripts): it counts everything the broker keeps in Redis (queues, sessions, owners, wills,
 * retained and state-store hashes, inboxes, the subscription directory, the change streams), as
 * Redis really stores it, at no cost on the write path; a counter must be in the written key's
 * slot (one per hash tag, so no cluster-wide sum without a scan), needs a script reading the old
 * size on every `HSET` that replaces a field and a sum of the whole hash on every `DEL` of a
 * queue, and drifts from what Redis holds (a write applied whose reply was lost).
 *
 * Between two reads, the bytes of the values this frontend wrote since the last read was sent are
 * added to the figure, so one frontend cannot overshoot by more than what the other frontends write
 * in one interval.
 */
import { reasonOf } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { RedisClusterCommands, RedisReply } from './cluster-commands.js';

/** Default interval between two reads of the masters' figures, in ms. */
export const DEFAULT_USAGE_REFRESH_MS = 250;

/** The longest `INFO` reply read, in bytes (a hostile node cannot make us scan more). */
const MAX_INFO_BYTES = 64 * 1024;

/** The `used_memory_dataset` of one `INFO memory` reply; undefined when it is not there or not a number. */
export function datasetBytesOf(reply: RedisReply): number | undefined {
  if (!Buffer.isBuffer(reply)) return undefined;
  const text = reply.subarray(0, MAX_INFO_BYTES).toString('latin1');
  const match = /(?:^|\r?\n)used_memory_dataset:(\d{1,16})\r?(?:\n|$)/.exec(text);
  if (match === null) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** What {@link BackendUsage} needs. */
export interface BackendUsageOptions {
  readonly commands: Pick<RedisClusterCommands, 'execOnMasters'>;
  /** `persistence.maxSize` in bytes; absent: no limit (the figure is still read, for stats). */
  readonly limitBytes?: number | undefined;
  /** Interval between two reads in ms; default {@link DEFAULT_USAGE_REFRESH_MS}. */
  readonly refreshMs?: number | undefined;
  /** Where a failed read is logged (at most once until a read succeeds again). */
  readonly logger?: Logger | undefined;
}

/** The backend's size against the limit; see the file's comment. */
export class BackendUsage {
  readonly limitBytes: number | undefined;
  readonly #commands: Pick<RedisClusterCommands, 'execOnMasters'>;
  readonly #logger: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  /** Sum of the masters' `used_memory_dataset` at the last successful read. */
  #datasetBytes = 0;
  /** Keys of every master at the last successful read. */
  #keys = 0;
  /** Bytes this frontend wrote since the read in flight (or the last one) was sent. */
  #written = 0;
  /** {@link #written} when the read in flight was sent. */
  #writtenAtSend = 0;
  #reading: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: BackendUsageOptions) {
    const limit = options.limitBytes;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit <= 0)) throw new RangeError(`maxSizeBytes must be a positive integer, got ${limit}`);
    this.limitBytes = limit;
    this.#commands = options.commands;
    this.#logger = options.logger;
    const refreshMs = options.refreshMs ?? DEFAULT_USAGE_REFRESH_MS;
    if (!(refreshMs > 0)) throw new RangeError(`usageRefreshMs must be > 0, got ${refreshMs}`);
    this.#timer = setInterval(() => void this.refresh(), refreshMs);
    this.#timer.unref();
  }

  /** The figure's bytes: the masters' data at the last read, plus this frontend's writes since. */
  get usedBytes(): number {
    return this.#datasetBytes + this.#written;
  }

  /** Keys in the backend at the last read. */
  get keys(): number {
    return this.#keys;
  }

  /** True when a limit is set and the figure reached it: messages that need the store are refused. */
  get full(): boolean {
    const limit = this.limitBytes;
    return limit !== undefined && this.#datasetBytes + this.#written >= limit;
  }

  /** Counts `bytes` written by this frontend (until the next read includes them). */
  wrote(bytes: number): void {
    this.#written += bytes;
  }

  /** Reads every master's figure now (one read at a time: a call during one waits for it). Never rejects. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** Stops the timer. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #read(): Promise<void> {
    this.#writtenAtSend = this.#written;
    try {
      const [memory, sizes] = await Promise.all([this.#commands.execOnMasters(['INFO', 'memory']), this.#commands.execOnMasters(['DBSIZE'])]);
      let dataset = 0;
      for (const reply of memory) {
        const bytes = datasetBytesOf(reply);
        if (bytes === undefined) throw new Error('an INFO memory reply has no used_memory_dataset');
        dataset += bytes;
      }
      let keys = 0;
      for (const reply of sizes) if (typeof reply === 'number' && reply >= 0) keys += reply;
      this.#datasetBytes = dataset;
      this.#keys = keys;
      // What was written after the read was sent is not in its figure yet.
      this.#written = Math.max(0, this.#written - this.#writtenAtSend);
      if (this.#failing) this.#logger?.info({}, 'backend usage read again');
      this.#failing = false;
    } catch (error) {
      // The last figure stands (plus what this frontend writes meanwhile).
      if (!this.#failing) this.#logger?.warn({ err: reasonOf(error) }, 'backend usage could not be read; the last figure is used');
      this.#failing = true;
    }
  }
}
