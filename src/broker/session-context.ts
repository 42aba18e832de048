/** What a session works with: the connection it delivers to, and what all sessions share. */
import type { BrokerStore, Completion } from '../storage/broker-store.js';
import type { ClusterLink } from './cluster-link.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import type { Counters } from './counters.js';
import type { QueuedDelivery } from './delivery.js';
import type { FaultBoundary } from './fault-boundary.js';
import type { Message } from './message.js';
import type { ResolvedBrokerOptions } from './broker-options.js';
import type { PersistenceDecisions } from './persistence-decisions.js';
import type { PublisherThrottle } from './publisher-throttle.js';

/** What the engine reports of a session that dropped a message at its own queue bound. */
export interface QueueFullSession {
  readonly clientId: string;
  /** Messages this session dropped at its own bound. */
  readonly droppedMessages: number;
  readonly queuedBytes: number;
  readonly queuePersistent: boolean;
}

/** What a session needs from the connection it is attached to. */
export interface DeliveryChannel {
  /** How many QoS 1/2 PUBLISHes may be unacknowledged (the client's Receive Maximum). */
  readonly sendQuota: number;
  /** False while the socket's unwritten output is above the high-water mark. */
  readonly writable: boolean;
  /** Writes a PUBLISH; false when it could not be sent (over the client's maximum packet size). */
  sendPublish(delivery: QueuedDelivery, dup: boolean): boolean;
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
  /**
   * True while messages another frontend already admitted are delivered (cluster mode: its
   * publisher was acknowledged): a full store does not refuse them. Always false standalone.
   */
  readonly storeAdmitted: boolean;
  /** The cluster this engine is a frontend of (cluster mode), else undefined. */
  readonly cluster: ClusterLink | undefined;
  onStoreError(error: unknown): void;
  /** Routes a message (a will): through the cluster too in cluster mode. */
  publish(message: Message): { readonly completion: Completion };
  /** A session dropped a message at its own queue bound (`oldest` waiting, or the `new` one): count and log it. */
  onQueueFull(session: QueueFullSession, dropped: 'oldest' | 'new'): void;
  /** The error boundary: timers and callbacks contain their errors through it. */
  readonly faults: FaultBoundary;
}
