/**
 * What a session writes to the store: its queue entries (written, rewritten and deleted as
 * deliveries move, failures reported once per store batch) and its metadata record.
 */
import type { UserProperty } from '../protocol/user-properties.js';
import type { BrokerStore, Completion, SessionRecord, SubscriptionRecord, WillRecord } from '../storage/broker-store.js';
import { watchCompletion } from './completion.js';
import type { Counters } from './counters.js';
import { toEntry, type QueuedDelivery } from './delivery.js';

/** The store and where its failures go. */
export interface QueueStore {
  readonly store: BrokerStore;
  readonly counters: Counters;
  onStoreError(error: unknown): void;
}

/** The store writes of one session's queue entries. */
export class QueueWrites {
  readonly #ctx: QueueStore;
  readonly #clientId: string;
  // Writes of one store batch share one promise (level store): handlers are attached once per batch.
  /** The last store write watched for errors. */
  #watched: Promise<void> | undefined;
  /** The last enqueue write, and the deliveries it carries (cancelled if it fails). */
  #enqueued: Promise<void> | undefined;
  #enqueuedDeliveries: QueuedDelivery[] = [];

  constructor(ctx: QueueStore, clientId: string) {
    this.#ctx = ctx;
    this.#clientId = clientId;
  }

  /**
   * Writes the entry of a newly queued delivery; its completion is the publisher's to wait for. A
   * refused write (store full) cancels the delivery: it is never sent, and its publisher is told it failed.
   */
  enqueue(delivery: QueuedDelivery): Completion {
    const completion = this.#ctx.store.putQueueEntries(this.#clientId, [toEntry(delivery)]);
    if (completion !== undefined) this.#cancelIfRefused(completion, delivery);
    return completion;
  }

  /** Rewrites a delivery's entry (its packet id or QoS 2 release changed). */
  put(delivery: QueuedDelivery): void {
    this.#watch(this.#ctx.store.putQueueEntries(this.#clientId, [toEntry(delivery)]));
  }

  /** Deletes the entry of a delivery that left the queue (acknowledged, expired, dropped). */
  forget(delivery: QueuedDelivery): void {
    this.#watch(this.#ctx.store.deleteQueueEntries(this.#clientId, [delivery.seq]));
  }

  /** Deletes the entries of deliveries that left the queue. */
  delete(deliveries: readonly QueuedDelivery[]): void {
    this.#watch(this.#ctx.store.deleteQueueEntries(this.#clientId, deliveries.map((d) => d.seq)));
  }

  #cancelIfRefused(completion: Promise<void>, delivery: QueuedDelivery): void {
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

  #watch(completion: Completion): void {
    if (completion === undefined || completion === this.#watched) return;
    this.#watched = completion;
    watchCompletion(completion, (error) => this.#ctx.onStoreError(error));
  }
}

/** A subscription as its record keeps it. */
export type RecordedSubscription = Omit<SubscriptionRecord, 'subscriptionId'> & { readonly subscriptionId: number | undefined };

/** The session fields its record keeps. */
export interface RecordedSession {
  readonly clientId: string;
  readonly protocolVersion: 4 | 5;
  readonly expiryIntervalSeconds: number;
  readonly queuePersistent: boolean;
  readonly connectUserProperties: readonly UserProperty[];
  readonly owner: string | undefined;
  readonly disconnectedAt: number | undefined;
  readonly pendingWill: WillRecord | undefined;
}

/** A session's metadata record; a pending will only when `persistWill` says so (the retained-message rule of the persistence policy). */
export function sessionRecord(session: RecordedSession, subscriptions: Iterable<RecordedSubscription>, persistWill: (will: WillRecord) => boolean): SessionRecord {
  const records: SubscriptionRecord[] = [];
  for (const sub of subscriptions) {
    records.push({
      filter: sub.filter,
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      ...(sub.subscriptionId !== undefined ? { subscriptionId: sub.subscriptionId } : {}),
    });
  }
  return {
    clientId: session.clientId,
    protocolVersion: session.protocolVersion,
    expiryIntervalSeconds: session.expiryIntervalSeconds,
    persistQueue: session.queuePersistent,
    ...(session.connectUserProperties.length > 0 ? { connectUserProperties: session.connectUserProperties } : {}),
    ...(session.owner !== undefined ? { owner: session.owner } : {}),
    subscriptions: records,
    ...(session.disconnectedAt !== undefined ? { disconnectedAt: session.disconnectedAt } : {}),
    ...(session.pendingWill !== undefined && persistWill(session.pendingWill) ? { will: session.pendingWill } : {}),
  };
}
