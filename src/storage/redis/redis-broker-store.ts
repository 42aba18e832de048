import { OpsError, reasonOf } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { BrokerStore, MessageRecord, QueueEntryRecord, SessionRecord, StateStoreKeyRecord, StoreUsage, WillRecord } from '../broker-store.js';
import { closedWrite, corruptRecord, failed, openFailed, readFailed, refusedWrite, writeFailed } from '../store-errors.js';
import { BackendUsage } from './backend-usage.js';
import type { RedisClusterCommands, RedisCommand, RedisReply } from './cluster-commands.js';
import { decodeWill, encodeWill } from './will-codec.js';
import { prepareRedisFormat } from './redis-format.js';
import { BUCKETS, bucketOf, CLIENT_TAG, clientTag, incomingQos2Key, ownedKey, ownerKey, willKey, parseSeqField, queueKey, retainedKey, seqField, sessionIndexKey, sessionKey, stateStoreKey, valueAad } from './redis-keys.js';
import { decodeQueueEntry, decodeRetained, decodeSession, decodeStateStoreKey, encodeQueueEntry, encodeRetained, encodeSession, encodeStateStoreKey } from '../record-codec.js';
import type { ValueCipher } from '../value-cipher.js';
import { bulkOrNull, checkReplies, RedisReplyError, scanPage } from './redis-replies.js';

/** Options of {@link RedisBrokerStore.open}. */
export interface RedisBrokerStoreOptions {
  /** The cluster (the store owns it: {@link RedisBrokerStore.close} closes it). */
  readonly commands: RedisClusterCommands;
  /** What errors name as the store's path: the backend, e.g. `redis://h1:7001,h2:7002`. */
  readonly name: string;
  /** 32-byte AES-256-GCM key; absent: encryption Disabled. Must match what the store was created with. */
  readonly encryptionKey?: Buffer;
  /**
   * `persistence.maxSize` in bytes, enforced on the backend's data (backend-usage.ts): absent, no
   * limit (the size is still read, for stats).
   */
  readonly maxSizeBytes?: number | undefined;
  /** Interval between two reads of the backend's size, in ms (default 250). */
  readonly usageRefreshMs?: number | undefined;
  /** Where a failed read of the backend's size is logged. */
  readonly logger?: Logger | undefined;
}

/** Deletes the owner key when it still names ARGV[1] (compare and delete, atomic). */
const DISOWN_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/** KEYS: owner, will; ARGV: frontend. Deletes the will when the owner is still that frontend. */
const DELETE_WILL_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[2]) end return 0";
/**
 * KEYS: owner, session, will; ARGV: dead, self. When the owner is still the dead frontend: with
 * neither session record nor will there is nothing to take over (the owner key goes, `{}` is
 * returned); else the owner becomes self, the will is deleted, and `{session or false, will or
 * false}` is returned. nil when the session moved on.
 */
const TAKE_OVER_SCRIPT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return nil end
local session = redis.call('GET', KEYS[2])
local will = redis.call('GET', KEYS[3])
if not session and not will then
  redis.call('DEL', KEYS[1])
  return {}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[3])
return {session, will}`;

/** Client tags kept (about 100 bytes each plus the id). */
const TAG_CACHE_SIZE = 10_000;

/** Items asked of Redis per `SSCAN`/`HSCAN` page. */
const SCAN_COUNT = 512;
/** Sessions read at once while loading (one `GET` each, pipelined by the client). */
const LOAD_CONCURRENCY = 256;

/**
 * Durable {@link BrokerStore} on a Redis Cluster, through {@link RedisClusterCommands} only. Keys
 * follow redis-keys.ts (hash tags: one operation, one slot); values are the records of
 * ../record-codec.ts sealed by the value cipher (../value-cipher.ts: a format byte, and with a key
 * AES-256-GCM with the Redis key and field as AAD; client ids, topics and state-store keys then
 * appear in key names and fields only as keyed hashes, so Redis' AOF/RDB hold no plaintext). Every write
 * is `durable`: its completion resolves once the master has it and `WAIT` confirmed it on the
 * configured replicas; anything else (connection lost, error reply, WAIT short) rejects it with
 * STO_WRITE_FAILED, i.e. "not acknowledged". Reads reject with STO_READ_FAILED, malformed values
 * with STO_CORRUPT_RECORD (never returned as data).
 *
 * Order: each call issues its commands synchronously, and the client keeps the issue order per
 * master, so a later write or read of the same key sees an earlier one (read-your-writes).
 *
 * A session is two writes in two slots (its record with its queue, and its bucket's index entry),
 * issued together: a failure between them leaves an index entry without a record (skipped at load)
 * or, after a failed delete, a record no longer indexed (not loaded). Neither was acknowledged.
 */
export class RedisBrokerStore implements BrokerStore {
  readonly durable = true;
  /** The backend, as named in errors. */
  readonly path: string;
  readonly #client: RedisClusterCommands;
  readonly #cipher: ValueCipher;
  /** Queue writes of this turn, by queue key, not issued yet (see {@link #queueWrite}). */
  readonly #batches = new Map<string, QueueBatch>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Client id -> its tag (see {@link #tag}), at most {@link TAG_CACHE_SIZE}. */
  readonly #tags = new Map<string, string>();
  readonly #usage: BackendUsage;
  /** Writes refused with STO_QUOTA_EXCEEDED since the store was opened. */
  #refused = 0;
  #closed = false;

  private constructor(options: RedisBrokerStoreOptions, cipher: ValueCipher, usage: BackendUsage) {
    this.#client = options.commands;
    this.path = options.name;
    this.#cipher = cipher;
    this.#usage = usage;
  }

  /**
   * The backend, for issuing a command: the queue writes gathered this turn are issued first, so
   * every command goes out in call order (read-your-writes, and a session's delete after its
   * queue's writes).
   */
  get #redis(): RedisClusterCommands {
    if (this.#batches.size > 0) this.#issueBatches();
    return this.#client;
  }

  /** `AES-256-GCM` or `Disabled`. */
  get encryption(): ValueCipher['mode'] {
    return this.#cipher.mode;
  }

  /**
   * Opens the store on a cluster: STO_OPEN_FAILED when no master answers or the format is not
   * ours, STO_WRONG_KEY when the encryption key is missing, unexpected or wrong (redis-format.ts).
   */
  static async open(options: RedisBrokerStoreOptions): Promise<RedisBrokerStore> {
    try {
      const replies = await options.commands.execOnMasters(['PING']);
      checkReplies(replies, replies.length, 'PING');
      if (replies.length === 0) throw new Error('the cluster has no master');
      const cipher = await prepareRedisFormat(options.commands, options.name, options.encryptionKey);
      const usage = new BackendUsage({ commands: options.commands, limitBytes: options.maxSizeBytes, refreshMs: options.usageRefreshMs, logger: options.logger });
      await usage.refresh(); // the figure is right from the first message on
      return new RedisBrokerStore(options, cipher, usage);
    } catch (error) {
      await options.commands.close().catch(() => undefined);
      // The format's own verdicts stand; the backend's errors (unreachable, not acknowledged) are STO_OPEN_FAILED.
      if (error instanceof OpsError && (error.code === 'STO_WRONG_KEY' || error.code === 'STO_OPEN_FAILED')) throw error;
      throw openFailed(options.name, reasonOf(error), error);
    }
  }

  /**
   * The backend's size against `persistence.maxSize` (backend-usage.ts): `usedBytes` is the
   * masters' `used_memory_dataset` at the last read plus what this frontend wrote since, `records`
   * the keys at the last read.
   */
  usage(): StoreUsage {
    const limit = this.#usage.limitBytes;
    return { usedBytes: this.#usage.usedBytes, ...(limit !== undefined ? { limitBytes: limit } : {}), full: this.#usage.full, refusedWrites: this.#refused, records: this.#usage.keys };
  }

  /** Whether messages that need the backend are refused now: two numbers compared, no call to Redis. */
  isFull(): boolean {
    return this.#usage.full;
  }

  /** Reads the backend's size now (it is read on a timer anyway): for tests and stats that must be current. */
  refreshUsage(): Promise<void> {
    return this.#usage.refresh();
  }

  /**
   * STO_QUOTA_EXCEEDED for a write refused because the backend is full (counted in
   * `usage().refusedWrites`), as a rejected promise: a frontend refusing to forward a message.
   */
  refuseFull(): Promise<void> {
    this.#refused++;
    return failed(new OpsError('STO_QUOTA_EXCEEDED', { used: this.#usage.usedBytes, limit: this.#usage.limitBytes ?? 0 }));
  }

  /** The tag of a client's keys (see {@link clientTag}: of its UTF-8 bytes, or of their keyed hash when encrypted). */
  #tag(clientId: string): string {
    // A keyed hash per call was 7.7% of a receiving frontend's CPU: the tags of recent ids are kept.
    let tag = this.#tags.get(clientId);
    if (tag === undefined) {
      tag = clientTag(this.#cipher.id(clientId));
      if (this.#tags.size >= TAG_CACHE_SIZE) this.#tags.clear(); // bounded: hostile ids cannot grow it
      this.#tags.set(clientId, tag);
    }
    return tag;
  }

  /** The session index set of a client. */
  #indexKey(clientId: string): string {
    return sessionIndexKey(bucketOf(this.#cipher.id(clientId)));
  }

  /** A topic's field in the retained hashes. */
  #topicField(topic: string): Buffer {
    return this.#cipher.mode === 'Disabled' ? Buffer.from(topic, 'utf8') : this.#cipher.id(topic);
  }

  /** A state-store key's field (a copy of its bytes, or their keyed hash). */
  #stateStoreField(key: Buffer): Buffer {
    // latin1 maps bytes to distinct strings, so the keyed hash input is unique per key (as in the level store).
    return this.#cipher.mode === 'Disabled' ? Buffer.from(key) : this.#cipher.id(key.toString('latin1'));
  }

  // Sessions

  async loadSessions(): Promise<SessionRecord[]> {
    return this.#read(async () => {
      const sessions: SessionRecord[] = [];
      for (const ids of await this.#everyBucket((n) => this.#scanSet(sessionIndexKey(n)))) {
        for (let i = 0; i < ids.length; i += LOAD_CONCURRENCY) {
          const page = await Promise.all(ids.slice(i, i + LOAD_CONCURRENCY).map((id) => this.#loadSession(id)));
          for (const session of page) if (session !== undefined) sessions.push(session);
        }
      }
      return sessions;
    });
  }

  async #loadSession(member: Buffer): Promise<SessionRecord | undefined> {
    const encoded = member.toString('latin1');
    if (!CLIENT_TAG.test(encoded)) throw corruptRecord(this.path, 'session index', 'an index entry is not a client tag');
    const key = sessionKey(encoded);
    const [reply] = await this.#redis.exec(key, [['GET', key]]);
    const value = bulkOrNull(reply, 'GET session');
    if (value === null) return undefined; // indexed, then deleted or never written: not a session
    const session = this.#decode(`session ${key}`, () => decodeSession(this.#cipher.open(valueAad(key), value)));
    if (this.#tag(session.clientId) !== encoded) throw corruptRecord(this.path, `session ${key}`, 'the record is of another client id');
    return session;
  }

  saveSession(record: SessionRecord): Promise<void> {
    const enc = this.#tag(record.clientId);
    const key = sessionKey(enc);
    const index = this.#indexKey(record.clientId);
    return this.#prepared(() => this.#cipher.seal(valueAad(key), encodeSession(record)), (value) =>
      Promise.all([this.#write(index, [['SADD', index, enc]]), this.#write(key, [['SET', key, value]])]),
    );
  }

  deleteSession(clientId: string): Promise<void> {
    const enc = this.#tag(clientId);
    const key = sessionKey(enc);
    const index = this.#indexKey(clientId);
    return this.#prepared(() => undefined, () =>
      Promise.all([this.#write(key, [['DEL', key, queueKey(enc), incomingQos2Key(enc)]]), this.#write(index, [['SREM', index, enc]])]),
    );
  }

  // Cluster mode (src/cluster/): one session at a time, its owner frontend, sealed values of the frontends

  /** The stored session of one client (a session moving to this frontend); undefined when there is none. */
  async loadSession(clientId: string): Promise<SessionRecord | undefined> {
    return this.#read(() => this.#loadSession(Buffer.from(this.#tag(clientId), 'latin1')));
  }

  /**
   * Makes `frontendId` the owner of the client's session (`SET o:{c:<id>} <frontend> GET`, atomic)
   * and lists it in the frontend's owned set `fo:{f:<frontend>}`, both durable; resolves with the
   * previous owner, undefined when there was none. STO_WRITE_FAILED when not acknowledged.
   */
  async claimSession(clientId: string, frontendId: string): Promise<string | undefined> {
    if (this.#closed) throw writeFailed(this.path, 'the store is closed');
    const tag = this.#tag(clientId);
    const key = ownerKey(tag);
    const owned = ownedKey(frontendId);
    try {
      const [[reply]] = await Promise.all([
        this.#redis.exec(key, [['SET', key, frontendId, 'GET']], { durable: true }),
        this.#redis.exec(owned, [['SADD', owned, tag]], { durable: true }),
      ]);
      const previous = bulkOrNull(reply, 'SET owner');
      return previous === null ? undefined : previous.toString('latin1');
    } catch (error) {
      throw writeFailed(this.path, reasonOf(error), error);
    }
  }

  /**
   * Forgets `frontendId`'s ownership of the client's session (it ended or moved away): the owner key
   * goes unless another frontend claimed it since, and the entry of the frontend's owned set goes.
   */
  disownSession(clientId: string, frontendId: string): Promise<void> {
    const tag = this.#tag(clientId);
    const key = ownerKey(tag);
    const owned = ownedKey(frontendId);
    return this.#prepared(() => undefined, () =>
      Promise.all([this.#write(key, [['EVAL', DISOWN_SCRIPT, 1, key, frontendId]]), this.#write(owned, [['SREM', owned, tag]])]),
    );
  }

  /**
   * Stores that the client's inbound QoS 2 packet id is taken (`SADD i2:{c:<id>}`, durable): written
   * before its PUBREC, so the frontend the session moves to knows it [MQTT-4.3.3-10].
   */
  markIncomingQos2(clientId: string, packetId: number): Promise<void> {
    const key = incomingQos2Key(this.#tag(clientId));
    return this.#prepared(() => packetIdMember(packetId), (member) => this.#write(key, [['SADD', key, member]]));
  }

  /** Forgets an inbound QoS 2 packet id (PUBREL, or a refusing PUBREC): `SREM`, durable. */
  releaseIncomingQos2(clientId: string, packetId: number): Promise<void> {
    const key = incomingQos2Key(this.#tag(clientId));
    return this.#prepared(() => packetIdMember(packetId), (member) => this.#write(key, [['SREM', key, member]]));
  }

  /**
   * The client's inbound QoS 2 packet ids taken and not released (a session moving here), ascending;
   * a member that is not a packet id (1-65535 in decimal) is STO_CORRUPT_RECORD.
   */
  async loadIncomingQos2(clientId: string): Promise<number[]> {
    const key = incomingQos2Key(this.#tag(clientId));
    return this.#read(async () => {
      const ids: number[] = [];
      for (const member of await this.#scanSet(key)) {
        const text = member.toString('latin1');
        const id = /^[1-9]\d{0,4}$/.test(text) ? Number(text) : 0;
        if (!(id >= 1 && id <= 65535)) throw corruptRecord(this.path, `inbound QoS 2 packet ids ${key}`, 'a member is not a packet id');
        ids.push(id);
      }
      return ids.sort((a, b) => a - b);
    });
  }

  /** Stores the will of a client connected to a frontend (`w:{c:<id>}`): survivors publish it if that frontend dies. */
  putWill(clientId: string, will: WillRecord): Promise<void> {
    const key = willKey(this.#tag(clientId));
    return this.#prepared(() => this.#cipher.seal(valueAad(key), encodeWill(clientId, will)), (value) => this.#write(key, [['SET', key, value]]));
  }

  /**
   * Deletes the stored will of a client whose connection to `frontendId` closed (that frontend took
   * care of the will), unless another frontend owns the session by now (its connection's will stays).
   */
  deleteWill(clientId: string, frontendId: string): Promise<void> {
    const tag = this.#tag(clientId);
    const key = willKey(tag);
    return this.#prepared(() => undefined, () => this.#write(key, [['EVAL', DELETE_WILL_SCRIPT, 2, ownerKey(tag), key, frontendId]]));
  }

  /** The client tags in `frontendId`'s owned set (SSCAN pages). */
  async ownedSessions(frontendId: string): Promise<string[]> {
    const members = await this.#read(() => this.#scanSet(ownedKey(frontendId)));
    return members.map((m) => m.toString('latin1')).filter((tag) => CLIENT_TAG.test(tag));
  }

  /**
   * Takes over one session of a dead frontend: when `o:{c:<tag>}` still names `dead`, it becomes
   * `self` (one script, atomic, durable) and the session record and stored will are returned (the
   * will is deleted: it is now `self`'s to publish); undefined when the session moved on meanwhile
   * (its client reconnected elsewhere). The tag joins `self`'s owned set.
   */
  async takeOverSession(tag: string, dead: string, self: string): Promise<{ record?: SessionRecord; will?: { clientId: string; will: WillRecord } } | undefined> {
    if (!CLIENT_TAG.test(tag)) return undefined;
    const key = ownerKey(tag);
    const sKey = sessionKey(tag);
    const wKey = willKey(tag);
    const owned = ownedKey(self);
    let reply: RedisReply | undefined;
    try {
      [reply] = await this.#redis.exec(key, [['EVAL', TAKE_OVER_SCRIPT, 3, key, sKey, wKey, dead, self]], { durable: true });
      if (Array.isArray(reply) && reply.length > 0) await this.#redis.exec(owned, [['SADD', owned, tag]], { durable: true });
    } catch (error) {
      throw writeFailed(this.path, reasonOf(error), error);
    }
    if (!Array.isArray(reply)) return undefined;
    const [recordBytes, willBytes] = reply;
    const record = Buffer.isBuffer(recordBytes) ? this.#decode(`session ${sKey}`, () => decodeSession(this.#cipher.open(valueAad(sKey), recordBytes))) : undefined;
    const will = Buffer.isBuffer(willBytes) ? this.#decode(`will ${wKey}`, () => decodeWill(this.#cipher.open(valueAad(wKey), willBytes))) : undefined;
    if (record !== undefined && this.#tag(record.clientId) !== tag) throw corruptRecord(this.path, `session ${sKey}`, 'the record is of another client id');
    if (will !== undefined && this.#tag(will.clientId) !== tag) throw corruptRecord(this.path, `will ${wKey}`, 'the will is of another client id');
    return { ...(record !== undefined ? { record } : {}), ...(will !== undefined ? { will } : {}) };
  }

  /** Deletes a dead frontend's owned set (its sessions were all taken over). */
  forgetOwner(frontendId: string): Promise<void> {
    const owned = ownedKey(frontendId);
    return this.#prepared(() => undefined, () => this.#write(owned, [['DEL', owned]]));
  }

  /** The frontend owning the client's session (see {@link claimSession}); undefined when none does. */
  async sessionOwner(clientId: string): Promise<string | undefined> {
    const key = ownerKey(this.#tag(clientId));
    return this.#read(async () => {
      const [reply] = await this.#redis.exec(key, [['GET', key]]);
      const owner = bulkOrNull(reply, 'GET owner');
      return owner === null ? undefined : owner.toString('latin1');
    });
  }

  /**
   * Resolves once every write this store issued before for the client's session and queue is done
   * on the master and confirmed by `WAIT` (the client keeps the issue order per master): a frontend
   * handing a session over waits for it before the new owner reads the session.
   */
  async sessionBarrier(clientId: string): Promise<void> {
    const key = sessionKey(this.#tag(clientId));
    if (this.#closed) return closedWrite(this.path);
    return this.#write(key, [['EXISTS', key]]);
  }

  /** Seals a value the frontends keep under `key` (an inbox entry): AES-256-GCM with a key, so Redis holds no plaintext. */
  seal(key: string, plain: Buffer): Buffer {
    return this.#cipher.seal(valueAad(key), plain);
  }

  /** A keyed hash of `text` (HMAC-SHA256 with the store's key), or its UTF-8 bytes when the store is not encrypted: for field names that must not show client ids or filters. */
  fieldId(text: string): Buffer {
    return this.#cipher.mode === 'Disabled' ? Buffer.from(text, 'utf8') : this.#cipher.id(text);
  }

  /** Opens a value sealed by {@link seal} under `key`; STO_CORRUPT_RECORD when it is not authentic or malformed. */
  open(key: string, sealed: Buffer): Buffer {
    return this.#decode(`value of ${key}`, () => this.#cipher.open(valueAad(key), sealed));
  }

  // Queues

  async loadQueue(clientId: string): Promise<QueueEntryRecord[]> {
    const key = queueKey(this.#tag(clientId));
    return this.#read(async () => {
      const entries: QueueEntryRecord[] = [];
      for (const [field, value] of await this.#scanHash(key)) {
        const seq = parseSeqField(field);
        const entry = this.#decode(`queue entry ${key}`, () => decodeQueueEntry(this.#cipher.open(valueAad(key, field), value)));
        if (seq === undefined || entry.seq !== seq) throw corruptRecord(this.path, `queue entry ${key}`, 'the field is not the entry\'s seq');
        entries.push(entry);
      }
      return entries.sort((a, b) => a.seq - b.seq);
    });
  }

  putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): Promise<void> {
    const key = queueKey(this.#tag(clientId));
    if (this.#closed) return closedWrite(this.path);
    const words: (string | Buffer)[] = [];
    let grows = 0;
    try {
      for (const entry of entries) {
        if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) throw new RangeError(`queue entry seq ${entry.seq} is not a non-negative safe integer`);
        const field = seqField(entry.seq);
        const value = this.#cipher.seal(valueAad(key, field), encodeQueueEntry(entry));
        words.push(field, value);
        grows += value.length;
      }
    } catch (error) {
      return refusedWrite(this.path, error);
    }
    // Not refused when full: the engine asks isFull() before it queues a message, and an entry
    // written here is one already admitted (a forwarded message PUBACKed by its frontend, an in-flight mark).
    return words.length === 0 ? Promise.resolve() : this.#queueWrite(key, 'HSET', words, grows);
  }

  deleteQueueEntries(clientId: string, seqs: readonly number[]): Promise<void> {
    const key = queueKey(this.#tag(clientId));
    if (this.#closed) return closedWrite(this.path);
    return seqs.length === 0 ? Promise.resolve() : this.#queueWrite(key, 'HDEL', seqs.map(seqField));
  }

  /**
   * A queue write, gathered with the other queue writes of this turn (until the next microtask, or
   * the next other command of this store): one `exec` per queue key, consecutive writes of one kind
   * merged into one `HSET` / `HDEL`, in call order. Every write of a batch shares its promise (as
   * the level store's writes of one batch do): one durable write per session and turn, not one per
   * message (an inbox batch delivers up to 256 messages in one turn).
   */
  #queueWrite(key: string, kind: 'HSET' | 'HDEL', words: readonly (string | Buffer)[], grows = 0): Promise<void> {
    let batch = this.#batches.get(key);
    if (batch === undefined) {
      if (this.#batches.size === 0) queueMicrotask(() => this.#issueBatches());
      batch = newQueueBatch(key);
      this.#batches.set(key, batch);
      const done = batch.done;
      this.#pending.add(done);
      const settle = (): void => {
        this.#pending.delete(done);
      };
      done.then(settle, settle);
      done.catch(() => undefined); // reported to whoever awaits; never an unhandled rejection
    }
    batch.grows += grows;
    const last = batch.commands[batch.commands.length - 1];
    if (last !== undefined && last[0] === kind && last.length + words.length <= MAX_BATCH_WORDS) last.push(...words);
    else batch.commands.push([kind, key, ...words]);
    return batch.done;
  }

  /** Issues the gathered queue writes (see {@link #queueWrite}). */
  #issueBatches(): void {
    if (this.#batches.size === 0) return;
    const batches = [...this.#batches.values()];
    this.#batches.clear();
    for (const batch of batches) {
      this.#client.exec(batch.key, batch.commands, { durable: true }).then(
        (replies) => {
          try {
            checkReplies(replies, batch.commands.length, String(batch.commands[0]?.[0]));
            if (batch.grows > 0) this.#usage.wrote(batch.grows);
            batch.resolve();
          } catch (error) {
            batch.reject(writeFailed(this.path, reasonOf(error), error));
          }
        },
        (error: unknown) => batch.reject(writeFailed(this.path, reasonOf(error), error)),
      );
    }
  }

  // Retained messages

  loadRetained(): Promise<MessageRecord[]> {
    return this.#loadBucketed(retainedKey, 'retained message', decodeRetained, (message) => this.#topicField(message.topic), 'topic');
  }

  putRetained(message: MessageRecord): Promise<void> {
    const field = this.#topicField(message.topic);
    const key = retainedKey(bucketOf(field));
    if (this.#usage.full) return this.refuseFull(); // as the level store: a retained message is data
    return this.#prepared(() => this.#cipher.seal(valueAad(key, field), encodeRetained(message)), (value) => this.#write(key, [['HSET', key, field, value]], value.length));
  }

  deleteRetained(topic: string): Promise<void> {
    const field = this.#topicField(topic);
    const key = retainedKey(bucketOf(field));
    return this.#prepared(() => undefined, () => this.#write(key, [['HDEL', key, field]]));
  }

  // State-store keys

  loadStateStoreKeys(): Promise<StateStoreKeyRecord[]> {
    return this.#loadBucketed(stateStoreKey, 'state-store key', decodeStateStoreKey, (record) => this.#stateStoreField(record.key), 'key');
  }

  putStateStoreKey(record: StateStoreKeyRecord): Promise<void> {
    const field = this.#stateStoreField(record.key);
    const key = stateStoreKey(bucketOf(field));
    if (this.#usage.full) return this.refuseFull(); // as the level store: a state-store key is data
    return this.#prepared(() => this.#cipher.seal(valueAad(key, field), encodeStateStoreKey(record)), (value) => this.#write(key, [['HSET', key, field, value]], value.length));
  }

  deleteStateStoreKey(keyBytes: Buffer): Promise<void> {
    const field = this.#stateStoreField(keyBytes);
    const key = stateStoreKey(bucketOf(field));
    return this.#prepared(() => undefined, () => this.#write(key, [['HDEL', key, field]]));
  }

  /** Waits for the writes in flight, then closes the cluster client. Further writes reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#usage.close();
    this.#issueBatches();
    await Promise.allSettled([...this.#pending]);
    await this.#client.close();
  }

  // Plumbing

  /**
   * Every record of a bucketed hash kind (retained messages, state-store keys): each value opened
   * under its key and field, decoded, and checked to be stored under its own field (a record moved
   * to another field is STO_CORRUPT_RECORD, naming `what` and the `owner` it is of).
   */
  #loadBucketed<T>(keyOf: (bucket: number) => string, what: string, decode: (bytes: Buffer) => T, fieldOf: (record: T) => Buffer, owner: string): Promise<T[]> {
    return this.#read(async () => {
      const records: T[] = [];
      const buckets = await this.#everyBucket((n) => this.#scanHash(keyOf(n)));
      for (const [n, rows] of buckets.entries()) {
        const key = keyOf(n);
        for (const [field, value] of rows) {
          const record = this.#decode(`${what} ${key}`, () => decode(this.#cipher.open(valueAad(key, field), value)));
          if (!fieldOf(record).equals(field)) throw corruptRecord(this.path, `${what} ${key}`, `the record is of another ${owner}`);
          records.push(record);
        }
      }
      return records;
    });
  }

  /**
   * A write: `prepare` runs now (the caller's record is encoded before this returns, so changing
   * it afterwards changes nothing), `issue` sends the commands now. Closed store, a record that
   * cannot be encoded, or a failed write: STO_WRITE_FAILED.
   */
  #prepared<T>(prepare: () => T, issue: (prepared: T) => Promise<unknown>): Promise<void> {
    if (this.#closed) return closedWrite(this.path);
    let prepared: T;
    try {
      prepared = prepare();
    } catch (error) {
      return refusedWrite(this.path, error);
    }
    const write = issue(prepared).then(() => undefined);
    this.#pending.add(write);
    const settle = (): void => {
      this.#pending.delete(write);
    };
    write.then(settle, settle);
    write.catch(() => undefined); // reported to whoever awaits; never an unhandled rejection
    return write;
  }

  /**
   * Runs `commands` in the slot of `slotKey`, durable; rejects with STO_WRITE_FAILED unless every
   * reply is a success. `grows`: the bytes it adds to the backend, counted once it is done (so the
   * figure moves between two reads of the masters' size).
   */
  async #write(slotKey: string, commands: readonly RedisCommand[], grows = 0): Promise<void> {
    try {
      const replies = await this.#redis.exec(slotKey, commands, { durable: true });
      checkReplies(replies, commands.length, String(commands[0]?.[0]));
    } catch (error) {
      throw writeFailed(this.path, reasonOf(error), error);
    }
    if (grows > 0) this.#usage.wrote(grows);
  }

  /** Runs a load; any error but a damaged record (the backend's included) becomes STO_READ_FAILED. */
  async #read<T>(load: () => Promise<T>): Promise<T> {
    try {
      if (this.#closed) throw readFailed(this.path, 'the store is closed');
      return await load();
    } catch (error) {
      if (error instanceof OpsError && (error.code === 'STO_CORRUPT_RECORD' || error.code === 'STO_READ_FAILED')) throw error;
      throw readFailed(this.path, reasonOf(error), error);
    }
  }

  /** Decodes a value; STO_CORRUPT_RECORD when it is malformed. */
  #decode<T>(record: string, decode: () => T): T {
    try {
      return decode();
    } catch (error) {
      throw corruptRecord(this.path, record, reasonOf(error), error);
    }
  }

  /** `scan` of every bucket, all at once (the client pipelines them per master); results by bucket. */
  #everyBucket<T>(scan: (n: number) => Promise<T>): Promise<T[]> {
    return Promise.all(Array.from({ length: BUCKETS }, (_, n) => scan(n)));
  }

  /** Every member of a set (`SSCAN`), by cursor pages. */
  async #scanSet(key: string): Promise<Buffer[]> {
    const seen = new Map<string, Buffer>();
    let cursor = '0';
    do {
      const [reply] = await this.#redis.exec(key, [['SSCAN', key, cursor, 'COUNT', SCAN_COUNT]]);
      const page = scanPage(reply, 'SSCAN');
      for (const item of page.items) seen.set(item.toString('latin1'), item);
      cursor = page.cursor;
    } while (cursor !== '0');
    return [...seen.values()];
  }

  /** Every field and value of a hash (`HSCAN`), by cursor pages; a field returned twice counts once. */
  async #scanHash(key: string): Promise<[Buffer, Buffer][]> {
    const seen = new Map<string, [Buffer, Buffer]>();
    let cursor = '0';
    do {
      const [reply] = await this.#redis.exec(key, [['HSCAN', key, cursor, 'COUNT', SCAN_COUNT]]);
      const page = scanPage(reply, 'HSCAN');
      if (page.items.length % 2 !== 0) throw new RedisReplyError('HSCAN: an odd number of items');
      for (let i = 0; i < page.items.length; i += 2) {
        const field = page.items[i] as Buffer;
        seen.set(field.toString('latin1'), [field, page.items[i + 1] as Buffer]);
      }
      cursor = page.cursor;
    } while (cursor !== '0');
    return [...seen.values()];
  }
}

/** A packet id as a set member (decimal); RangeError for anything but 1-65535. */
function packetIdMember(packetId: number): string {
  if (!Number.isInteger(packetId) || packetId < 1 || packetId > 65535) throw new RangeError(`packet id ${packetId} is not 1-65535`);
  return String(packetId);
}

/** Queue writes of one key in one turn (see `RedisBrokerStore.#queueWrite`). */
interface QueueBatch {
  readonly key: string;
  readonly commands: (string | Buffer)[][];
  readonly done: Promise<void>;
  /** Bytes its writes add to the backend (counted into the usage once written). */
  grows: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** A merged `HSET` / `HDEL` grows to at most this many words; the next write starts another command. */
const MAX_BATCH_WORDS = 2048;

function newQueueBatch(key: string): QueueBatch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { key, commands: [], done, resolve, reject, grows: 0 };
}
