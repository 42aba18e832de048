/**
 * The cluster config channel (issue 15: runtime changes reach every frontend live; docs/cluster.md).
 * The cluster's shared runtime settings (config/shared-runtime.ts) are kept whole, with a revision,
 * in the hash `cfg:{config}` (`rev`, `state`: the sealed {@link ConfigRevision}); each publication
 * also appends the same sealed revision to the change stream `cfgc:{config}` (`MAXLEN ~`), which
 * every frontend tails. Both keys share a slot, and one Lua script writes them: it takes revision
 * `base + 1` only when the hash is still at `base` (compare and set), so revisions are a total order
 * and a frontend that changes settings always changes the latest ones (a stale one gets the newer
 * revision to apply first, and redoes its change on top). Writes are durable (`WAIT`). The channel
 * only carries revisions; applying them (and not publishing them again) is the runtime's work.
 */
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { SharedRuntime } from '../config/shared-runtime.js';
import { RedisErrorReply, type RedisReply } from '../storage/redis/cluster-commands.js';
import type { RedisClusterClient } from '../storage/redis/cluster-client.js';
import { decodeConfigRevision, encodeConfigRevision, type ConfigRevision } from './config-codec.js';
import { readStreamInfo } from './stream-ids.js';
import { StreamTail, type StreamEntry } from './stream-tail.js';

/** The hash holding the latest revision (`rev`: its number, `state`: the sealed revision). */
export const CONFIG_KEY = 'cfg:{config}';
/** The change stream of revisions (same slot as {@link CONFIG_KEY}). */
export const CONFIG_STREAM_KEY = 'cfgc:{config}';
/** The change stream is trimmed to about this many entries; a frontend further behind reads the hash. */
const CONFIG_STREAM_MAX = 100;
/** Field of the sealed revision, in the hash and in stream entries. */
const STATE_FIELD = 's';

/**
 * KEYS: hash, stream. ARGV: base revision, sealed revision `base + 1`, stream bound. Returns
 * `{1, rev}` when written, `{0, current}` when the hash is no longer at `base`.
 */
const PUBLISH_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0') or 0
if current ~= tonumber(ARGV[1]) then return {0, current} end
local rev = current + 1
redis.call('HSET', KEYS[1], 'rev', rev, '${STATE_FIELD}', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', '${STATE_FIELD}', ARGV[2])
return {1, rev}
`;

/** What seals the revisions (the store's cipher: AES-256-GCM when encryption is on). */
export interface ConfigSealer {
  seal(key: string, plain: Buffer): Buffer;
  open(key: string, sealed: Buffer): Buffer;
}

/** What a {@link ConfigSync} needs. */
export interface ConfigSyncOptions {
  readonly client: RedisClusterClient;
  readonly sealer: ConfigSealer;
  readonly frontendId: string;
  readonly logger: Logger;
  /**
   * Called with the newest revision of each batch of the stream (and with the hash's after a gap),
   * one at a time; the receiver ignores a revision it is already at or past. A rejection is logged
   * (the revision is not read again: a later one replaces it).
   */
  readonly onRevision: (revision: ConfigRevision) => Promise<void>;
}

/** The channel's figures (stats). */
export interface ConfigSyncStats {
  readonly published: number;
  /** Revisions handed to the runtime from the stream or the hash. */
  readonly received: number;
  /** Revisions the runtime refused (logged). */
  readonly refused: number;
  /** Entries that were not a revision of this cluster (not authentic, malformed): skipped. */
  readonly badEntries: number;
}

/** An opened channel: the cluster's latest revision at open, and the channel to start. */
export interface OpenedConfigSync {
  readonly sync: ConfigSync;
  /** Undefined when no frontend published settings yet. */
  readonly latest: ConfigRevision | undefined;
}

/** The config channel of one frontend. */
export class ConfigSync {
  #tail: StreamTail | undefined;
  #closed = false;
  #published = 0;
  #received = 0;
  #refused = 0;
  #badEntries = 0;

  private constructor(
    private readonly o: ConfigSyncOptions,
    private readonly from: string,
  ) {}

  /** Reads the stream's position and the latest revision; {@link start} tails from that position. */
  static async open(options: ConfigSyncOptions): Promise<OpenedConfigSync> {
    const probe = new ConfigSync(options, '0-0');
    const { position, latest } = await probe.#read();
    return { sync: new ConfigSync(options, position), latest };
  }

  /** Starts tailing the change stream (after the receiver applied {@link OpenedConfigSync.latest}). */
  start(): void {
    const { client, logger } = this.o;
    this.#tail = new StreamTail({
      client,
      key: CONFIG_STREAM_KEY,
      logger,
      onEntries: (entries) => this.#onEntries(entries),
      onGap: async () => {
        const { position, latest } = await this.#read();
        if (latest !== undefined) await this.#hand(latest);
        return position;
      },
    });
    this.#tail.start(this.from);
  }

  stats(): ConfigSyncStats {
    return { published: this.#published, received: this.#received, refused: this.#refused, badEntries: this.#badEntries };
  }

  /** The cluster's latest revision, undefined when none was published. */
  async latest(): Promise<ConfigRevision | undefined> {
    return (await this.#read()).latest;
  }

  /**
   * Publishes `shared` as revision `base + 1`, durably: the new revision, or undefined when the
   * cluster is already past `base` (read {@link latest}, apply it, and redo the change on it).
   */
  async publish(base: number, shared: SharedRuntime): Promise<number | undefined> {
    if (this.#closed) throw new OpsError('STO_WRITE_FAILED', { path: CONFIG_KEY, reason: 'the frontend is leaving the cluster' });
    const sealed = this.o.sealer.seal(CONFIG_KEY, encodeConfigRevision({ rev: base + 1, origin: this.o.frontendId, shared }));
    const [reply] = await this.o.client.exec(
      CONFIG_KEY,
      [['EVAL', PUBLISH_SCRIPT, 2, CONFIG_KEY, CONFIG_STREAM_KEY, base, sealed, CONFIG_STREAM_MAX]],
      { durable: true },
    );
    const result = readPublishReply(reply ?? null);
    if (typeof result === 'string') throw new OpsError('STO_WRITE_FAILED', { path: CONFIG_KEY, reason: result });
    if (!result.written) return undefined;
    this.#published++;
    return result.rev;
  }

  /** Stops tailing. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail?.close();
  }

  /** The stream's last id and the hash's revision, in one pipeline (the hash is at least as new as the position). */
  async #read(): Promise<{ position: string; latest: ConfigRevision | undefined }> {
    const [info, state] = await this.o.client.exec(CONFIG_KEY, [
      ['XINFO', 'STREAM', CONFIG_STREAM_KEY],
      ['HGET', CONFIG_KEY, STATE_FIELD],
    ]);
    const stream = readStreamInfo(info ?? null);
    if (typeof stream === 'string') throw new OpsError('STO_READ_FAILED', { path: CONFIG_STREAM_KEY, reason: stream });
    if (state instanceof RedisErrorReply) throw new OpsError('STO_READ_FAILED', { path: CONFIG_KEY, reason: state.message });
    if (state !== null && state !== undefined && !Buffer.isBuffer(state)) throw new OpsError('STO_READ_FAILED', { path: CONFIG_KEY, reason: 'not a string' });
    // A hash that is not a revision of this cluster cannot be skipped like a stream entry: refuse.
    const latest = Buffer.isBuffer(state) ? this.#decode(state, (reason) => new OpsError('STO_CORRUPT_RECORD', { path: CONFIG_KEY, record: 'cluster config', reason })) : undefined;
    return { position: stream?.lastGeneratedId ?? '0-0', latest };
  }

  #decode(sealed: Buffer, fail: (reason: string) => Error): ConfigRevision {
    try {
      return decodeConfigRevision(this.o.sealer.open(CONFIG_KEY, sealed));
    } catch (error) {
      throw fail(reasonOf(error));
    }
  }

  /** A batch of revisions: only the newest matters (each is whole). */
  async #onEntries(entries: readonly StreamEntry[]): Promise<void> {
    let newest: ConfigRevision | undefined;
    for (const entry of entries) {
      const sealed = entry.fields.get(STATE_FIELD);
      try {
        if (sealed === undefined) throw new Error(`no field '${STATE_FIELD}'`);
        const revision = this.#decode(sealed, (reason) => new Error(reason));
        if (newest === undefined || revision.rev > newest.rev) newest = revision;
      } catch (error) {
        this.#badEntries++;
        this.o.logger.warn({ id: entry.id, reason: reasonOf(error) }, 'cluster config entry skipped: not a revision of this cluster');
      }
    }
    if (newest !== undefined) await this.#hand(newest);
  }

  async #hand(revision: ConfigRevision): Promise<void> {
    this.#received++;
    try {
      await this.o.onRevision(revision);
    } catch (error) {
      this.#refused++;
      this.o.logger.error({ rev: revision.rev, origin: revision.origin, err: reasonOf(error) }, 'cluster config revision not applied on this frontend');
    }
  }
}

/** Reads the script's reply. */
function readPublishReply(reply: RedisReply): { written: boolean; rev: number } | string {
  if (reply instanceof RedisErrorReply) return `error reply: ${reply.message}`;
  if (!Array.isArray(reply) || reply.length !== 2) return 'not a two-item array';
  const [written, rev] = reply;
  if ((written !== 0 && written !== 1) || typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0) return 'not a publication result';
  return { written: written === 1, rev };
}
