import type {
  BrokerStore,
  Completion,
  QueueEntryRecord,
  SessionRecord,
  SubscriptionRecord,
  WillRecord,
} from '../storage/broker-store.js';
import { watchCompletion } from './completion.js';
import type { Counters } from './counters.js';
import type { FaultBoundary } from './fault-boundary.js';
import { Message } from './message.js';
import { QUEUED_DELIVERY_OVERHEAD_BYTES, type ResolvedBrokerOptions } from './options.js';
import type { PersistenceDecisions } from './persistence.js';
import { CONGESTION_HIGH_WATER, CONGESTION_LOW_WATER, type PublisherThrottle } from './publisher-throttle.js';
import { SpillTail } from './spill-tail.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import type { SharedGroup, Subscription } from './topic-tree.js';
import type { UserProperty } from '../protocol/user-properties.js';

function queuedCost(delivery: Delivery): number {
  return delivery.message.payload.length + QUEUED_DELIVERY_OVERHEAD_BYTES;
}

/** One message on its way to one session: waiting in the queue, or in flight with a packet id. */
export interface Delivery {
  readonly seq: number;
  readonly message: Message;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** Packet id while in flight, 0 while waiting. */
  packetId: number;
  /** QoS 2: PUBREC received and PUBREL sent. */
  released: boolean;
  /** The shared group it was routed through, so it can move to another member. */
  readonly group: SharedGroup | undefined;
  /** Its store write was refused (store full): skipped, never sent. */
  cancelled?: boolean;
  /**
   * Whether its queue entry is in the store (written when it was queued, or restored from it). Its
   * later writes and deletes follow this, not the session's current queue persistence: a policy
   * swap can switch the session on or off while entries of the other kind wait in its queue.
   */
  readonly stored: boolean;
}

/** What a session needs from the connection it is attached to. */
export interface DeliveryChannel {
  /** How many QoS 1/2 PUBLISHes may be unacknowledged (the client's Receive Maximum). */
  readonly sendQuota: number;
  /** False while the socket's unwritten output is above the high-water mark. */
  readonly writable: boolean;
  /** Writes a PUBLISH; false when it could not be sent (over the client's maximum packet size). */
  sendPublish(delivery: Delivery, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** Writes a QoS 0 PUBLISH, or drops it (counted) when the socket is backed up. */
  sendQos0(message: Message, retain: boolean, subscriptionIds: number[] | undefined): void;
  /** Ends the channel after an internal error in its work (a connection: DISCONNECT 0x83 and close). */
  abort(): void;
}

/** What sessions share: storage, limits, counters, and where moved shared deliveries go. */
export interface SessionContext {
  readonly store: BrokerStore;
  readonly options: ResolvedBrokerOptions;
  readonly counters: Counters;
  readonly throttle: PublisherThrottle;
  readonly decisions: PersistenceDecisions;
  /** The disk-backed message buffer, when configured. */
  readonly spill: SpillBuffer | undefined;
  /** Bytes one session may have waiting (the live `maxSessionQueueBytes`). */
  readonly sessionQueueBytes: number;
  /** The same for a session whose queue is persisted (by default also at most 1/16 of the store's size limit). */
  readonly persistedSessionQueueBytes: number;
  onStoreError(error: unknown): void;
  /** A session dropped a message at its own queue bound (`oldest` waiting, or the `new` one): count and log it. */
  onQueueFull(session: Session, dropped: 'oldest' | 'new'): void;
  /** The error boundary: timers and callbacks contain their errors through it. */
  readonly faults: FaultBoundary;
}

/** Session state that outlives connections: subscriptions, queue, in-flight window [MQTT-4.1.0-1]. */
export class Session {
  readonly clientId: string;
  protocolVersion: 4 | 5;
  /** Session Expiry Interval, seconds, already capped. */
  expiryIntervalSeconds: number;
  /** Whether the session's metadata is written to the store (expiry > 0). */
  persistent: boolean;
  /** Whether queue entries are written through to the store (persistence policy). */
  queuePersistent: boolean;
  /**
   * The user properties of the CONNECT that opened or resumed the session (kept in its record):
   * a persistence policy swap asks the dynamic-persistence rule about them again.
   */
  connectUserProperties: readonly UserProperty[] = [];
  /** Whether publishers are paused on this session's queue (see PublisherThrottle). */
  throttling = false;
  channel: DeliveryChannel | undefined;
  disconnectedAt: number | undefined;
  /** A will waiting for its delay, kept in the session record so it survives a restart [MQTT-3.1.3-9]. */
  pendingWill: WillRecord | undefined;
  /**
   * The principal that created the session (see `session-owner.ts`); undefined only for a session
   * restored from a store written before owners were recorded, until its next CONNECT binds it.
   */
  owner: string | undefined;
  readonly #ctx: SessionContext;
  // Collections are created on first use: an idle connection's session stays small.
  #subscriptions: Map<string, Subscription> | undefined;
  #inflight: Map<number, Delivery> | undefined;
  #incomingQos2: Set<number> | undefined;
  #queue: Delivery[] = [];
  /** Newest waiting messages on the disk-backed buffer (queues that are not persisted only). */
  #tail: SpillTail | undefined;
  #head = 0;
  /** What the memory part of the queue costs (payload + overhead per waiting delivery). */
  #bytes = 0;
  #seq = 0;
  #nextPacketId = 1;
  // Writes of one store batch share one promise (level store): handlers are attached once per batch.
  /** The last store write watched for errors. */
  #watched: Promise<void> | undefined;
  /** The last enqueue write, and the deliveries it carries (cancelled if it fails). */
  #enqueued: Promise<void> | undefined;
  #enqueuedDeliveries: Delivery[] = [];

  constructor(ctx: SessionContext, clientId: string, protocolVersion: 4 | 5, expiryIntervalSeconds: number) {
    this.#ctx = ctx;
    this.clientId = clientId;
    this.protocolVersion = protocolVersion;
    this.expiryIntervalSeconds = expiryIntervalSeconds;
    this.persistent = expiryIntervalSeconds > 0;
    this.queuePersistent = this.persistent;
  }

  /** Subscriptions by filter as subscribed. */
  get subscriptions(): Map<string, Subscription> {
    return (this.#subscriptions ??= new Map());
  }

  /** QoS 1/2 deliveries sent and not yet acknowledged, by packet id, in send order. */
  get inflight(): Map<number, Delivery> {
    return (this.#inflight ??= new Map());
  }

  /** Inbound QoS 2 packet ids received and not yet released by PUBREL [MQTT-4.3.3-10]. */
  get incomingQos2(): Set<number> {
    return (this.#incomingQos2 ??= new Set());
  }

  /** In-flight count without creating the map. */
  get inflightCount(): number {
    return this.#inflight?.size ?? 0;
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  /** Messages waiting (not in flight). */
  get queueLength(): number {
    return this.#queue.length - this.#head + (this.#tail?.count ?? 0);
  }

  /** What the waiting messages cost against the session's bound: payload + overhead each, memory and disk buffer. */
  get queuedBytes(): number {
    return this.#bytes + (this.#tail?.bytes ?? 0);
  }

  /** Messages this session dropped at its own queue bound. */
  droppedMessages = 0;

  /**
   * Over the congestion mark, where its publishers are paused (publisher flow control): more than
   * {@link CONGESTION_HIGH_WATER} messages waiting, or half its byte bound, so that a subscriber
   * that keeps up is held back by flow control before its own bound drops anything.
   */
  get congested(): boolean {
    return this.queueLength > CONGESTION_HIGH_WATER || this.queuedBytes * 2 > this.#maxBytes;
  }

  /** Back under the low mark, where paused publishers resume: {@link CONGESTION_LOW_WATER} messages and a quarter of its byte bound. */
  get drained(): boolean {
    return this.queueLength <= CONGESTION_LOW_WATER && this.queuedBytes * 4 <= this.#maxBytes;
  }

  /** The session's bound in bytes (a persisted queue's may be lower: see {@link SessionContext.persistedSessionQueueBytes}). */
  get #maxBytes(): number {
    return this.queuePersistent ? this.#ctx.persistedSessionQueueBytes : this.#ctx.sessionQueueBytes;
  }

  /**
   * Hands a QoS 1/2 message to the session: queued, then sent as the in-flight window allows.
   * Returns the store write's completion (persistent sessions); `undefined` also when the session
   * dropped a message at its own bound (its policy: counted, not the publisher's failure); `false`
   * when the message was refused by a broker-wide backstop (the memory budget for queued messages,
   * the disk buffer or the store is full), which the publisher is told.
   */
  enqueue(message: Message, qos: 1 | 2, retain: boolean, subscriptionIds: number[] | undefined, group?: SharedGroup): Completion | false {
    const { options, counters } = this.#ctx;
    const cost = message.payload.length + QUEUED_DELIVERY_OVERHEAD_BYTES;
    // A message the connection takes at once never waits: neither bound applies to it.
    const waits = !this.#sendsAtOnce();
    if (waits && !this.#makeRoom(cost)) return undefined;
    const overBudget = waits && counters.queuedBytes + cost > options.queuedBytesBudget;
    const spill = this.#ctx.spill;
    if (spill !== undefined && ((!this.queuePersistent && overBudget) || (this.#tail?.count ?? 0) > 0)) {
      // Over the memory budget: not persisted queues spill to the disk-backed buffer instead of dropping.
      // While spilled messages wait, newer ones follow them there (order), also after a policy swap
      // made the queue persisted: it stores its messages again once the buffer is drained.
      this.#tail ??= new SpillTail(spill, this.clientId, counters, (e) => this.#ctx.onStoreError(e));
      const entry: QueueEntryRecord = { seq: ++this.#seq, message: message.toRecord(), qos, retain, ...(subscriptionIds !== undefined ? { subscriptionIds } : {}) };
      if (this.#tail.push(entry)) return undefined;
      counters.messagesDropped++; // the disk buffer is full too
      return false;
    }
    if (overBudget || (this.queuePersistent && this.#ctx.store.isFull?.() === true)) {
      counters.messagesDropped++; // the memory budget for queued messages is spent, or the store is full
      return false;
    }
    const delivery: Delivery = {
      seq: ++this.#seq,
      message,
      qos,
      retain,
      subscriptionIds,
      packetId: 0,
      released: false,
      group,
      stored: this.queuePersistent,
    };
    this.#queue.push(delivery);
    counters.queued++;
    this.#count(delivery);
    const completion = delivery.stored ? this.#ctx.store.putQueueEntries(this.clientId, [toEntry(delivery)]) : undefined;
    if (completion !== undefined) this.#cancelIfRefused(completion, delivery);
    this.pump();
    return completion;
  }

  /** Whether a new message would be sent at once: connected, nothing waiting, window and socket open. */
  #sendsAtOnce(): boolean {
    const channel = this.channel;
    return channel !== undefined && this.queueLength === 0 && this.inflightCount < channel.sendQuota && channel.writable;
  }

  /**
   * The session's own bound, before a message of `cost` joins the queue: bytes (`maxSessionQueueBytes`),
   * and with DropOldest the AIO `subscriberQueueLimit.length` (None never drops by count, as AIO).
   * DropOldest drops waiting messages from the head until the new one fits; None (or nothing left
   * to drop in memory) drops the new one, for this session only. One message always fits an empty
   * queue. False when the new message was dropped.
   */
  #makeRoom(cost: number): boolean {
    const { options } = this.#ctx;
    const maxBytes = this.#maxBytes;
    const dropOldest = options.queueFullStrategy === 'DropOldest';
    const maxMessages = dropOldest ? options.queueLimit : Number.POSITIVE_INFINITY;
    if (dropOldest) while (this.#full(cost, maxBytes, maxMessages) && this.#head < this.#queue.length) this.#dropOldest();
    if (!this.#full(cost, maxBytes, maxMessages)) return true;
    this.#dropped('new');
    return false;
  }

  /** Whether a message of `cost` does not fit: never for an empty queue. */
  #full(cost: number, maxBytes: number, maxMessages: number): boolean {
    const length = this.queueLength;
    return length > 0 && (this.queuedBytes + cost > maxBytes || length >= maxMessages);
  }

  /** A refused write (store full) must not be delivered later: its publisher is told it failed. */
  #cancelIfRefused(completion: Promise<void>, delivery: Delivery): void {
    if (completion === this.#enqueued) {
      this.#enqueuedDeliveries.push(delivery);
      return;
    }
    const deliveries = [delivery];
    this.#enqueued = completion;
    this.#enqueuedDeliveries = deliveries;
    const { counters } = this.#ctx;
    const settled = (): void => {
      if (this.#enqueued !== completion) return;
      this.#enqueued = undefined; // the deliveries are not kept once their write is settled
      this.#enqueuedDeliveries = [];
    };
    completion.then(settled, () => {
      settled();
      for (const d of deliveries) {
        if (d.packetId !== 0 || d.cancelled === true) continue;
        d.cancelled = true;
        counters.messagesDropped++;
      }
    });
  }

  /** Sends waiting messages while the window and the socket allow [MQTT-4.9.0-2]. */
  pump(): void {
    const channel = this.channel;
    if (channel === undefined) return;
    const { counters } = this.#ctx;
    let sent = 0;
    while (this.#head < this.#queue.length && this.inflight.size < channel.sendQuota && channel.writable) {
      const delivery = this.#shift();
      if (delivery.cancelled === true) continue;
      if (delivery.message.isExpired(Date.now())) {
        counters.messagesDropped++; // [MQTT-3.3.2-5] expired messages are not delivered
        this.#forget(delivery);
        continue;
      }
      delivery.packetId = this.#allocatePacketId();
      if (!channel.sendPublish(delivery, false)) {
        this.#forget(delivery); // [MQTT-3.1.2-25] too large for the client: discarded as if sent
        continue;
      }
      this.inflight.set(delivery.packetId, delivery);
      counters.inflight++;
      sent++;
      // The in-flight mark (packet id) keeps [MQTT-4.4.0-1] across a broker restart. On a durable store a
      // QoS 1 message is not re-written for it: after a restart it is delivered again as a new message
      // (still at least once) instead of as a DUP with the old packet id; that halves the writes per message.
      if (delivery.stored && (delivery.qos === 2 || !this.#ctx.store.durable)) {
        this.#write(this.#ctx.store.putQueueEntries(this.clientId, [toEntry(delivery)]));
      }
    }
    if (this.throttling && (sent > 0 || !channel.writable)) this.#ctx.throttle.progress(this, channel.writable);
    if (this.#head >= this.#queue.length && this.#tail !== undefined && this.#tail.count > 0) this.#tail.load((entries) => this.#readBackContained(entries));
  }

  /** A promise continuation: an error is contained, and this session's connection (only) is closed with 0x83. */
  #readBackContained(entries: readonly QueueEntryRecord[]): void {
    try {
      this.#readBack(entries);
    } catch (error) {
      this.#ctx.faults.report('delivery', error, this.clientId);
      this.channel?.abort();
    }
  }

  /** Entries read back from the disk buffer join the memory part of the queue, in order. */
  #readBack(entries: readonly QueueEntryRecord[]): void {
    for (const entry of entries) {
      const delivery = fromEntry({ ...entry, packetId: 0, released: false }, false);
      this.#queue.push(delivery);
      this.#count(delivery); // counted in `queued` since it spilled
    }
    this.pump();
  }

  /** PUBACK, or PUBCOMP: the delivery is done. False for an unknown packet id. */
  complete(packetId: number): boolean {
    const delivery = this.inflight.get(packetId);
    if (delivery === undefined) return false;
    this.inflight.delete(packetId);
    this.#ctx.counters.inflight--;
    if (delivery.stored) this.#write(this.#ctx.store.deleteQueueEntries(this.clientId, [delivery.seq]));
    this.pump();
    if (this.throttling) this.#ctx.throttle.progress(this, this.channel?.writable ?? false);
    return true;
  }

  /** PUBREC: the subscriber has the QoS 2 message; PUBREL follows. False for an unknown packet id. */
  release(packetId: number): boolean {
    const delivery = this.inflight.get(packetId);
    if (delivery === undefined || delivery.qos !== 2) return false;
    delivery.released = true;
    if (delivery.stored) this.#write(this.#ctx.store.putQueueEntries(this.clientId, [toEntry(delivery)]));
    return true;
  }

  /** Attaches a connection and resends what was in flight, DUP set [MQTT-4.4.0-1]. */
  attach(channel: DeliveryChannel): void {
    this.channel = channel;
    this.disconnectedAt = undefined;
    for (const [packetId, delivery] of this.#inflight ?? []) {
      if (delivery.released) channel.sendPubrel(packetId); // [MQTT-4.4.0-1] resend PUBREL
      else if (!channel.sendPublish(delivery, true)) {
        // [MQTT-3.3.1-1] DUP on redelivery; one that cannot be sent (too large, or a bad stored
        // message that cannot be encoded) is discarded, as on its first send, not kept in flight forever.
        this.inflight.delete(packetId);
        this.#ctx.counters.inflight--;
        this.#forget(delivery);
      }
    }
    this.pump();
  }

  /** Detaches the connection. Deliveries taken from shared groups are handed back for re-routing. */
  detach(now: number): Delivery[] {
    this.channel = undefined;
    if (this.throttling) this.#ctx.throttle.release(this);
    this.disconnectedAt = now;
    const moved: Delivery[] = [];
    for (const [packetId, delivery] of this.#inflight ?? []) {
      if (delivery.group === undefined || delivery.released) continue;
      this.inflight.delete(packetId);
      this.#ctx.counters.inflight--;
      moved.push(delivery);
    }
    const kept: Delivery[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const delivery = this.#queue[i] as Delivery;
      if (delivery.group === undefined) kept.push(delivery);
      else {
        moved.push(delivery);
        this.#uncount(delivery);
      }
    }
    this.#queue = kept;
    this.#head = 0;
    const storedMoved = moved.filter((d) => d.stored);
    if (storedMoved.length > 0) this.#write(this.#ctx.store.deleteQueueEntries(this.clientId, storedMoved.map((d) => d.seq)));
    return moved.sort((a, b) => a.seq - b.seq);
  }

  /** Drops every queued and in-flight message (session ends). */
  clear(): void {
    if (this.throttling) this.#ctx.throttle.release(this);
    for (let i = this.#head; i < this.#queue.length; i++) this.#uncount(this.#queue[i] as Delivery);
    this.#ctx.counters.inflight -= this.inflightCount;
    this.#queue = [];
    this.#head = 0;
    this.#inflight = undefined;
    this.#tail?.drop();
  }

  /**
   * Drops the waiting messages `keep` refuses (a resumed session's subscriptions the current
   * authorization revoked); messages in flight stay, to be resent [MQTT-4.4.0-1]. Messages on the
   * disk buffer (spill tail) are not examined. Returns how many were dropped (counted as dropped).
   */
  dropWaiting(keep: (message: Message) => boolean): number {
    const kept: Delivery[] = [];
    const dropped: Delivery[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const delivery = this.#queue[i] as Delivery;
      (keep(delivery.message) ? kept : dropped).push(delivery);
    }
    if (dropped.length === 0) return 0;
    this.#queue = kept;
    this.#head = 0;
    for (const delivery of dropped) this.#uncount(delivery);
    this.#ctx.counters.messagesDropped += dropped.length;
    const storedDropped = dropped.filter((d) => d.stored);
    if (storedDropped.length > 0) this.#write(this.#ctx.store.deleteQueueEntries(this.clientId, storedDropped.map((d) => d.seq)));
    return dropped.length;
  }

  /** Restores queue entries read from the store. */
  restoreQueue(entries: readonly QueueEntryRecord[]): void {
    for (const entry of entries) {
      const delivery = fromEntry(entry, true);
      this.#seq = Math.max(this.#seq, entry.seq);
      if (delivery.packetId > 0) {
        this.inflight.set(delivery.packetId, delivery);
        this.#ctx.counters.inflight++;
      } else {
        this.#queue.push(delivery);
        this.#ctx.counters.queued++;
        this.#count(delivery);
      }
    }
    this.#trimRestored();
  }

  /**
   * A restored queue over the session's bound (the bound was lowered, or the queue was written by an
   * older version) is brought under it as its strategy says: DropOldest from the head, None from
   * the tail (the messages the bound would have dropped on arrival). The drops are deleted from the store.
   */
  #trimRestored(): void {
    const { options } = this.#ctx;
    const maxBytes = this.#maxBytes;
    const dropOldest = options.queueFullStrategy === 'DropOldest';
    const maxMessages = dropOldest ? options.queueLimit : Number.POSITIVE_INFINITY;
    while (this.#queue.length - this.#head > 1 && (this.#bytes > maxBytes || this.#queue.length - this.#head > maxMessages)) {
      if (dropOldest) {
        this.#dropOldest();
        continue;
      }
      const newest = this.#queue.pop() as Delivery;
      this.#uncount(newest);
      this.#forget(newest);
      this.#dropped('new');
    }
  }

  /** The session's metadata record. */
  toRecord(): SessionRecord {
    const subscriptions: SubscriptionRecord[] = [];
    for (const sub of this.#subscriptions?.values() ?? []) {
      subscriptions.push({
        filter: sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        ...(sub.subscriptionId !== undefined ? { subscriptionId: sub.subscriptionId } : {}),
      });
    }
    return {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      expiryIntervalSeconds: this.expiryIntervalSeconds,
      persistQueue: this.queuePersistent,
      ...(this.connectUserProperties.length > 0 ? { connectUserProperties: this.connectUserProperties } : {}),
      ...(this.owner !== undefined ? { owner: this.owner } : {}),
      subscriptions,
      ...(this.disconnectedAt !== undefined ? { disconnectedAt: this.disconnectedAt } : {}),
      ...(this.pendingWill !== undefined && this.#willPersisted(this.pendingWill) ? { will: this.pendingWill } : {}),
    };
  }

  /** Delayed wills follow the retained-message rule of the persistence policy. */
  #willPersisted(will: WillRecord): boolean {
    return this.#ctx.decisions.persistRetained(will.message.topic, will.message.properties?.userProperties ?? []);
  }

  #shift(): Delivery {
    const delivery = this.#queue[this.#head] as Delivery;
    this.#queue[this.#head] = undefined as unknown as Delivery;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#uncount(delivery);
    return delivery;
  }

  #dropOldest(): void {
    const oldest = this.#shift();
    this.#forget(oldest);
    if (oldest.cancelled !== true) this.#dropped('oldest'); // a cancelled one was counted when its write failed
  }

  #dropped(which: 'oldest' | 'new'): void {
    this.droppedMessages++;
    this.#ctx.onQueueFull(this, which);
  }

  /** Adds a waiting delivery's cost to the session's and the broker's queued bytes. */
  #count(delivery: Delivery): void {
    const cost = queuedCost(delivery);
    this.#bytes += cost;
    this.#ctx.counters.queuedBytes += cost;
  }

  #uncount(delivery: Delivery): void {
    const cost = queuedCost(delivery);
    this.#bytes -= cost;
    this.#ctx.counters.queued--;
    this.#ctx.counters.queuedBytes -= cost;
  }

  #forget(delivery: Delivery): void {
    if (delivery.stored) this.#write(this.#ctx.store.deleteQueueEntries(this.clientId, [delivery.seq]));
  }

  #write(completion: Completion): void {
    if (completion === undefined || completion === this.#watched) return;
    this.#watched = completion;
    watchCompletion(completion, (error) => this.#ctx.onStoreError(error));
  }

  #allocatePacketId(): number {
    // [MQTT-2.2.1-3] a packet id is not reused while its exchange is unfinished
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65_535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }
}

/** A delivery from a stored (or spilled) queue entry; in flight when the entry has a packet id. */
function fromEntry(entry: QueueEntryRecord, stored: boolean): Delivery {
  return {
    seq: entry.seq,
    message: new Message(entry.message),
    qos: entry.qos,
    retain: entry.retain,
    subscriptionIds: entry.subscriptionIds === undefined ? undefined : [...entry.subscriptionIds],
    packetId: entry.packetId ?? 0,
    released: entry.released ?? false,
    group: undefined,
    stored,
  };
}

function toEntry(delivery: Delivery): QueueEntryRecord {
  // Built field by field (no spreads): one object per stored delivery; a Message is a MessageRecord.
  const entry: { -readonly [K in keyof QueueEntryRecord]: QueueEntryRecord[K] } = { seq: delivery.seq, message: delivery.message, qos: delivery.qos, retain: delivery.retain };
  if (delivery.subscriptionIds !== undefined) entry.subscriptionIds = delivery.subscriptionIds;
  if (delivery.packetId > 0) entry.packetId = delivery.packetId;
  if (delivery.released) entry.released = true;
  return entry;
}
