/**
 * The seam between the engine and cluster mode (`src/cluster/`, which ranks above the engine): what
 * the engine asks of its cluster (a {@link ClusterLink}, set with `Broker.joinCluster`), and what a
 * message forwarded by another frontend names.
 */
import type { Completion } from '../storage/broker-store.js';
import type { Message } from './message.js';
import type { SharedGroup, Subscription } from './topic-tree.js';

/** A session a forwarded message is for: a plain target, or the picked member of a shared group. */
export interface ForwardTarget {
  readonly clientId: string;
  /** Set for a shared-group pick: the share name. */
  readonly group?: string | undefined;
  /** Set for a shared-group pick: the group's topic filter (without `$share/<group>/`). */
  readonly topicFilter?: string | undefined;
}

/** What the engine reports and asks of the cluster it is a frontend of. */
export interface ClusterLink {
  /**
   * A message published on this frontend (a client, a will, a service) is about to be routed: the
   * link finds the matching subscriptions of other frontends. Called before {@link pickLocally} and
   * {@link forward} of the same message, all synchronously.
   */
  prepare(message: Message): void;
  /**
   * The router matched a shared group with members here: true when this frontend's turn in the
   * cluster-wide round robin picks a local member; false when a member on another frontend is
   * picked (and {@link forward} sends it there).
   */
  pickLocally(group: SharedGroup): boolean;
  /**
   * Sends the prepared message to the frontends owning its other targets. Returns how many
   * sessions or groups it went to, and the completion of its durable writes (a QoS >= 1 PUBLISH is
   * acknowledged only after it [MQTT-4.3.2-2]).
   */
  forward(message: Message): { matched: number; completion: Completion };
  /**
   * Before a CONNECT opens a session here: makes this frontend the session's owner, taking it over
   * from another frontend (whose connection gets 0x8E) and loading its stored state, so that the
   * registry then resumes (or cleans) it as if it had always been here. Rejects when the cluster
   * cannot tell (the CONNECT is then refused with 0x88 Server unavailable).
   */
  claim(clientId: string, cleanStart: boolean): Promise<void>;
  /**
   * A client connected here with a will: the cluster keeps it while the connection lasts, so that
   * the will is published even if this frontend dies [MQTT-3.1.2-8].
   */
  connected(clientId: string, will: { readonly message: Message; readonly delaySeconds: number }): void;
  /** A connection that had a will ended here: this frontend took care of the will. */
  disconnected(clientId: string): void;
  /** A session of this frontend subscribed (or replaced a subscription). */
  subscribed(clientId: string, subscription: Subscription): void;
  /**
   * Resolves once the client's subscription changes so far are known to every live frontend (or
   * after a bounded wait); undefined when none is pending. The SUBACK waits for it, so that a
   * PUBLISH on any frontend after the SUBACK reaches the new subscription.
   */
  subscriptionsVisible(clientId: string): Promise<void> | undefined;
  /**
   * Resolves once this frontend's copy of the retained messages has every change other frontends
   * made before the call (or after a bounded wait): a SUBSCRIBE replays retained messages after it,
   * so that one retained on another frontend before the SUBSCRIBE is sent [MQTT-3.3.1-6].
   */
  retainedCaughtUp(): Promise<void>;
  /** A session of this frontend unsubscribed. */
  unsubscribed(clientId: string, filter: string): void;
  /** A session of this frontend ended (its state is deleted) or moved to another frontend. */
  left(clientId: string): void;
  /**
   * A session here took an inbound QoS 2 packet id for a PUBLISH it routes: the cluster stores it,
   * and the PUBREC waits for the returned completion, so that the PUBLISH resent (DUP) to another
   * frontend after this one died is not routed again [MQTT-4.3.3-10].
   */
  incomingQos2Taken(clientId: string, packetId: number): Completion;
  /** The packet id was released (PUBREL [MQTT-4.3.3-11], or a refusing PUBREC): its stored mark goes; PUBCOMP waits for it. */
  incomingQos2Released(clientId: string, packetId: number): Completion;
}
