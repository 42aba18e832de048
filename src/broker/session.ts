import type { Completion, QueueEntryRecord, SessionRecord, WillRecord } from '../storage/broker-store.js';
import { fromEntry, type QueuedDelivery } from './delivery.js';
import { InflightWindow } from './inflight-window.js';
import type { Message } from './message.js';
import { QUEUED_DELIVERY_OVERHEAD_BYTES } from './broker-options.js';
import { CONGESTION_HIGH_WATER, CONGESTION_LOW_WATER } from './publisher-throttle.js';
import type { DeliveryChannel, SessionContext } from './session-context.js';
import { SessionQueue, type DropSink } from './session-queue.js';
import { QueueWrites, sessionRecord } from './session-writes.js';
import { SpillTail } from './spill-tail.js';
import type { SharedGroup, Subscription } from './topic-tree.js';
import type { UserProperty } from '../protocol/user-properties.js';

/** One message on its way to one session: waiting in the queue, or in flight with a packet id. */
export interface Delivery extends QueuedDelivery {
  /** The shared group it was routed through, so it can move to another member. */
  readonly group: SharedGroup | undefined;
}

/**
 * Session state that outlives connections [MQTT-4.1.0-1]: subscriptions, the waiting queue and its
 * bound (session-queue.ts), the in-flight window (inflight-window.ts), and the store writes they
 * cause (session-writes.ts).
 */
export class Session implements DropSink<Delivery> {
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
  /** Messages this session dropped at its own queue bound. */
  droppedMessages = 0;
  readonly #ctx: SessionContext;
  // Collections are created on first use: an idle connection's session stays small.
  #subscriptions: Map<string, Subscription> | undefined;
  #incomingQos2: Set<number> | undefined;
  readonly #inflight: InflightWindow<Delivery>;
  readonly #queue: SessionQueue<Delivery>;
  /** The store writes of stored deliveries (created on first use). */
  #writes: QueueWrites | undefined;
  #seq = 0;

  constructor(ctx: SessionContext, clientId: string, protocolVersion: 4 | 5, expiryIntervalSeconds: number) {
    this.#ctx = ctx;
    this.clientId = clientId;
    this.protocolVersion = protocolVersion;
    this.expiryIntervalSeconds = expiryIntervalSeconds;
    this.persistent = expiryIntervalSeconds > 0;
    this.queuePersistent = this.persistent;
    this.#inflight = new InflightWindow(ctx.counters);
    this.#queue = new SessionQueue(ctx.counters);
  }

  /** Subscriptions by filter as subscribed. */
  get subscriptions(): Map<string, Subscription> {
    return (this.#subscriptions ??= new Map());
  }

  /** Inbound QoS 2 packet ids received and not yet released by PUBREL [MQTT-4.3.3-10]. */
  get incomingQos2(): Set<number> {
    return (this.#incomingQos2 ??= new Set());
  }

  /**
   * Stores that an inbound QoS 2 packet id is taken, in cluster mode (the PUBREC waits for the
   * completion); nothing standalone [MQTT-4.3.3-10].
   */
  storeIncomingQos2(packetId: number): Completion {
    return this.#ctx.cluster?.incomingQos2Taken(this.clientId, packetId);
  }

  /**
   * Releases an inbound QoS 2 packet id (PUBREL [MQTT-4.3.3-11], or a refusing or missing PUBREC
   * ended the exchange): false when it was not taken; else, in cluster mode, the completion of its
   * stored mark's deletion.
   */
  releaseIncomingQos2(packetId: number): Completion | false {
    if (this.#incomingQos2?.delete(packetId) !== true) return false;
    return this.#ctx.cluster?.incomingQos2Released(this.clientId, packetId);
  }

  /** QoS 1/2 deliveries sent and not yet acknowledged. */
  get inflightCount(): number {
    return this.#inflight.size;
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  /** Messages waiting (not in flight). */
  get queueLength(): number {
    return this.#queue.length;
  }

  /** What the waiting messages cost against the session's bound: payload + overhead each, memory and disk buffer. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

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

  /** The session's bound in messages: with DropOldest the AIO `subscriberQueueLimit.length` (None never drops by count, as AIO). */
  get #maxMessages(): number {
    return this.#ctx.options.queueFullStrategy === 'DropOldest' ? this.#ctx.options.queueLimit : Number.POSITIVE_INFINITY;
  }

  get #writer(): QueueWrites {
    return (this.#writes ??= new QueueWrites(this.#ctx, this.clientId));
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
    if (waits && !this.#queue.makeRoom(cost, this.#maxBytes, this.#maxMessages, options.queueFullStrategy === 'DropOldest', this)) return undefined;
    const overBudget = waits && counters.queuedBytes + cost > options.queuedBytesBudget;
    const spill = this.#ctx.spill;
    if (spill !== undefined && ((!this.queuePersistent && overBudget) || this.#queue.spilled > 0)) {
      // Over the memory budget: not persisted queues spill to the disk-backed buffer instead of dropping.
      // While spilled messages wait, newer ones follow them there (order), also after a policy swap
      // made the queue persisted: it stores its messages again once the buffer is drained.
      const tail = this.#queue.tail ?? this.#queue.startTail(new SpillTail(spill, this.clientId, counters, (e) => this.#ctx.onStoreError(e)));
      const entry: QueueEntryRecord = { seq: ++this.#seq, message: message.toRecord(), qos, retain, ...(subscriptionIds !== undefined ? { subscriptionIds } : {}) };
      if (tail.push(entry)) return undefined;
      counters.messagesDropped++; // the disk buffer is full too
      return false;
    }
    if (overBudget || (this.queuePersistent && !this.#ctx.storeAdmitted && this.#ctx.store.isFull?.() === true)) {
      counters.messagesDropped++; // the memory budget for queued messages is spent, or the store is full
      return false;
    }
    const delivery: Delivery = { seq: ++this.#seq, message, qos, retain, subscriptionIds, packetId: 0, released: false, group, stored: this.queuePersistent };
    this.#queue.add(delivery);
    const completion = delivery.stored ? this.#writer.enqueue(delivery) : undefined;
    this.pump();
    return completion;
  }

  /** Whether a new message would be sent at once: connected, nothing waiting, window and socket open. */
  #sendsAtOnce(): boolean {
    const channel = this.channel;
    return channel !== undefined && this.queueLength === 0 && this.inflightCount < channel.sendQuota && channel.writable;
  }

  /** Sends waiting messages while the window and the socket allow [MQTT-4.9.0-2]. */
  pump(): void {
    const channel = this.channel;
    if (channel === undefined) return;
    const { counters } = this.#ctx;
    const queue = this.#queue;
    const inflight = this.#inflight;
    let sent = 0;
    while (queue.inMemory > 0 && inflight.size < channel.sendQuota && channel.writable) {
      const delivery = queue.shift();
      if (delivery.cancelled === true) continue;
      if (delivery.message.isExpired(Date.now())) {
        counters.messagesDropped++; // [MQTT-3.3.2-5] expired messages are not delivered
        this.#forget(delivery);
        continue;
      }
      // [MQTT-2.2.1-3] a packet id is not reused while its exchange is unfinished
      delivery.packetId = inflight.allocatePacketId();
      if (!channel.sendPublish(delivery, false)) {
        this.#forget(delivery); // [MQTT-3.1.2-25] too large for the client: discarded as if sent
        continue;
      }
      inflight.add(delivery);
      sent++;
      // The in-flight mark (packet id) keeps [MQTT-4.4.0-1] across a broker restart. On a durable store a
      // QoS 1 message is not re-written for it: after a restart it is delivered again as a new message
      // (still at least once) instead of as a DUP with the old packet id; that halves the writes per message.
      if (delivery.stored && (delivery.qos === 2 || !this.#ctx.store.durable)) this.#writer.put(delivery);
    }
    if (this.throttling && (sent > 0 || !channel.writable)) this.#ctx.throttle.progress(this, channel.writable);
    queue.loadTail(this.#readBackContained);
  }

  /** A promise continuation: an error is contained, and this session's connection (only) is closed with 0x83. */
  readonly #readBackContained = (entries: readonly QueueEntryRecord[]): void => {
    try {
      // Entries read back from the disk buffer join the memory part of the queue, in order.
      for (const entry of entries) this.#queue.addReadBack(fromEntry({ ...entry, packetId: 0, released: false }, false));
      this.pump();
    } catch (error) {
      this.#ctx.faults.report('delivery', error, this.clientId);
      this.channel?.abort();
    }
  };

  /** PUBACK, or PUBCOMP: the delivery is done. False for an unknown packet id. */
  complete(packetId: number): boolean {
    const delivery = this.#inflight.remove(packetId);
    if (delivery === undefined) return false;
    this.#forget(delivery);
    this.pump();
    if (this.throttling) this.#ctx.throttle.progress(this, this.channel?.writable ?? false);
    return true;
  }

  /** PUBREC: the subscriber has the QoS 2 message; PUBREL follows. False for an unknown packet id. */
  pubrecReceived(packetId: number): boolean {
    const delivery = this.#inflight.get(packetId);
    if (delivery === undefined || delivery.qos !== 2) return false;
    delivery.released = true;
    if (delivery.stored) this.#writer.put(delivery);
    return true;
  }

  /** Attaches a connection and resends what was in flight, DUP set [MQTT-4.4.0-1]. */
  attach(channel: DeliveryChannel): void {
    this.channel = channel;
    this.disconnectedAt = undefined;
    for (const [packetId, delivery] of this.#inflight.entries()) {
      if (delivery.released) channel.sendPubrel(packetId); // [MQTT-4.4.0-1] resend PUBREL
      else if (!channel.sendPublish(delivery, true)) {
        // [MQTT-3.3.1-1] DUP on redelivery; one that cannot be sent (too large, or a bad stored
        // message that cannot be encoded) is discarded, as on its first send, not kept in flight forever.
        this.#inflight.remove(packetId);
        this.#forget(delivery);
      }
    }
    this.pump();
  }

  /** Detaches the connection. Deliveries taken from shared groups are handed back for re-routing. */
  detach(now: number): Delivery[] {
    this.channel = undefined;
    if (this.throttling) this.#ctx.throttle.resumePublishers(this);
    this.disconnectedAt = now;
    const moved: Delivery[] = [];
    for (const [packetId, delivery] of this.#inflight.entries()) {
      if (delivery.group === undefined || delivery.released) continue;
      this.#inflight.remove(packetId);
      moved.push(delivery);
    }
    for (const delivery of this.#queue.removeWhere((d) => d.group !== undefined)) moved.push(delivery); // no spread: a queue may hold 100k+
    this.#forgetAll(moved);
    return moved.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Cluster mode (the session's frontend is gone and it was taken over, offline): removes the
   * deliveries routed through a shared group, waiting or in flight and not released, with their store
   * entries, for another member of the group [MQTT-4.8.2-6].
   */
  takeShared(): Delivery[] {
    const moved: Delivery[] = [];
    const shared = (d: Delivery): boolean => (d.group ?? d.restoredGroup) !== undefined;
    for (const [packetId, delivery] of this.#inflight.entries()) {
      if (!shared(delivery) || delivery.released) continue;
      this.#inflight.remove(packetId);
      moved.push(delivery);
    }
    for (const delivery of this.#queue.removeWhere(shared)) moved.push(delivery);
    this.#forgetAll(moved);
    return moved.sort((a, b) => a.seq - b.seq);
  }

  /** Drops every queued and in-flight message (session ends). */
  clear(): void {
    if (this.throttling) this.#ctx.throttle.resumePublishers(this);
    this.#queue.clear();
    this.#inflight.clear();
  }

  /**
   * Drops the waiting messages `keep` refuses (a resumed session's subscriptions the current
   * authorization revoked); messages in flight stay, to be resent [MQTT-4.4.0-1]. Messages on the
   * disk buffer (spill tail) are not examined. Returns how many were dropped (counted as dropped).
   */
  dropWaiting(keep: (message: Message) => boolean): number {
    const dropped = this.#queue.removeWhere((delivery) => !keep(delivery.message));
    if (dropped.length === 0) return 0;
    this.#ctx.counters.messagesDropped += dropped.length;
    this.#forgetAll(dropped);
    return dropped.length;
  }

  /** Restores queue entries read from the store. */
  restoreQueue(entries: readonly QueueEntryRecord[]): void {
    for (const entry of entries) {
      const delivery = fromEntry(entry, true);
      this.#seq = Math.max(this.#seq, entry.seq);
      if (delivery.packetId > 0) this.#inflight.add(delivery);
      else this.#queue.add(delivery);
    }
    this.#queue.trim(this.#maxBytes, this.#maxMessages, this.#ctx.options.queueFullStrategy === 'DropOldest', this);
  }

  /** The session's metadata record; a delayed will follows the retained-message rule of the persistence policy. */
  toRecord(): SessionRecord {
    return sessionRecord(this, this.#subscriptions?.values() ?? [], (will) => this.#ctx.decisions.persistRetained(will.message.topic, will.message.properties?.userProperties ?? []));
  }

  /** @internal DropSink: the queue's bound dropped a message: its entry is deleted, and the drop counted and logged. */
  dropped(delivery: Delivery | undefined, which: 'oldest' | 'new' | 'cancelled'): void {
    if (delivery !== undefined) this.#forget(delivery);
    if (which === 'cancelled') return;
    this.droppedMessages++;
    this.#ctx.onQueueFull(this, which);
  }

  /** Deletes a delivery's stored entry, if it has one. */
  #forget(delivery: Delivery): void {
    if (delivery.stored) this.#writer.forget(delivery);
  }

  #forgetAll(deliveries: readonly Delivery[]): void {
    const stored = deliveries.filter((d) => d.stored);
    if (stored.length > 0) this.#writer.delete(stored);
  }
}
