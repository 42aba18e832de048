/**
 * One message on its way to one session, as the queue, the in-flight window and the store writes
 * see it (the session's `Delivery` adds the shared group it was routed through), and its
 * queue-entry record in the store.
 */
import type { QueueEntryRecord, SharedGroupRef } from '../storage/broker-store.js';
import { Message } from './message.js';
import { QUEUED_DELIVERY_OVERHEAD_BYTES } from './broker-options.js';

/** One message on its way to one session: waiting in the queue, or in flight with a packet id. */
export interface QueuedDelivery {
  readonly seq: number;
  readonly message: Message;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** Packet id while in flight, 0 while waiting. */
  packetId: number;
  /** QoS 2: PUBREC received and PUBREL sent. */
  released: boolean;
  /**
   * The shared group it was routed through: a live group (the session's `Delivery`), or only its
   * name and filter when restored from the store (the group may have no member here).
   */
  readonly group?: SharedGroupRef | undefined;
  /** The shared group of a delivery restored from the store (its `group` is then undefined). */
  readonly restoredGroup?: SharedGroupRef | undefined;
  /** Its store write was refused (store full): skipped, never sent. */
  cancelled?: boolean;
  /**
   * Whether its queue entry is in the store (written when it was queued, or restored from it). Its
   * later writes and deletes follow this, not the session's current queue persistence: a policy
   * swap can switch the session on or off while entries of the other kind wait in its queue.
   */
  readonly stored: boolean;
}

/** What a waiting delivery costs against the session's and the broker's queue bounds: payload + overhead. */
export function queuedCost(delivery: QueuedDelivery): number {
  return delivery.message.payload.length + QUEUED_DELIVERY_OVERHEAD_BYTES;
}

/** A delivery from a stored (or spilled) queue entry; in flight when the entry has a packet id. */
export function fromEntry(entry: QueueEntryRecord, stored: boolean): QueuedDelivery & { readonly group: undefined; readonly restoredGroup: SharedGroupRef | undefined } {
  return {
    seq: entry.seq,
    message: new Message(entry.message),
    qos: entry.qos,
    retain: entry.retain,
    subscriptionIds: entry.subscriptionIds === undefined ? undefined : [...entry.subscriptionIds],
    packetId: entry.packetId ?? 0,
    released: entry.released ?? false,
    group: undefined,
    restoredGroup: entry.group,
    stored,
  };
}

/** The queue-entry record of a delivery. */
export function toEntry(delivery: QueuedDelivery): QueueEntryRecord {
  // Built field by field (no spreads): one object per stored delivery; a Message is a MessageRecord.
  const entry: { -readonly [K in keyof QueueEntryRecord]: QueueEntryRecord[K] } = { seq: delivery.seq, message: delivery.message, qos: delivery.qos, retain: delivery.retain };
  if (delivery.subscriptionIds !== undefined) entry.subscriptionIds = delivery.subscriptionIds;
  if (delivery.packetId > 0) entry.packetId = delivery.packetId;
  if (delivery.released) entry.released = true;
  const group = delivery.group ?? delivery.restoredGroup;
  // The group itself (a SharedGroup is a SharedGroupRef: its name and filter never change), not a copy per delivery.
  if (group !== undefined) entry.group = group;
  return entry;
}
