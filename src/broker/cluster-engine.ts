/**
 * What cluster mode (`src/cluster/`) does to the engine of its frontend: deliver messages other
 * frontends forwarded to named local sessions, hand a session over to another frontend, take one
 * in from the store. Obtained with `Broker.joinCluster`.
 */
import { topicMatches } from '../shared/topic.js';
import type { Completion, MessageRecord, QueueEntryRecord, SessionRecord } from '../storage/broker-store.js';
import type { BrokerCore } from './broker-core.js';
import type { ForwardTarget } from './cluster-link.js';
import { CompletionSet, watchCompletion } from './completion.js';
import { Message } from './message.js';
import type { Session } from './session.js';
import type { Subscription } from './topic-tree.js';
import type { QueuedDelivery } from './delivery.js';

/** What delivering a forwarded message did. */
export interface ForwardedDelivery {
  /** Completion of the store writes it caused (the forwarded entry is done after it). */
  readonly completion: Completion;
  /** Targets with no session here (moved on, or ended): the caller sends them on, or drops them. */
  readonly missing: readonly ForwardTarget[];
}

const NOTHING: ForwardedDelivery = Object.freeze({ completion: undefined, missing: [] });

/** The engine as cluster mode sees it. */
export class ClusterEngine {
  readonly #core: BrokerCore;

  constructor(core: BrokerCore) {
    this.#core = core;
  }

  /** True when the session is in this frontend's memory. */
  has(clientId: string): boolean {
    return this.#core.registry.get(clientId) !== undefined;
  }

  /**
   * Delivers a message another frontend forwarded (a target is a session here, or a cluster-visible
   * in-process client: the state store leader's): to each plain target at the options of its
   * matching subscriptions here (highest QoS [MQTT-3.3.4-2], every subscription id [MQTT-3.3.4-3],
   * No Local [MQTT-3.8.3-3]), to each shared-group pick through its member subscription here
   * (retained messages reach every frontend's copy through {@link mirrorRetained}). An expired message goes nowhere [MQTT-3.3.2-5]. Never throws: an error for one session is contained
   * there (that session's connection is aborted).
   */
  deliverForwarded(message: Message, targets: readonly ForwardTarget[]): ForwardedDelivery {
    const core = this.#core;
    if (message.isExpired(Date.now())) return NOTHING;
    if (message.tryTemplate() === undefined) {
      core.faults.undeliverable(message.topic, message.encodingError, message.senderId);
      return NOTHING;
    }
    const completions = new CompletionSet();
    const missing: ForwardTarget[] = [];
    // The publishing frontend admitted it against the backend's size (and acknowledged it): a full
    // store refuses it there, not here, where dropping it would lose an acknowledged message.
    core.storeAdmitted = true;
    try {
      this.#deliverEach(message, targets, completions, missing);
    } finally {
      core.storeAdmitted = false;
    }
    return { completion: completions.done(), missing };
  }

  #deliverEach(message: Message, targets: readonly ForwardTarget[], completions: CompletionSet, missing: ForwardTarget[]): void {
    const core = this.#core;
    for (const target of targets) {
      const session = core.registry.get(target.clientId) ?? core.clusterLocalSessions.get(target.clientId);
      if (session === undefined) {
        missing.push(target);
        continue;
      }
      try {
        const result = target.group === undefined ? this.#deliverPlain(session, message) : this.#deliverShared(session, message, target.group, target.topicFilter ?? '');
        if (result === false) core.counters.messagesDropped++;
        else completions.add(result);
      } catch (error) {
        core.faults.report('delivery', error, session.clientId);
        session.channel?.abort();
      }
    }
  }

  #deliverPlain(session: Session, message: Message): Completion | false {
    let qos = -1;
    let retain = false;
    let ids: number[] | undefined;
    for (const sub of session.subscriptions.values()) {
      if (sub.group !== undefined || !topicMatches(sub.topicFilter, message.topic)) continue;
      if (sub.noLocal && message.senderId === session.clientId) continue; // [MQTT-3.8.3-3]
      qos = Math.max(qos, Math.min(message.qos, sub.qos)); // [MQTT-3.8.4-8]
      retain ||= sub.retainAsPublished && message.retain; // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
      if (sub.subscriptionId !== undefined) (ids ??= []).push(sub.subscriptionId);
    }
    if (qos < 0) return undefined; // unsubscribed since the publishing frontend looked
    return this.#core.router.deliverTo(session, message, qos as 0 | 1 | 2, retain, ids);
  }

  #deliverShared(session: Session, message: Message, group: string, topicFilter: string): Completion | false {
    const member = session.subscriptions.get(`$share/${group}/${topicFilter}`);
    const shared = this.#core.tree.groupOf(topicFilter, group);
    if (member === undefined || shared === undefined) return false; // left the group since the pick
    return this.#core.router.deliverShared(message, member, shared);
  }

  /**
   * Another frontend set (or cleared, with an empty payload) a retained message and wrote the shared
   * store: this frontend's copy follows. An expired one is not kept.
   */
  mirrorRetained(message: Message): void {
    if (message.payload.length > 0 && message.isExpired(Date.now())) return;
    this.#core.retained.mirror(message.withRetain(true));
  }

  /** This frontend's copy of the retained messages becomes `records` (read again from the store). */
  replaceRetained(records: readonly MessageRecord[]): void {
    const now = Date.now();
    const messages: Message[] = [];
    for (const record of records) {
      const message = new Message(record);
      if (!message.isExpired(now)) messages.push(message);
    }
    this.#core.retained.replaceUsers(messages);
  }

  /**
   * Takes a session's shared-group deliveries out (see `Session.takeShared`) and gives each to
   * another connected member of its group here; returns those with no such member (for a member on
   * another frontend, or back to `requeue`).
   */
  moveShared(clientId: string): { completion: Completion; unplaced: QueuedDelivery[] } {
    const core = this.#core;
    const session = core.registry.get(clientId);
    if (session === undefined) return { completion: undefined, unplaced: [] };
    const completions = new CompletionSet();
    const unplaced: QueuedDelivery[] = [];
    for (const delivery of session.takeShared()) {
      const ref = delivery.group ?? delivery.restoredGroup;
      const group = ref === undefined ? undefined : core.tree.groupOf(ref.topicFilter, ref.name);
      const member: Subscription | undefined = group?.pick(session);
      if (group === undefined || member === undefined || member.session === session || !member.session.connected) {
        unplaced.push(delivery);
        continue;
      }
      const result = core.router.deliverShared(delivery.message, member, group);
      if (result !== false) completions.add(result);
    }
    return { completion: completions.done(), unplaced };
  }

  /** Puts a delivery back into the session's queue (no other member of its group anywhere). */
  requeue(clientId: string, delivery: QueuedDelivery): Completion | false {
    const session = this.#core.registry.get(clientId);
    if (session === undefined || delivery.qos === 0) return false;
    return session.enqueue(delivery.message, delivery.qos, delivery.retain, delivery.subscriptionIds);
  }

  /** Publishes the will of a client whose frontend is gone (through the cluster, like any will). */
  publishWill(message: Message): void {
    const core = this.#core;
    core.faults.run('will', message.senderId, () => watchCompletion(core.publish(message).completion, (e) => core.onStoreError(e)));
  }

  /** Disconnects every client (0x8B) and stops the session timers: the first step of a frontend's clean stop. */
  disconnectClients(): void {
    this.#core.shutdown();
  }

  /** Hands the session over to another frontend (see `SessionRegistry.release`); false when it is not here. */
  release(clientId: string): boolean {
    return this.#core.registry.release(clientId);
  }

  /**
   * Takes a stored session into memory (it moved here), with the inbound QoS 2 packet ids it had
   * taken elsewhere (a resent PUBLISH on one is acknowledged, not routed again [MQTT-4.3.3-10]);
   * false when it had expired (it is then deleted).
   */
  adopt(record: SessionRecord, queue: readonly QueueEntryRecord[], incomingQos2: readonly number[] = []): boolean {
    const session = this.#core.registry.adopt(record, queue, Date.now());
    if (session === undefined) return false;
    for (const packetId of incomingQos2) session.incomingQos2.add(packetId);
    return true;
  }
}
