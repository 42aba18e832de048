/**
 * The cluster's subscription directory (docs/cluster.md, "Subscription directory"): every frontend
 * keeps the whole directory (one entry per owner frontend, client id and filter) in memory, loaded at
 * start from the frontends' hashes `sd:{f:<id>}` and kept current by tailing the change stream
 * `sc:{subs}`. A frontend writes only its own entries: the hash first, then (in one exec on the
 * stream's slot) `SADD sf:{subs}` and the `XADD` of the change, both durable. A frontend that fell
 * behind the stream's trimming rebuilds from the hashes. Changes are idempotent, so the overlap of a
 * load and the tail is harmless. Bounded: the view holds what is in Redis, and the tail hands over one
 * batch at a time (no queue of pending changes).
 */
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RedisCommand, RedisReply } from '../storage/redis/cluster-commands.js';
import type { RedisClusterClient } from '../storage/redis/cluster-client.js';
import { checkReplies, scanPage } from '../storage/redis/redis-replies.js';
import {
  CHANGE_STREAM_KEY,
  decodeChange,
  decodeEntry,
  decodeField,
  decodeOptions,
  directoryHashKey,
  encodeChange,
  encodeEntry,
  encodeField,
  encodeOptions,
  FRONTEND_SET_KEY,
  isFrontendId,
  type DirectoryChange,
  type DirectoryOptions,
  type DirectorySealer,
} from './directory-codec.js';
import { DirectoryView, type DirectoryEntry } from './directory-view.js';
import { ConditionWaiters } from './condition-waiters.js';
import { compareStreamIds, readStreamInfo } from './stream-ids.js';
import { StreamTail, type StreamEntry } from './stream-tail.js';

export type { DirectoryEntry } from './directory-view.js';

/** What a directory needs. */
export interface SubscriptionDirectoryOptions {
  readonly client: RedisClusterClient;
  /** This frontend's id (base64url, see newFrontendId). */
  readonly frontendId: string;
  readonly logger: Logger;
  /** The change stream is trimmed to about this many entries (`XADD MAXLEN ~`); default 100,000. */
  readonly streamMaxLength?: number | undefined;
  /** The tail's `XREAD BLOCK` in ms (default 1000): how soon a trimmed-past reader notices at worst. */
  readonly blockMs?: number | undefined;
  /**
   * Hides client ids and filters from Redis (keyed-hash fields, sealed values: the store, when it is
   * encrypted). Every frontend of a cluster must use the same (the store's key); absent: JSON.
   */
  readonly sealer?: DirectorySealer | undefined;
}

/** Items per SSCAN/HSCAN page: no reply is unbounded. */
const SCAN_PAGE = 512;

/** See the file's comment. Open it with {@link SubscriptionDirectory.start}. */
export class SubscriptionDirectory {
  private view: DirectoryView;
  private readonly tail: StreamTail;
  private readonly self: string;
  private readonly ownKey: string;
  private readonly maxLength: number;
  /** Per client id, the chain of its pending Redis writes (so a client's changes reach Redis in call order). */
  private readonly chains = new Map<string, Promise<unknown>>();
  private rebuildCount = 0;
  /** Per other frontend, the stream id up to which it said it applied the changes (its acks). */
  private readonly applied = new Map<string, string>();
  /** SUBSCRIBEs waiting until every live frontend applied their change (see {@link visibleEverywhere}). */
  private readonly waiters = new ConditionWaiters();
  /** Set by the first load (at start). */
  private started = false;
  private closed = false;

  private constructor(private readonly options: SubscriptionDirectoryOptions) {
    this.self = options.frontendId;
    this.ownKey = directoryHashKey(options.frontendId);
    this.maxLength = options.streamMaxLength ?? 100_000;
    if (!(Number.isInteger(this.maxLength) && this.maxLength > 0)) throw new RangeError('streamMaxLength must be a positive integer');
    this.view = new DirectoryView(this.self);
    this.tail = new StreamTail({
      client: options.client,
      key: CHANGE_STREAM_KEY,
      logger: options.logger,
      blockMs: options.blockMs,
      onEntries: (entries) => this.applyEntries(entries),
      onGap: async () => {
        this.options.logger.warn({ frontendId: this.self }, 'the subscription directory fell behind the change stream; rebuilding from the hashes');
        return this.rebuild();
      },
    });
  }

  /** Loads the whole directory, then tails its changes. Rejects (STO_READ_FAILED or the client's error) when the load fails. */
  static async start(options: SubscriptionDirectoryOptions): Promise<SubscriptionDirectory> {
    const directory = new SubscriptionDirectory(options);
    const from = await directory.rebuild();
    directory.tail.start(from);
    return directory;
  }

  /** Entries in the view, this frontend's included. */
  get size(): number {
    return this.view.size;
  }

  /** Times the view was rebuilt after falling behind (the start's load not counted). */
  get rebuilds(): number {
    return this.rebuildCount;
  }

  /** Trie nodes of the matching index (for tests of the bound). */
  get indexNodes(): number {
    return this.view.indexNodes;
  }

  /**
   * This frontend's session subscribed: the view has it at once, and the call resolves once the
   * hash and the change are durable (WAIT). A rejection means other frontends may not know it (the
   * view keeps it: call again to retry; a put is idempotent).
   */
  async put(entry: Omit<DirectoryEntry, 'owner'>): Promise<string> {
    this.checkOpen();
    const options = { qos: entry.qos, noLocal: entry.noLocal, retainAsPublished: entry.retainAsPublished, subscriptionId: entry.subscriptionId };
    this.view.put({ clientId: entry.clientId, owner: this.self, filter: entry.filter, ...options });
    const field = this.fieldOf(entry.clientId, entry.filter);
    const value = this.valueOf(entry.clientId, entry.filter, options);
    const change: DirectoryChange = { op: 'put', owner: this.self, clientId: entry.clientId, filter: entry.filter, options };
    return this.serial(entry.clientId, () => this.write([['HSET', this.ownKey, field, value]], change));
  }

  /** This frontend's session unsubscribed from `filter` (as subscribed). */
  async remove(clientId: string, filter: string): Promise<void> {
    this.checkOpen();
    this.view.delete(this.self, clientId, filter);
    const field = this.fieldOf(clientId, filter);
    await this.serial(clientId, () => this.write([['HDEL', this.ownKey, field]], { op: 'del', owner: this.self, clientId, filter }));
  }

  /** This frontend no longer owns the client's session (it moved away or ended): all its entries go. */
  async removeClient(clientId: string): Promise<void> {
    this.checkOpen();
    const removed = this.view.deleteClient(this.self, clientId);
    const fields = removed.map((entry) => this.fieldOf(entry.clientId, entry.filter));
    await this.serial(clientId, () => this.write(fields.length === 0 ? [] : [['HDEL', this.ownKey, ...fields]], { op: 'delc', owner: this.self, clientId }));
  }

  /** The client ids `owner` holds entries of in the view. */
  clientsOf(owner: string): string[] {
    return this.view.clientsOf(owner);
  }

  /** Whether the view holds an entry of the client from `owner`. */
  holds(owner: string, clientId: string): boolean {
    return this.view.holds(owner, clientId);
  }

  /**
   * Every entry of `frontendId` goes (a dead frontend's duties taken over); resolves with the
   * change's stream id (see {@link visibleEverywhere}). RangeError for an id that is not base64url.
   */
  async removeFrontend(frontendId: string): Promise<string> {
    this.checkOpen();
    const key = directoryHashKey(frontendId);
    this.view.deleteOwner(frontendId);
    await this.options.client.exec(key, [['DEL', key]], { durable: true });
    const replies = await this.options.client.exec(
      CHANGE_STREAM_KEY,
      [['SREM', FRONTEND_SET_KEY, frontendId], this.xadd({ op: 'delf', owner: frontendId })],
      { durable: true },
    );
    this.check(replies, 2, 'removing a frontend from the subscription directory');
    const id = replies[1];
    return Buffer.isBuffer(id) ? id.toString('latin1') : '0-0';
  }

  /**
   * Remote entries only (owner is not this frontend) matching `topic`: plain ones, one call each (a
   * client may come up more than once, with several filters), and shared groups that have at least
   * one remote member, with all their members cluster-wide (this frontend's included; a group with
   * only local members is the local engine's). `members` must not be kept or changed.
   */
  match(topic: string, onEntry: (e: DirectoryEntry) => void, onGroup: (group: string, topicFilter: string, members: readonly DirectoryEntry[]) => void): void {
    this.view.match(topic, onEntry, onGroup);
  }

  /** The frontend owning the client's session in the directory's view (the latest put when two hold entries), undefined when none. */
  ownerOf(clientId: string): string | undefined {
    return this.view.ownerOf(clientId);
  }

  /** Stops tailing; waits for the writes in flight. The client stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.close();
    await this.tail.close();
    await Promise.allSettled([...this.chains.values()]);
  }

  /** The hash field of (client id, filter) in this frontend's hash: JSON, or its keyed hash when sealed. */
  private fieldOf(clientId: string, filter: string): Buffer {
    const field = encodeField(clientId, filter);
    return this.options.sealer === undefined ? field : this.options.sealer.fieldId(field.toString('utf8'));
  }

  /** The hash value: the options as JSON, or the whole entry sealed (the field is a hash then). */
  private valueOf(clientId: string, filter: string, options: DirectoryOptions): Buffer {
    const sealer = this.options.sealer;
    return sealer === undefined ? encodeOptions(options) : sealer.seal(this.ownKey, encodeEntry(clientId, filter, options));
  }

  private checkOpen(): void {
    if (this.closed) throw new OpsError('STO_WRITE_FAILED', { path: 'subscription directory', reason: 'the directory is closed' });
  }

  /** Runs `write` after the client's earlier writes (whatever their outcome). */
  private serial<T>(clientId: string, write: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(clientId);
    const next = (previous === undefined ? write() : previous.then(write, write)).finally(() => {
      if (this.chains.get(clientId) === chained) this.chains.delete(clientId);
    });
    const chained = next.catch(() => undefined);
    this.chains.set(clientId, chained);
    return next;
  }

  /** The hash commands (own slot), then SADD and the change's XADD (the stream's slot), both durable; resolves with the change's stream id. */
  private async write(hashCommands: RedisCommand[], change: DirectoryChange): Promise<string> {
    if (hashCommands.length > 0) {
      const replies = await this.options.client.exec(this.ownKey, hashCommands, { durable: true });
      this.check(replies, hashCommands.length, 'writing the subscription directory');
    }
    const replies = await this.options.client.exec(CHANGE_STREAM_KEY, [['SADD', FRONTEND_SET_KEY, this.self], this.xadd(change)], { durable: true });
    this.check(replies, 2, 'writing the subscription change stream');
    const id = replies[1];
    return Buffer.isBuffer(id) ? id.toString('latin1') : '0-0';
  }

  /**
   * Resolves once every frontend `others()` names (the live ones; this one is skipped) said it
   * applied the change stream up to `id` (true), or after `timeoutMs` (false: a frontend that is
   * slow, or joined after the change and loaded it from the hashes, does not hold a SUBACK longer).
   */
  visibleEverywhere(id: string, others: () => Iterable<string>, timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return this.waiters.wait(() => this.appliedEverywhere(id, others), timeoutMs);
  }

  private appliedEverywhere(id: string, others: () => Iterable<string>): boolean {
    for (const frontend of others()) {
      if (frontend === this.self) continue;
      const upTo = this.applied.get(frontend);
      if (upTo === undefined || compareStreamIds(upTo, id) < 0) return false;
    }
    return true;
  }

  /** Tells the other frontends this one applied the stream up to `upTo` (not durable: a lost ack only lets a SUBACK wait for its timeout). */
  private ack(upTo: string): void {
    if (this.closed) return;
    this.options.client.exec(CHANGE_STREAM_KEY, [this.xadd({ op: 'ack', owner: this.self, upTo })]).catch((error: unknown) => {
      this.options.logger.debug({ err: reasonOf(error) }, 'a subscription change ack was not written');
    });
  }

  private xadd(change: DirectoryChange): RedisCommand {
    return ['XADD', CHANGE_STREAM_KEY, 'MAXLEN', '~', this.maxLength, '*', ...encodeChange(change, this.options.sealer)];
  }

  private check(replies: RedisReply[], count: number, what: string): void {
    try {
      checkReplies(replies, count, what);
    } catch (error) {
      throw new OpsError('STO_WRITE_FAILED', { path: 'subscription directory', reason: reasonOf(error) }, { cause: error });
    }
  }

  /** Applies a batch of the stream: other frontends' changes (own ones are in the view already); a malformed one is logged and skipped. */
  private applyEntries(entries: readonly StreamEntry[]): void {
    let foreign: string | undefined;
    let acked = false;
    for (const entry of entries) {
      const change = decodeChange(entry, this.options.sealer);
      if (typeof change === 'string') {
        this.options.logger.warn({ stream: CHANGE_STREAM_KEY, id: entry.id, reason: change }, 'a malformed subscription change was skipped');
        continue;
      }
      if (change.owner === this.self) continue;
      if (change.op === 'ack') {
        const before = this.applied.get(change.owner);
        if (before === undefined || compareStreamIds(before, change.upTo) < 0) this.applied.set(change.owner, change.upTo);
        acked = true;
        continue;
      }
      foreign = entry.id;
      switch (change.op) {
        case 'put':
          this.view.put({ clientId: change.clientId, owner: change.owner, filter: change.filter, ...change.options });
          break;
        case 'del':
          this.view.delete(change.owner, change.clientId, change.filter);
          break;
        case 'delc':
          this.view.deleteClient(change.owner, change.clientId);
          break;
        case 'delf':
          this.view.deleteOwner(change.owner);
          this.applied.delete(change.owner);
          break;
      }
    }
    if (foreign !== undefined) this.ack(foreign);
    if (acked && this.waiters.size > 0) this.waiters.settle();
  }

  /**
   * Loads the whole directory into a new view and swaps it in; resolves with the stream id to tail
   * from (the stream's last id, read before the hashes: a change after it is in the tail, one before
   * it is in the hashes). This frontend's own entries are kept from the current view (they are the
   * truth; the hash may lag behind writes in flight), except at start, when they come from the hash.
   */
  private async rebuild(): Promise<string> {
    const starting = !this.started;
    const first = await this.read(CHANGE_STREAM_KEY, [
      ['XINFO', 'STREAM', CHANGE_STREAM_KEY],
      ['SSCAN', FRONTEND_SET_KEY, '0', 'COUNT', SCAN_PAGE],
    ]);
    const info = readStreamInfo(first[0] ?? null);
    if (typeof info === 'string') throw readFailed(`XINFO STREAM ${CHANGE_STREAM_KEY}: ${info}`);
    const from = info?.lastGeneratedId ?? '0-0';
    const frontends = new Set<string>();
    let page = this.scan(first[1], 'SSCAN');
    for (;;) {
      for (const item of page.items) {
        const id = item.toString('latin1');
        if (isFrontendId(id)) frontends.add(id);
        else this.options.logger.warn({ key: FRONTEND_SET_KEY }, 'a malformed frontend id in the directory was skipped');
      }
      if (page.cursor === '0') break;
      const [reply] = await this.read(CHANGE_STREAM_KEY, [['SSCAN', FRONTEND_SET_KEY, page.cursor, 'COUNT', SCAN_PAGE]]);
      page = this.scan(reply, 'SSCAN');
    }
    const view = new DirectoryView(this.self);
    for (const frontend of frontends) {
      if (frontend === this.self && !starting) continue;
      await this.loadHash(frontend, view);
    }
    if (!starting) for (const entry of this.view.entriesOf(this.self)) view.put(entry);
    this.view = view;
    if (this.started) this.rebuildCount++;
    this.started = true;
    return from;
  }

  /** Adds the entries of frontend `owner`'s hash to `view` (HSCAN pages; a malformed entry is logged and skipped). */
  private async loadHash(owner: string, view: DirectoryView): Promise<void> {
    const key = directoryHashKey(owner);
    let cursor = '0';
    do {
      const [reply] = await this.read(key, [['HSCAN', key, cursor, 'COUNT', SCAN_PAGE]]);
      const page = this.scan(reply, 'HSCAN');
      if (page.items.length % 2 !== 0) throw readFailed(`HSCAN ${key}: an odd number of items`);
      for (let i = 0; i + 1 < page.items.length; i += 2) {
        const entry = this.readEntry(key, page.items[i] ?? Buffer.alloc(0), page.items[i + 1] ?? Buffer.alloc(0));
        if (typeof entry === 'string') {
          this.options.logger.warn({ key, reason: entry }, 'a malformed subscription directory entry was skipped');
          continue;
        }
        view.put({ clientId: entry.clientId, owner, filter: entry.filter, ...entry.options });
      }
      cursor = page.cursor;
    } while (cursor !== '0');
  }

  /** One hash entry of `key`: field and options as JSON, or (sealed) the whole entry in the sealed value; a reason string when malformed or not authentic. */
  private readEntry(key: string, fieldBytes: Buffer, valueBytes: Buffer): { clientId: string; filter: string; options: DirectoryOptions } | string {
    const sealer = this.options.sealer;
    if (sealer !== undefined) {
      let opened: Buffer;
      try {
        opened = sealer.open(key, valueBytes);
      } catch {
        return 'the value is not authentic';
      }
      const entry = decodeEntry(opened);
      if (typeof entry === 'string') return entry;
      // The field must be this entry's: a value moved under another field would not be deleted with it.
      return sealer.fieldId(encodeField(entry.clientId, entry.filter).toString('utf8')).equals(fieldBytes) ? entry : 'the field is not the entry\'s';
    }
    const field = decodeField(fieldBytes);
    if (typeof field === 'string') return field;
    const options = decodeOptions(valueBytes);
    if (typeof options === 'string') return options;
    return { ...field, options };
  }

  private async read(slotKey: string, commands: RedisCommand[]): Promise<RedisReply[]> {
    const replies = await this.options.client.exec(slotKey, commands);
    if (replies.length !== commands.length) throw readFailed(`${replies.length} replies to ${commands.length} commands`);
    return replies;
  }

  private scan(reply: RedisReply | undefined, what: string): { cursor: string; items: Buffer[] } {
    try {
      return scanPage(reply, what);
    } catch (error) {
      throw readFailed(reasonOf(error));
    }
  }
}

function readFailed(reason: string): OpsError {
  return new OpsError('STO_READ_FAILED', { path: 'subscription directory', reason });
}
