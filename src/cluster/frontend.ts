/**
 * A cluster frontend: this `ops-broker` process on a Redis Cluster backend (issue 15, step 2;
 * docs/cluster.md). It holds a lease (membership.ts), publishes its sessions' subscriptions to the
 * subscription directory, forwards messages to the frontends owning matching sessions through their
 * durable inboxes (forwarder.ts), routes its own inbox to its local sessions, and moves sessions
 * between frontends on takeover (session-mover.ts). It implements the engine's {@link ClusterLink}.
 */
import type { Broker } from '../broker/broker.js';
import type { ClusterEngine } from '../broker/cluster-engine.js';
import type { ClusterLink, ForwardTarget } from '../broker/cluster-link.js';
import { Message } from '../broker/message.js';
import type { RemoteSender } from '../broker/hooks.js';
import type { SharedGroup, Subscription } from '../broker/topic-tree.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Completion } from '../storage/broker-store.js';
import type { RedisClusterClient } from '../storage/redis/cluster-client.js';
import type { RedisCommand } from '../storage/redis/cluster-commands.js';
import type { RedisBrokerStore } from '../storage/redis/redis-broker-store.js';
import { Forwarder } from './forwarder.js';
import { InboxBacklog } from './inbox-backlog.js';
import { carriesSender, decodeFrame, encodeFrame, messageOf, type ForwardedItem, type InboxFrame } from './inbox-frame.js';
import { Membership } from './membership.js';
import { memberFigures, publishMemberStats, PUBLISH_MS, readMemberStats, type ClusterTotals, type MemberStats } from './member-stats.js';
import { SessionMover } from './session-mover.js';
import { readStreamInfo } from './stream-ids.js';
import { StreamTail, type StreamEntry } from './stream-tail.js';
import { SubscriptionDirectory } from './subscription-directory.js';
import { takeOver } from './takeover.js';

/** What a frontend needs. */
export interface ClusterFrontendOptions {
  /** The engine, created with `clusterMode: true` on `store`. */
  readonly broker: Broker;
  /** The backend connection the store uses too. */
  readonly client: RedisClusterClient;
  readonly store: RedisBrokerStore;
  /** This frontend's id, unique in the cluster (see `newFrontendId`). */
  readonly frontendId: string;
  readonly logger: Logger;
  /**
   * Who a client connected here is, with its port's authorization (undefined when not connected):
   * sent with a message forwarded to another frontend's in-process service, which decides for it
   * as this frontend would (the state store's key, response and notification authorization).
   */
  readonly senderOf?: (clientId: string) => RemoteSender | undefined;
}

/** What a frontend reports (`ops broker stats`). */
export interface ClusterFrontendStats {
  readonly frontendId: string;
  /** Frontends holding their lease at the last renewal, this one included. */
  readonly liveFrontends: number;
  /** Subscription directory entries (every frontend's). */
  readonly directoryEntries: number;
  /** Inbox frames sent to other frontends, and received from them. */
  readonly framesSent: number;
  readonly framesReceived: number;
  /** Forwarded messages whose target session was no longer here and went on to its new owner. */
  readonly forwardedOn: number;
  /** Forwarded messages whose target session is nowhere (ended meanwhile): dropped. */
  readonly targetsGone: number;
  /** Inbox entries that could not be read (not authentic, malformed): skipped. */
  readonly badFrames: number;
}

/** A started frontend. */
export interface ClusterFrontend {
  readonly id: string;
  stats(): ClusterFrontendStats;
  /** Every frontend's figures and the cluster's totals (`ops broker stats`). */
  members(): Promise<{ members: MemberStats[]; totals: ClusterTotals }>;
  /** Stops forwarding and tailing, gives the lease up. The client and store stay open (their owner closes them). */
  close(): Promise<void>;
}

/** A frontend's inbox stream (frontend ids are base64url: no brace). */
export function inboxKey(frontendId: string): string {
  return `ib:{f:${frontendId}}`;
}

/** The retained change stream: every retained set or clear, tailed by every frontend into its copy. */
export const RETAINED_STREAM_KEY = 'rc:{retained}';
/** The retained change stream is trimmed to about this many entries; a frontend further behind reloads. */
const RETAINED_STREAM_MAX = 10_000;

/** How long a forwarded message waits for a claim of its target in progress here before going to the end of the inbox. */
const CLAIM_WAIT_MS = 200;

/** Field of the one value of an inbox entry. */
const FRAME_FIELD = 'm';
/**
 * Longest a SUBACK waits for every live frontend to apply its subscription change (they answer in
 * about a millisecond; one that does not, slow or just started, does not hold it longer).
 */
const VISIBLE_WAIT_MS = 1000;
/** Sessions whose owner a takeover reads at once (see #rehomed), and how often it looks at the directory for one being claimed elsewhere. */
const REHOME_BATCH = 64;
const REHOME_POLL_MS = 20;

/**
 * Inbox entries read at a time (each of up to {@link OUTBOX_MAX_MESSAGES} messages): a batch is
 * delivered in one synchronous turn, so at most 256 messages, and the subscribers' PUBACKs (which
 * open their in-flight windows) are read between batches.
 */
const INBOX_READ_COUNT = 4;
/** An inbox entry gathers at most this many published messages. */
const OUTBOX_MAX_MESSAGES = 64;
/** An inbox entry is sent once its messages' payloads reach this many bytes. */
const OUTBOX_MAX_BYTES = 256 * 1024;

/** Messages published for one frontend in one turn (see `Frontend.#publishTo`). */
interface OutboxBatch {
  readonly items: ForwardedItem[];
  bytes: number;
  durable: boolean;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newOutboxBatch(): OutboxBatch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // QoS 0 publishes do not wait for it: never an unhandled rejection
  return { items: [], bytes: 0, durable: false, done, resolve, reject };
}

/** Starts the frontend: resolves once it is a member (lease held, directory loaded, inbox tailed). */
export async function startClusterFrontend(options: ClusterFrontendOptions): Promise<ClusterFrontend> {
  const frontend = new Frontend(options);
  await frontend.start();
  return frontend;
}

class Frontend implements ClusterFrontend, ClusterLink {
  readonly id: string;
  readonly #o: ClusterFrontendOptions;
  #membership: Membership | undefined;
  /** Per client, the last subscription change not yet known everywhere (see subscriptionsVisible). */
  readonly #visible = new Map<string, Promise<void>>();
  #directory: SubscriptionDirectory | undefined;
  #forwarder: Forwarder | undefined;
  #mover: SessionMover | undefined;
  #engine: ClusterEngine | undefined;
  #inbox: StreamTail | undefined;
  #retained: StreamTail | undefined;
  readonly #backlog: InboxBacklog;
  /** Messages published this turn, by the frontend they go to, not sent yet (see {@link #publishTo}). */
  readonly #outbox = new Map<string, OutboxBatch>();
  /** The last inbox XDEL (awaited at close: a clean stop leaves no done entry for the takeover). */
  #deleting: Promise<void> = Promise.resolve();
  #closed = false;
  #statsTimer: NodeJS.Timeout | undefined;
  #framesSent = 0;
  #framesReceived = 0;
  #forwardedOn = 0;
  #targetsGone = 0;
  #badFrames = 0;

  constructor(options: ClusterFrontendOptions) {
    this.#o = options;
    this.id = options.frontendId;
    this.#backlog = new InboxBacklog(options.client);
  }

  async start(): Promise<void> {
    const { client, store, logger, broker } = this.#o;
    try {
      this.#membership = await Membership.join(client, this.id, logger);
      this.#directory = await SubscriptionDirectory.start({ client, frontendId: this.id, logger, sealer: store });
      const membership = this.#membership;
      this.#forwarder = new Forwarder(
        this.#directory,
        this.id,
        // persistence.maxSize: a QoS >= 1 message (or a retained one) is refused while the backend is full (0x97, as standalone).
        (to, message, targets, durable) => (durable && store.isFull() ? store.refuseFull() : this.#publishTo(to, message, targets, durable)),
        (message) => (message.payload.length > 0 && store.isFull() ? store.refuseFull() : this.#sendRetained(message)),
      );
      this.#engine = broker.joinCluster(this);
      const from = await this.#reloadRetained();
      this.#retained = new StreamTail({
        client,
        key: RETAINED_STREAM_KEY,
        logger,
        onEntries: (entries) => this.#onRetained(entries),
        onGap: () => this.#reloadRetained(),
      });
      this.#retained.start(from);
      this.#mover = new SessionMover({
        self: this.id,
        store,
        engine: this.#engine,
        isAlive: (frontendId) => membership.isAlive(frontendId),
        send: (to, frame) => this.#send(to, frame, true),
        logger,
      });
      // An entry carries up to OUTBOX_MAX_MESSAGES messages: INBOX_READ_COUNT entries a read bound one turn's work.
      this.#inbox = new StreamTail({ client, key: inboxKey(this.id), logger, count: INBOX_READ_COUNT, onEntries: (entries) => this.#onInbox(entries) });
      this.#inbox.start('0-0');
      const publishStats = (): void => {
        void publishMemberStats(client, this.id, memberFigures(broker.stats(), Date.now())).catch(() => undefined);
      };
      publishStats();
      this.#statsTimer = setInterval(publishStats, PUBLISH_MS);
      this.#statsTimer.unref();
      membership.onGone = (gone) =>
        takeOver(
          {
            self: this.id,
            store,
            redis: client,
            engine: this.#engine as ClusterEngine,
            rehomed: (frontendId, timeoutMs) => this.#rehomed(frontendId, timeoutMs),
            removeFromDirectory: async (frontendId, timeoutMs) => {
              const directory = this.#directory as SubscriptionDirectory;
              const id = await directory.removeFrontend(frontendId);
              await directory.visibleEverywhere(id, () => membership.live, timeoutMs);
            },
            deliver: (message, targets) => this.#deliver(message, targets),
            moveShared: (clientId) => this.#moveShared(clientId),
            inboxKey,
            logger,
          },
          gone,
        ).then(() => undefined);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  stats(): ClusterFrontendStats {
    return {
      frontendId: this.id,
      liveFrontends: this.#membership?.live.size ?? 0,
      directoryEntries: this.#directory?.size ?? 0,
      framesSent: this.#framesSent,
      framesReceived: this.#framesReceived,
      forwardedOn: this.#forwardedOn,
      targetsGone: this.#targetsGone,
      badFrames: this.#badFrames,
    };
  }

  /**
   * A clean stop: every client is disconnected first (0x8B; wills go out through the cluster, clean
   * sessions end), then the tails stop and the lease is given up. The frontend stays listed: the
   * next live frontend takes its offline sessions and its inbox over (takeover.ts), as after a crash.
   */
  members(): Promise<{ members: MemberStats[]; totals: ClusterTotals }> {
    return readMemberStats(this.#o.client, this.#membership?.live ?? new Set());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#statsTimer);
    this.#engine?.disconnectClients();
    this.#closed = true;
    this.#flushOutbox();
    this.#backlog.close();
    await this.#inbox?.close().catch(() => undefined);
    await this.#deleting;
    await this.#retained?.close().catch(() => undefined);
    await this.#directory?.close().catch(() => undefined);
    await this.#membership?.leave();
  }

  // ClusterLink: publishing

  prepare(message: Message): void {
    if (!this.#closed) this.#forwarder?.prepare(message);
  }

  pickLocally(group: SharedGroup): boolean {
    return this.#forwarder?.pickLocally(group) ?? true;
  }

  forward(message: Message): { matched: number; completion: Completion } {
    return this.#forwarder?.forward(message) ?? { matched: 0, completion: undefined };
  }

  // ClusterLink: sessions

  claim(clientId: string, cleanStart: boolean): Promise<void> {
    if (this.#closed || this.#mover === undefined) return Promise.resolve();
    return this.#mover.claim(clientId, cleanStart);
  }

  connected(clientId: string, will: { readonly message: Message; readonly delaySeconds: number }): void {
    if (this.#closed) return;
    this.#directoryWrite('will', this.#o.store.putWill(clientId, { message: will.message.toRecord(), delaySeconds: will.delaySeconds }));
  }

  disconnected(clientId: string): void {
    this.#directoryWrite('will', this.#o.store.deleteWill(clientId, this.id));
  }

  subscribed(clientId: string, subscription: Subscription): void {
    const directory = this.#directory;
    if (this.#closed || directory === undefined) return;
    const write = directory.put({
      clientId,
      filter: subscription.filter,
      qos: subscription.qos,
      noLocal: subscription.noLocal,
      retainAsPublished: subscription.retainAsPublished,
      subscriptionId: subscription.subscriptionId,
    });
    this.#directoryWrite('put', write);
    // The SUBACK waits until every live frontend applied the change (or VISIBLE_WAIT_MS), so that a
    // PUBLISH anywhere after the SUBACK reaches the new subscription.
    const visible = write.then(
      (id) => directory.visibleEverywhere(id, () => this.#membership?.live ?? [], VISIBLE_WAIT_MS).then(() => undefined),
      () => undefined,
    );
    this.#visible.set(clientId, visible);
    void visible.then(() => {
      if (this.#visible.get(clientId) === visible) this.#visible.delete(clientId);
    });
  }

  /** See TakeoverContext.rehomed. */
  async #rehomed(gone: string, timeoutMs: number): Promise<void> {
    const directory = this.#directory;
    if (directory === undefined) return;
    const deadline = Date.now() + timeoutMs;
    const clients = directory.clientsOf(gone);
    for (let i = 0; i < clients.length; i += REHOME_BATCH) {
      const batch = clients.slice(i, i + REHOME_BATCH);
      const owners = await Promise.all(batch.map((clientId) => this.#o.store.sessionOwner(clientId).catch(() => undefined)));
      for (const [j, clientId] of batch.entries()) {
        const owner = owners[j];
        if (owner === undefined || owner === gone) continue; // ended, or nobody has it: nothing to route to
        // Here: its subscriptions' changes are written (and applied everywhere, bounded); elsewhere: in this view.
        if (owner === this.id) await this.#visible.get(clientId);
        while (owner !== this.id && !directory.holds(owner, clientId) && Date.now() < deadline && !this.#closed) {
          await new Promise((resolve) => setTimeout(resolve, REHOME_POLL_MS).unref());
        }
      }
    }
  }

  subscriptionsVisible(clientId: string): Promise<void> | undefined {
    return this.#visible.get(clientId);
  }

  async retainedCaughtUp(): Promise<void> {
    const tail = this.#retained;
    if (tail === undefined || this.#closed) return;
    try {
      const [reply] = await this.#o.client.exec(RETAINED_STREAM_KEY, [['XINFO', 'STREAM', RETAINED_STREAM_KEY]]);
      const info = readStreamInfo(reply ?? null);
      if (typeof info === 'string' || info === undefined) return;
      await tail.reached(info.lastGeneratedId, VISIBLE_WAIT_MS);
    } catch (error) {
      this.#o.logger.debug({ err: reasonOf(error) }, 'the retained change stream position was not read: retained messages replayed from the copy as it is');
    }
  }

  unsubscribed(clientId: string, filter: string): void {
    if (this.#closed) return;
    this.#directoryWrite('remove', this.#directory?.remove(clientId, filter));
  }

  incomingQos2Taken(clientId: string, packetId: number): Completion {
    return this.#o.store.markIncomingQos2(clientId, packetId);
  }

  incomingQos2Released(clientId: string, packetId: number): Completion {
    return this.#o.store.releaseIncomingQos2(clientId, packetId);
  }

  left(clientId: string): void {
    if (this.#closed) return;
    this.#directoryWrite('remove client', this.#directory?.removeClient(clientId));
    this.#directoryWrite('owner', this.#o.store.disownSession(clientId, this.id)); // unless it moved: then another frontend owns it
  }

  #directoryWrite(what: string, write: Promise<unknown> | undefined): void {
    write?.catch((error: unknown) => {
      if (!this.#closed) this.#o.logger.warn({ err: reasonOf(error), what }, 'subscription directory write failed');
    });
  }

  // Inboxes

  #sendMessage(to: string, message: Message, targets: readonly ForwardTarget[], durable: boolean): Promise<void> {
    const senderId = message.senderId;
    // Forwarded on (the target moved): the identity it came with; else this frontend's client's.
    const sender = senderId === undefined || !carriesSender(targets) ? undefined : (message.remoteSender ?? this.#o.senderOf?.(senderId));
    const record = message.toRecord();
    return this.#send(to, sender === undefined ? { kind: 'message', message: record, targets } : { kind: 'message', message: record, targets, sender }, durable);
  }

  /**
   * A message published here, for sessions of another frontend: gathered with the other messages
   * published for that frontend in this turn into one inbox entry (one seal, one `XADD`; at most
   * {@link OUTBOX_MAX_MESSAGES} messages or about {@link OUTBOX_MAX_BYTES} of payload an entry),
   * sent before the next I/O. Every message of the entry shares its promise: durable ones are
   * acknowledged once the entry is written and the inbox is not over its high-water mark
   * (inbox-backlog.ts: flow control). Only the publishing path is held; messages going on from an
   * inbox, and hand-over frames, never are.
   */
  #publishTo(to: string, message: Message, targets: readonly ForwardTarget[], durable: boolean): Promise<void> {
    // A message that carries its publisher's identity (to an in-process service) goes as an entry of its own, in order.
    if (message.senderId !== undefined && carriesSender(targets)) return this.#sendMessage(to, message, targets, durable);
    let batch = this.#outbox.get(to);
    if (batch === undefined) {
      if (this.#outbox.size === 0) setImmediate(() => this.#flushOutbox());
      batch = newOutboxBatch();
      this.#outbox.set(to, batch);
    }
    batch.items.push({ message: message.toRecord(), targets });
    batch.bytes += message.payload.length;
    batch.durable ||= durable;
    const done = batch.done;
    if (batch.items.length >= OUTBOX_MAX_MESSAGES || batch.bytes >= OUTBOX_MAX_BYTES) this.#flushOutboxOf(to);
    return done;
  }

  /** Sends every gathered entry (see {@link #publishTo}). */
  #flushOutbox(): void {
    for (const to of [...this.#outbox.keys()]) this.#flushOutboxOf(to);
  }

  /** Sends the entry gathered for `to`, if any: before anything else is sent there (inbox order). */
  #flushOutboxOf(to: string): void {
    const batch = this.#outbox.get(to);
    if (batch === undefined) return;
    this.#outbox.delete(to);
    const key = inboxKey(to);
    const frame: InboxFrame = batch.items.length === 1 ? { kind: 'message', ...(batch.items[0] as ForwardedItem) } : { kind: 'messages', items: batch.items };
    const sent = (async (): Promise<void> => {
      const sealed = this.#o.store.seal(key, encodeFrame(frame));
      this.#framesSent++;
      const measure = batch.durable ? this.#backlog.measureCommand(key) : undefined;
      this.#backlog.sent(key, batch.items.length);
      const add: RedisCommand = ['XADD', key, '*', FRAME_FIELD, sealed];
      if (measure === undefined) await this.#o.client.exec(key, [add], { durable: batch.durable });
      else this.#backlog.measured(key, (await this.#o.client.exec(key, [add, measure], { durable: batch.durable }))[1]);
      if (batch.durable) await this.#backlog.room(key);
    })();
    sent.then(batch.resolve, batch.reject);
  }

  async #send(to: string, frame: InboxFrame, durable: boolean): Promise<void> {
    this.#flushOutboxOf(to); // what was published for `to` before goes first
    const key = inboxKey(to);
    const sealed = this.#o.store.seal(key, encodeFrame(frame));
    this.#framesSent++;
    await this.#o.client.exec(key, [['XADD', key, '*', FRAME_FIELD, sealed]], { durable });
  }

  async #sendRetained(message: Message): Promise<void> {
    const sealed = this.#o.store.seal(RETAINED_STREAM_KEY, encodeFrame({ kind: 'retained', origin: this.id, message: message.toRecord() }));
    await this.#o.client.exec(
      RETAINED_STREAM_KEY,
      [['XADD', RETAINED_STREAM_KEY, 'MAXLEN', '~', RETAINED_STREAM_MAX, '*', FRAME_FIELD, sealed]],
      { durable: true },
    );
  }

  /**
   * Reads the retained change stream's position, then every retained message from the store into
   * this frontend's copy; the tail goes on from that position (changes in between are applied
   * again, in order: the copy ends with the latest).
   */
  async #reloadRetained(): Promise<string> {
    const [reply] = await this.#o.client.exec(RETAINED_STREAM_KEY, [['XINFO', 'STREAM', RETAINED_STREAM_KEY]]);
    const info = readStreamInfo(reply ?? null);
    if (typeof info === 'string') throw new OpsError('STO_READ_FAILED', { path: RETAINED_STREAM_KEY, reason: info });
    this.#engine?.replaceRetained(await this.#o.store.loadRetained());
    return info?.lastGeneratedId ?? '0-0';
  }

  /** Retained changes of the other frontends, in order. */
  #onRetained(entries: readonly StreamEntry[]): void {
    for (const entry of entries) {
      const frame = this.#open(RETAINED_STREAM_KEY, entry);
      if (frame === undefined) continue;
      if (frame.kind !== 'retained') {
        this.#badFrame(entry.id, `a ${frame.kind} frame on the retained stream`);
        continue;
      }
      if (frame.origin !== this.id) this.#engine?.mirrorRetained(new Message(frame.message));
    }
  }

  /** Opens and decodes an entry's frame; undefined (counted, logged) when it is not one of this cluster's. */
  #open(key: string, entry: StreamEntry): InboxFrame | undefined {
    const sealed = entry.fields.get(FRAME_FIELD);
    try {
      if (sealed === undefined) throw new Error(`no field '${FRAME_FIELD}'`);
      return decodeFrame(this.#o.store.open(key, sealed));
    } catch (error) {
      this.#badFrame(entry.id, reasonOf(error));
      return undefined;
    }
  }

  #badFrame(id: string, reason: string): void {
    this.#badFrames++;
    this.#o.logger.warn({ id, reason }, 'stream entry skipped: not a frame of this cluster');
  }

  /**
   * One batch of this frontend's inbox, in order. Each entry is done when the store writes it
   * caused are acknowledged; done entries are deleted. When one failed (the backend is failing over)
   * the batch is rejected after deleting the done ones, and the tail reads the rest again.
   */
  async #onInbox(entries: readonly StreamEntry[]): Promise<void> {
    const key = inboxKey(this.id);
    // Message frames are delivered in order (each delivery's enqueue is synchronous) and their
    // store writes awaited together: the batch costs one group commit, not one per entry. A
    // hand-over frame waits for every delivery before it, and the ones after it wait for it.
    // One promise per store batch (several deliveries share their batch's): `ends[i]` is the number of
    // results once entry i was handled, so entry i is done when every result before `ends[i]` is.
    const results: Promise<void>[] = [];
    const ends: number[] = [];
    const add = (pending: Promise<void>): void => {
      if (results[results.length - 1] !== pending) results.push(pending);
    };
    for (const entry of entries) {
      const frame = this.#open(key, entry);
      if (frame !== undefined) {
        this.#framesReceived++;
        if (frame.kind === 'message') {
          const pending = this.#deliverNow(messageOf(frame), frame.targets);
          if (pending) add(pending);
        } else if (frame.kind === 'messages') {
          for (const item of frame.items) {
            const pending = this.#deliverNow(new Message(item.message), item.targets);
            if (pending) add(pending);
          }
        } else {
          const before = await Promise.allSettled(results);
          if (before.some((r) => r.status === 'rejected')) break;
          const handled = this.#handleControl(entry.id, frame);
          add(handled);
          if (!(await handled.then(() => true, () => false))) break;
        }
      }
      ends.push(results.length);
    }
    const settled = await Promise.allSettled(results);
    const rejected = settled.findIndex((r) => r.status === 'rejected');
    const failed = rejected < 0 ? undefined : settled[rejected];
    const failure: unknown = failed !== undefined && failed.status === 'rejected' ? failed.reason : undefined;
    const limit = rejected < 0 ? results.length : rejected;
    let done = 0;
    while (done < ends.length && (ends[done] as number) <= limit) done++;
    // Not awaited: the tail reads on from its last id whatever is deleted, so the next XREAD need not
    // wait for this round trip. An entry whose XDEL fails stays (read again only by a takeover: a duplicate).
    if (done > 0) {
      const ids: string[] = new Array<string>(done);
      for (let i = 0; i < done; i++) ids[i] = (entries[i] as StreamEntry).id;
      this.#deleting = this.#o.client.exec(key, [['XDEL', key, ...ids]]).then(
        () => undefined,
        (error: unknown) => {
          if (!this.#closed) this.#o.logger.warn({ err: reasonOf(error) }, 'inbox entries not deleted (a takeover would deliver them again)');
        },
      );
    }
    if (failure !== undefined || done < entries.length) {
      this.#o.logger.warn({ err: reasonOf(failure) }, 'inbox entry not done (store writes not acknowledged); reading it again');
      throw failure ?? new Error('inbox batch not done');
    }
  }

  /** A hand-over frame of the inbox. */
  async #handleControl(id: string, frame: InboxFrame): Promise<void> {
    const mover = this.#mover;
    if (mover === undefined) return;
    switch (frame.kind) {
      case 'release':
        await mover.onRelease(frame);
        return;
      case 'released':
        await mover.onReleased(frame);
        return;
      case 'retained':
      case 'message':
      case 'messages':
        this.#badFrame(id, `a ${frame.kind} frame handled as a hand-over`);
        return;
    }
  }

  /**
   * Gives a session's shared-group deliveries to other members: one connected here, else one on
   * another frontend, else back to the session (no other member anywhere).
   */
  async #moveShared(clientId: string): Promise<void> {
    const engine = this.#engine;
    const forwarder = this.#forwarder;
    if (engine === undefined || forwarder === undefined) return;
    const { completion, unplaced } = engine.moveShared(clientId);
    const writes: Promise<void>[] = completion === undefined ? [] : [completion];
    for (const delivery of unplaced) {
      const ref = delivery.group ?? delivery.restoredGroup;
      const member = ref === undefined ? undefined : forwarder.pickRemoteMember(delivery.message.topic, ref.name, ref.topicFilter);
      if (ref !== undefined && member !== undefined) {
        writes.push(this.#sendMessage(member.owner, delivery.message, [{ clientId: member.clientId, group: ref.name, topicFilter: ref.topicFilter }], true));
        continue;
      }
      const back = engine.requeue(clientId, delivery);
      if (back !== false && back !== undefined) writes.push(back);
    }
    await Promise.all(writes);
  }

  /**
   * Where a forwarded message goes for a target that is not here: its owner's inbox (the owner key,
   * not the directory: the new owner's subscriptions may not have reached this view yet); this
   * frontend's own inbox again when the target is being claimed here and not loaded within
   * {@link CLAIM_WAIT_MS} (it then comes after the previous owner's answer the claim waits for);
   * undefined when it was delivered meanwhile, or its session is nowhere (counted: dropped).
   */
  async #ownerFor(target: ForwardTarget, message: Message, writes: Promise<void>[]): Promise<string | undefined> {
    const owner = await this.#o.store.sessionOwner(target.clientId);
    if (owner !== undefined && owner !== this.id) return owner;
    const claim = owner === this.id ? this.#mover?.claiming(target.clientId) : undefined;
    if (claim === undefined) {
      this.#targetsGone++;
      return undefined;
    }
    await Promise.race([claim, new Promise((resolve) => setTimeout(resolve, CLAIM_WAIT_MS).unref())]);
    const engine = this.#engine;
    if (engine?.has(target.clientId) === true) {
      const again = engine.deliverForwarded(message, [target]);
      if (again.completion !== undefined) writes.push(again.completion);
      if (again.missing.length === 0) return undefined;
    }
    if (this.#mover?.claiming(target.clientId) !== undefined) return this.id;
    this.#targetsGone++;
    return undefined;
  }

  /** Delivers a forwarded message here; targets no longer here go on to their owner's inbox. */
  async #deliver(message: Message, targets: readonly ForwardTarget[]): Promise<void> {
    await this.#deliverNow(message, targets);
  }

  /** {@link #deliver} without a promise of its own when every target is here (the inbox's common case). */
  #deliverNow(message: Message, targets: readonly ForwardTarget[]): Completion {
    const engine = this.#engine;
    if (engine === undefined) return undefined;
    const { completion, missing } = engine.deliverForwarded(message, targets);
    return missing.length === 0 ? completion : this.#sendOn(message, missing, completion);
  }

  /** Sends the targets no longer here on to their owners' inboxes (see {@link #ownerFor}). */
  async #sendOn(message: Message, missing: readonly ForwardTarget[], completion: Completion): Promise<void> {
    const writes: Promise<void>[] = [];
    if (completion !== undefined) writes.push(completion);
    const onward = new Map<string, ForwardTarget[]>();
    for (const target of missing) {
      const owner = await this.#ownerFor(target, message, writes);
      if (owner === undefined) continue;
      let list = onward.get(owner);
      if (list === undefined) onward.set(owner, (list = []));
      list.push(target);
    }
    for (const [owner, list] of onward) {
      this.#forwardedOn += list.length;
      writes.push(this.#sendMessage(owner, message, list, message.qos > 0));
    }
    await Promise.all(writes);
  }
}
