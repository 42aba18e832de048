import type { Completion, MessageRecord } from '../storage/broker-store.js';
import { checkTopicFilter, parseSharedFilter, topicMatches } from '../shared/topic.js';
import type { BrokerCore } from './broker-core.js';
import type { RemoteSender } from './hooks.js';
import { Message } from './message.js';
import type { QueuedDelivery } from './delivery.js';
import { Session } from './session.js';
import type { DeliveryChannel } from './session-context.js';

/** A message as an in-process client receives it. */
export interface LocalMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly properties?: MessageRecord['properties'];
  /** Client id of the publisher (absent for in-process publishers). */
  readonly senderId?: string;
  /** Cluster mode: who the publisher is, when it is connected to another frontend (see {@link RemoteSender}). */
  readonly remoteSender?: RemoteSender | undefined;
}

/** Settled promise: `then` on it queues a microtask (cheaper than queueMicrotask's async resource per call). */
const RESOLVED = Promise.resolve();

/** Receives the messages of a local client's subscriptions. */
export type LocalHandler = (message: LocalMessage) => void;

/**
 * An in-process client (rumqttd's "local link"): services such as the state store subscribe and
 * publish through the same router, sessions and flow control as network clients, with no socket.
 * Its session never expires and is never persisted.
 */
export class LocalClient implements DeliveryChannel {
  readonly clientId: string;
  readonly sendQuota = 65_535;
  readonly writable = true;
  readonly #core: BrokerCore;
  readonly #session: Session;
  readonly #handlers = new Map<string, { topicFilter: string; handler: LocalHandler }>();
  /** Messages routed to this client whose handlers have not run yet (one microtask drains them all). */
  #queue: Message[] = [];
  /** Packet ids of the QoS 1/2 messages in {@link #queue}: completed once their handlers ran. */
  #toComplete: number[] = [];

  /**
   * `clusterVisible` (cluster mode): other frontends route matching messages to this client (its
   * subscriptions enter the subscription directory); default false, the client is this frontend's own.
   */
  constructor(core: BrokerCore, clientId: string, clusterVisible = false) {
    this.#core = core;
    this.clientId = clientId;
    this.#session = new Session(core, clientId, 5, 0);
    this.#session.queuePersistent = false;
    this.#session.attach(this);
    core.localSessions.add(this.#session);
    if (clusterVisible) core.clusterLocalSessions.set(clientId, this.#session);
  }

  /** Subscribes `filter` at `qos`; `handler` gets every matching message (shared filters allowed). */
  subscribe(filter: string, qos: 0 | 1 | 2, handler: LocalHandler): void {
    const shared = parseSharedFilter(filter);
    const problem = typeof shared === 'string' ? shared : shared === undefined ? checkTopicFilter(filter) : undefined;
    if (problem !== undefined) throw new RangeError(`invalid topic filter ${filter}: ${problem}`);
    const topicFilter = typeof shared === 'object' ? shared.filter : filter;
    this.#handlers.set(filter, { topicFilter, handler });
    this.#core.registry.subscribe(this.#session, {
      session: this.#session,
      filter,
      topicFilter,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 2,
      subscriptionId: undefined,
      group: typeof shared === 'object' ? shared.group : undefined,
    });
  }

  /** Publishes from inside the broker (no sender id: No Local never filters it). */
  publish(record: MessageRecord): Promise<void> {
    return this.send(record) ?? Promise.resolve();
  }

  /** Like {@link publish}, without a promise when nothing was asynchronous (hot paths). */
  send(record: MessageRecord): Completion {
    return this.#core.publish(new Message(record)).completion;
  }

  /** Removes the subscriptions and the session. */
  close(): void {
    for (const filter of this.#handlers.keys()) this.#core.registry.unsubscribe(this.#session, filter);
    this.#handlers.clear();
    this.#session.clear();
    this.#core.localSessions.delete(this.#session);
    if (this.#core.clusterLocalSessions.get(this.clientId) === this.#session) this.#core.clusterLocalSessions.delete(this.clientId);
  }

  /** DeliveryChannel: a QoS 1/2 message arrives; it is handed over and completed with the drain. */
  sendPublish(delivery: QueuedDelivery): boolean {
    this.#dispatch(delivery.message);
    this.#toComplete.push(delivery.packetId); // no closure or microtask per message: #drain completes it
    return true;
  }

  /** DeliveryChannel: QoS 2 release (nothing to do locally). */
  sendPubrel(packetId: number): void {
    this.#session.complete(packetId);
  }

  /** DeliveryChannel: a QoS 0 message arrives. */
  sendQos0(message: Message): void {
    this.#dispatch(message);
  }

  /** DeliveryChannel: an in-process client is not disconnected; the boundary has reported the error. */
  abort(): void {
    // nothing to close: the service keeps serving the other requests
  }

  /**
   * Handlers run after the routing of the message has finished (a microtask, in arrival order), so
   * a handler that publishes never re-enters the router mid-delivery.
   */
  #dispatch(message: Message): void {
    if (this.#queue.push(message) === 1) void RESOLVED.then(() => this.#drain());
  }

  /** A microtask, outside any packet's boundary: every handler call and completion contains its errors. */
  #drain(): void {
    const queue = this.#queue;
    const toComplete = this.#toComplete;
    const completing = toComplete.length; // ids pushed by handlers belong to the next drain
    this.#queue = [];
    if (completing > 0) this.#toComplete = [];
    for (const message of queue) this.#deliverToHandlers(message);
    for (let i = 0; i < completing; i++) {
      try {
        this.#session.complete(toComplete[i] as number);
      } catch (error) {
        this.#core.faults.report('local-client', error, this.clientId);
      }
    }
  }

  #deliverToHandlers(message: Message): void {
    const local: LocalMessage = message; // the engine's message itself: no copy per delivery
    for (const { topicFilter, handler } of this.#handlers.values()) {
      try {
        if (topicFilter !== message.topic && !topicMatches(topicFilter, message.topic)) continue;
        handler(local);
      } catch (error) {
        this.#core.faults.report('local-client', error, this.clientId);
      }
    }
  }
}
