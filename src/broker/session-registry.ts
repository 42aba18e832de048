import type { UserProperty } from '../protocol/user-properties.js';
import { parseSharedFilter, topicMatches } from '../shared/topic.js';
import type { QueueEntryRecord, SessionRecord, SubscriptionRecord } from '../storage/broker-store.js';
import { watchCompletion } from './completion.js';
import { Message } from './message.js';
import type { Router } from './router.js';
import { Session } from './session.js';
import type { DeliveryChannel, SessionContext } from './session-context.js';
import type { Subscription, TopicTree } from './topic-tree.js';

/** A will message and its delay [MQTT-3.1.3-9]. */
export interface Will {
  readonly message: Message;
  readonly delaySeconds: number;
}

/** A connection as the registry sees it: it can be taken over. */
export interface SessionOwner extends DeliveryChannel {
  /** Closes the connection because another one took its session [MQTT-3.1.4-3]. */
  takeOver(): void;
}

/** The result of opening a session on CONNECT. */
export interface OpenedSession {
  readonly session: Session;
  /** CONNACK Session Present [MQTT-3.2.2-2] [MQTT-3.2.2-3]. */
  readonly present: boolean;
  /** Filters of the resumed session that the current authorization no longer allows: removed. */
  readonly revoked: readonly string[];
}

/** What a CONNECT asks of {@link SessionRegistry.open}. */
export interface OpenRequest {
  readonly clientId: string;
  readonly cleanStart: boolean;
  readonly expirySeconds: number;
  readonly version: 4 | 5;
  /** The CONNECT's identity (see `session-owner.ts`): only it may resume, discard or take over its session. */
  readonly principal: string;
  /** Whether the client may (still) subscribe to a filter of a resumed session; default yes. */
  readonly maySubscribe?: (filter: string) => boolean;
  readonly connectUserProperties?: readonly UserProperty[];
}

/** What a cluster frontend is told of this frontend's sessions (see `ClusterLink`). */
export interface SessionObserver {
  subscribed(session: Session, subscription: Subscription): void;
  unsubscribed(session: Session, filter: string): void;
  /** The session ended (state deleted) or was released to another frontend. */
  left(session: Session): void;
}

/**
 * All sessions by client id: open/resume/take over on CONNECT, expiry after disconnect,
 * delayed wills, restore from the store at start.
 */
export class SessionRegistry {
  /** Told of subscription changes and of sessions leaving (cluster mode: the subscription directory). */
  observer: SessionObserver | undefined;
  readonly #sessions = new Map<string, Session>();
  readonly #expiryTimers = new Map<Session, NodeJS.Timeout>();
  readonly #pendingWills = new Map<Session, { will: Will; timer: NodeJS.Timeout | undefined }>();
  readonly #ctx: SessionContext;
  readonly #tree: TopicTree;
  readonly #router: Router;

  constructor(ctx: SessionContext, tree: TopicTree, router: Router) {
    this.#ctx = ctx;
    this.#tree = tree;
    this.#router = router;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(clientId: string): Session | undefined {
    return this.#sessions.get(clientId);
  }

  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /**
   * Opens the session for a CONNECT: takes over a connected one, discards it on Clean Start
   * [MQTT-3.1.2-4], or resumes it [MQTT-3.1.2-5], dropping the subscriptions the client may no
   * longer make (and the waiting messages only they matched), as AIO re-checks authorization.
   * Returns undefined, changing nothing (the connected owner is not taken over), when the client
   * id's session belongs to another principal: the CONNECT is to be refused with 0x87. A session
   * restored without an owner (stores written before owners were recorded) is bound to this one.
   */
  open(request: OpenRequest): OpenedSession | undefined {
    const { clientId, cleanStart, expirySeconds, version, principal } = request;
    let session = this.#sessions.get(clientId);
    if (session?.owner !== undefined && session.owner !== principal) return undefined;
    if (session?.channel !== undefined) {
      // [MQTT-3.1.4-3] the old connection is closed; its close detaches (or ends) the session
      (session.channel as SessionOwner).takeOver();
      session = this.#sessions.get(clientId);
    }
    if (session !== undefined && cleanStart) {
      this.end(session);
      session = undefined;
    }
    const present = session !== undefined;
    let revoked: string[] = [];
    if (session === undefined) {
      session = new Session(this.#ctx, clientId, version, expirySeconds);
      this.#sessions.set(clientId, session);
    } else {
      this.#cancelExpiry(session);
      this.#cancelWill(session); // [MQTT-3.1.3-9] reconnected before the will delay passed
      session.protocolVersion = version;
      if (request.maySubscribe !== undefined) revoked = this.#revokeSubscriptions(session, request.maySubscribe);
    }
    session.owner = principal;
    session.expiryIntervalSeconds = expirySeconds;
    session.persistent = expirySeconds > 0;
    // Queue persistence (policy): decided for a new session; on resume it can only be switched on
    // (messages queued from now on are stored) — switching off waits for a clean start, as AIO.
    session.connectUserProperties = request.connectUserProperties ?? [];
    const persistQueue = session.persistent && this.#ctx.decisions.persistQueue(clientId, expirySeconds, session.connectUserProperties);
    session.queuePersistent = present ? session.queuePersistent || persistQueue : persistQueue;
    this.save(session);
    return { session, present, revoked };
  }

  /**
   * Removes the subscriptions `maySubscribe` now refuses, and the waiting messages no remaining
   * subscription matches (they were queued for a revoked one). Returns the removed filters.
   */
  #revokeSubscriptions(session: Session, maySubscribe: (filter: string) => boolean): string[] {
    const revoked = [...session.subscriptions.keys()].filter((filter) => !maySubscribe(filter));
    if (revoked.length === 0) return revoked;
    for (const filter of revoked) this.unsubscribe(session, filter);
    const remaining = [...session.subscriptions.values()];
    session.dropWaiting((message) => remaining.some((sub) => topicMatches(sub.topicFilter, message.topic)));
    return revoked;
  }

  /** Connection lost or closed: detach, move shared deliveries, then expire or keep the session. */
  detach(session: Session): void {
    const moved = session.detach(Date.now());
    for (const delivery of moved) {
      // A shared-group message in flight to a member that left goes to another member.
      const member = delivery.group?.pick(session);
      if (member !== undefined && delivery.group !== undefined && member.session !== session) {
        watchCompletion(this.#router.deliverShared(delivery.message, member, delivery.group), (e) => this.#ctx.onStoreError(e));
      } else if (delivery.qos > 0) {
        watchCompletion(session.enqueue(delivery.message, delivery.qos as 1 | 2, delivery.retain, delivery.subscriptionIds), (e) =>
          this.#ctx.onStoreError(e),
        );
      }
    }
    if (session.expiryIntervalSeconds === 0) {
      this.end(session); // [MQTT-3.1.2-23] expiry 0: the session ends with the connection
      return;
    }
    this.save(session);
    this.#scheduleExpiry(session, session.expiryIntervalSeconds * 1000);
  }

  /** Ends a session: subscriptions removed, queue dropped, pending will published. */
  end(session: Session): void {
    this.#cancelExpiry(session);
    const pending = this.#pendingWills.get(session);
    if (pending !== undefined) {
      this.#cancelWill(session);
      // [MQTT-3.1.3-9] the session ended before the delay passed; a failing will does not stop the end
      this.#ctx.faults.run('will', session.clientId, () => this.#publishWill(pending.will));
    }
    for (const sub of session.subscriptions.values()) this.#tree.remove(sub);
    session.subscriptions.clear();
    session.clear();
    if (this.#sessions.get(session.clientId) === session) {
      this.#sessions.delete(session.clientId);
      this.observer?.left(session);
    }
    watchCompletion(this.#ctx.store.deleteSession(session.clientId), (e) => this.#ctx.onStoreError(e));
  }

  /**
   * Cluster mode: hands a session over to another frontend. A connected one is detached first (its
   * in-flight shared deliveries go to other members, as on any disconnect; its queue and record are
   * written), then its connection is told 0x8E Session taken over [MQTT-3.1.4-3]; the session then
   * leaves this frontend's memory with its timers, its state staying in the store for the new owner.
   * Returns false when there is no such session here.
   */
  release(clientId: string): boolean {
    const session = this.#sessions.get(clientId);
    if (session === undefined) return false;
    const channel = session.channel as SessionOwner | undefined;
    if (channel !== undefined) {
      this.detach(session); // a session with expiry 0 ends here (deleted): nothing left to hand over
      channel.takeOver(); // its close then sees another channel: only an undelayed will goes out [MQTT-3.1.3-9]
      if (this.#sessions.get(clientId) !== session) return true;
    }
    this.#cancelExpiry(session);
    this.#cancelWill(session); // the new owner resumes the session: a pending will is its to run
    for (const sub of session.subscriptions.values()) this.#tree.remove(sub);
    session.clear();
    this.#sessions.delete(clientId);
    this.observer?.left(session);
    return true;
  }

  /**
   * Takes a stored session into memory (restore at start; in cluster mode, a session moving here):
   * its subscriptions, queue, expiry timer and pending will. One already expired is ended (deleted)
   * and undefined is returned.
   */
  adopt(record: SessionRecord, queue: readonly QueueEntryRecord[], now: number): Session | undefined {
    const session = new Session(this.#ctx, record.clientId, record.protocolVersion, record.expiryIntervalSeconds);
    session.queuePersistent = record.persistQueue ?? true;
    session.connectUserProperties = record.connectUserProperties ?? [];
    session.owner = record.owner;
    const elapsed = now - (record.disconnectedAt ?? now);
    const left = record.expiryIntervalSeconds * 1000 - elapsed;
    this.#sessions.set(record.clientId, session);
    if (left <= 0) {
      this.end(session);
      return undefined;
    }
    for (const sub of record.subscriptions) this.subscribe(session, toSubscription(session, sub));
    session.restoreQueue(queue);
    session.disconnectedAt = record.disconnectedAt ?? now;
    this.#scheduleExpiry(session, left);
    if (record.will !== undefined) this.scheduleWill(session, { message: new Message(record.will.message), delaySeconds: record.will.delaySeconds });
    return session;
  }

  /**
   * Publishes a will now, or after its delay (bounded by the session's expiry) [MQTT-3.1.3-9]. A will
   * that cannot be encoded is skipped here (counted, logged): never stored with the session, whose
   * record it would make unwritable, and never left to fail in a timer.
   */
  scheduleWill(session: Session, will: Will): void {
    if (will.message.tryTemplate() === undefined) {
      this.#ctx.faults.undeliverable(will.message.topic, will.message.encodingError, session.clientId);
      if (this.#sessions.get(session.clientId) === session) this.save(session); // a restored record loses the will
      return;
    }
    const delay = Math.min(will.delaySeconds, session.expiryIntervalSeconds);
    if (delay === 0 || !this.#sessions.has(session.clientId)) {
      this.#publishWill(will);
      return;
    }
    const timer = setTimeout(() => {
      // A timer: outside any packet's boundary, so it contains its own errors.
      this.#ctx.faults.run('will-delay', session.clientId, () => {
        this.#pendingWills.delete(session);
        session.pendingWill = undefined;
        this.save(session);
        this.#publishWill(will);
      });
    }, delay * 1000);
    timer.unref();
    this.#pendingWills.set(session, { will, timer });
    session.pendingWill = { message: will.message.toRecord(), delaySeconds: will.delaySeconds };
    this.save(session); // the pending will is stored with the session so a restart keeps it
  }

  /** Adds or replaces a subscription [MQTT-3.8.4-3]; true when it is new. */
  subscribe(session: Session, sub: Subscription): boolean {
    const existing = session.subscriptions.get(sub.filter);
    if (existing !== undefined) this.#tree.remove(existing);
    session.subscriptions.set(sub.filter, sub);
    this.#tree.add(sub);
    this.observer?.subscribed(session, sub);
    return existing === undefined;
  }

  /** Removes a subscription; false when none existed. */
  unsubscribe(session: Session, filter: string): boolean {
    const existing = session.subscriptions.get(filter);
    if (existing === undefined) return false;
    session.subscriptions.delete(filter);
    this.#tree.remove(existing);
    this.observer?.unsubscribed(session, filter);
    return true;
  }

  /**
   * The persistence policy was replaced (`ops broker persist update`): every session, connected or
   * offline, is asked again with its last CONNECT's user properties. One newly selected stores the
   * messages queued from now on; one no longer selected keeps only memory for new messages, while
   * the entries already stored stay until delivered (they are not lost by a restart). The session
   * record is rewritten so a restart keeps the new choice. Returns how many sessions changed.
   */
  reapplyQueuePersistence(): number {
    let changed = 0;
    for (const session of this.#sessions.values()) {
      if (!session.persistent) continue;
      const wanted = this.#ctx.decisions.persistQueue(session.clientId, session.expiryIntervalSeconds, session.connectUserProperties);
      if (wanted === session.queuePersistent) continue;
      session.queuePersistent = wanted;
      this.save(session);
      changed++;
    }
    return changed;
  }

  /** Writes the session's metadata when it is persistent. */
  save(session: Session): void {
    if (!session.persistent) return;
    watchCompletion(this.#ctx.store.saveSession(session.toRecord()), (e) => this.#ctx.onStoreError(e));
  }

  /** Restores sessions, subscriptions and queues from the store; expired ones are dropped. */
  async restore(now: number): Promise<void> {
    for (const record of await this.#ctx.store.loadSessions()) {
      const expired = record.expiryIntervalSeconds * 1000 - (now - (record.disconnectedAt ?? now)) <= 0;
      this.adopt(record, expired ? [] : await this.#ctx.store.loadQueue(record.clientId), now);
    }
  }

  /** Stops every timer (broker shutdown); sessions stay in the store. */
  stop(): void {
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    for (const { timer } of this.#pendingWills.values()) if (timer !== undefined) clearTimeout(timer);
    this.#pendingWills.clear();
  }

  #scheduleExpiry(session: Session, ms: number): void {
    this.#cancelExpiry(session);
    const timer = setTimeout(() => {
      this.#expiryTimers.delete(session);
      // [MQTT-4.1.0-2] state discarded at expiry; a timer contains its own errors
      if (!session.connected) this.#ctx.faults.run('session-expiry', session.clientId, () => this.end(session));
    }, Math.min(ms, 2_147_483_647));
    timer.unref();
    this.#expiryTimers.set(session, timer);
  }

  #cancelExpiry(session: Session): void {
    const timer = this.#expiryTimers.get(session);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#expiryTimers.delete(session);
  }

  #cancelWill(session: Session): void {
    const pending = this.#pendingWills.get(session);
    if (pending === undefined) return;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    this.#pendingWills.delete(session);
    session.pendingWill = undefined;
  }

  #publishWill(will: Will): void {
    watchCompletion(this.#ctx.publish(will.message).completion, (e) => this.#ctx.onStoreError(e));
  }
}

/** Rebuilds a subscription from its record. */
export function toSubscription(session: Session, record: SubscriptionRecord): Subscription {
  const shared = parseSharedFilter(record.filter);
  const isShared = shared !== undefined && typeof shared !== 'string';
  return {
    session,
    filter: record.filter,
    topicFilter: isShared ? shared.filter : record.filter,
    qos: record.qos,
    noLocal: record.noLocal,
    retainAsPublished: record.retainAsPublished,
    retainHandling: record.retainHandling,
    subscriptionId: record.subscriptionId,
    group: isShared ? shared.group : undefined,
  };
}

/** For tests and tools: the record of a session. */
export type { SessionRecord };
