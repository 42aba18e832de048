import type { Completion } from '../storage/broker-store.js';
import { CompletionSet } from './completion.js';
import type { Counters } from './counters.js';
import type { FaultBoundary } from './fault-boundary.js';
import type { Message } from './message.js';
import type { RetainedMessages } from './retained.js';
import type { Session } from './session.js';
import type { MatchVisitor, SharedGroup, Subscription, TopicTree } from './topic-tree.js';

/** What one PUBLISH led to. */
export interface RouteResult {
  /** Sessions (and shared groups) the message went to. */
  readonly matched: number;
  /** Of those, how many a broker-wide backstop refused (memory budget, disk buffer or store full); a session dropping it at its own bound is not counted. */
  readonly refused: number;
  /**
   * Connected subscribers whose queues are over the congestion mark, if any (publisher flow control):
   * all of them, so that a stuck one cannot hide a healthy one that needs its publishers held back.
   */
  readonly congested: readonly Session[] | undefined;
  /** Completion of every store write the message caused; ack after it [MQTT-4.3.2-2]. */
  readonly completion: Completion;
  /** The message cannot be encoded (see Message.tryTemplate): refused, nothing stored or sent. */
  readonly undeliverable: boolean;
}

const UNDELIVERABLE: RouteResult = Object.freeze({ matched: 0, refused: 0, congested: undefined, completion: undefined, undeliverable: true });

interface Target {
  session: Session;
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIds: number[] | undefined;
}

/** A connected subscriber over the congestion mark (see {@link Session.congested}). */
function isCongested(session: Session): boolean {
  return session.channel !== undefined && session.congested;
}

/**
 * Routes a message to the matching subscriptions: one delivery per session at the highest
 * granted QoS with all matching subscription identifiers [MQTT-3.3.4-2] [MQTT-3.3.4-3], one
 * member per shared group, round-robin [MQTT-4.8.2-4].
 */
export class Router implements MatchVisitor {
  readonly #tree: TopicTree;
  readonly #retained: RetainedMessages;
  readonly #counters: Counters;
  readonly #faults: FaultBoundary;
  readonly #targets = new Map<Session, Target>();
  readonly #groups: SharedGroup[] = [];
  #message: Message | undefined;
  #first: Promise<void> | undefined;
  /**
   * Cluster mode: asked for each matched shared group whether this frontend picks the member (the
   * cluster-wide round robin may give the turn to another frontend's member). Unset: always.
   */
  pickLocally: ((group: SharedGroup) => boolean) | undefined;
  #completions: CompletionSet | undefined;

  constructor(tree: TopicTree, retained: RetainedMessages, counters: Counters, faults: FaultBoundary) {
    this.#tree = tree;
    this.#retained = retained;
    this.#counters = counters;
    this.#faults = faults;
  }

  /**
   * Stores it if retained, then delivers it to every matching subscription. Never throws: a message
   * that cannot be encoded is refused whole (`undeliverable`, nothing stored, nothing sent), and an
   * error while delivering to one subscriber is contained there (that subscriber is disconnected
   * with 0x83, the others still get the message).
   */
  publish(message: Message): RouteResult {
    this.#first = undefined;
    this.#completions = undefined;
    let matched = 0;
    let refused = 0;
    let congested: Session[] | undefined;
    try {
      this.#message = message;
      this.#tree.match(message.topic, this);
      this.#message = undefined;
      // Encoded once here (the template every delivery shares) when anything will need it.
      const needed = message.retain || this.#targets.size > 0 || this.#groups.length > 0;
      if (needed && message.tryTemplate() === undefined) {
        this.#faults.undeliverable(message.topic, message.encodingError, message.senderId);
        return UNDELIVERABLE;
      }
      if (message.retain) this.#add(this.#retained.set(message.ephemeral ? message : message.withRetain(true)));
      for (const target of this.#targets.values()) {
        matched++;
        let result: Completion | false;
        try {
          result = this.#deliver(message, target);
        } catch (error) {
          result = this.#failed(target.session, error);
        }
        if (result === false) refused++;
        else this.#add(result);
        if (isCongested(target.session)) (congested ??= []).push(target.session);
      }
      for (const group of this.#groups) {
        if (this.pickLocally !== undefined && !this.pickLocally(group)) continue;
        const member = group.pick();
        if (member === undefined) continue;
        matched++;
        let result: Completion | false;
        try {
          result = this.deliverShared(message, member, group);
        } catch (error) {
          result = this.#failed(member.session, error);
        }
        if (result === false) refused++;
        else this.#add(result);
        if (isCongested(member.session)) (congested ??= []).push(member.session);
      }
    } catch (error) {
      // Outside any one subscriber's delivery (the retained store, the match): the message is lost.
      this.#faults.report('delivery', error, message.senderId);
    } finally {
      // Cleared whatever happened: a target left over would receive the next message (another topic).
      this.#targets.clear();
      this.#groups.length = 0;
      this.#message = undefined;
    }
    // (TypeScript cannot see #add's assignments: the fields are read back through their declared types)
    const completions = this.#completions as CompletionSet | undefined;
    const completion = completions !== undefined ? completions.done() : (this.#first as Promise<void> | undefined);
    this.#first = undefined;
    this.#completions = undefined;
    return { matched, refused, congested, completion, undeliverable: false };
  }

  /**
   * One subscriber's delivery threw: the error is contained (reported), that subscriber's connection
   * is closed with 0x83 (its state may be inconsistent), and the delivery counts as refused.
   */
  #failed(session: Session, error: unknown): false {
    this.#faults.report('delivery', error, session.clientId);
    session.channel?.abort();
    return false;
  }

  /**
   * Collects the asynchronous writes of the message being published: the first one, and a set only
   * for different ones (writes to one store batch share a promise, so a message to many persisted
   * sessions usually has one).
   */
  #add(completion: Completion): void {
    if (completion === undefined || completion === this.#first) return;
    if (this.#first === undefined) {
      this.#first = completion;
      return;
    }
    if (this.#completions === undefined) {
      this.#completions = new CompletionSet();
      this.#completions.add(this.#first);
    }
    this.#completions.add(completion);
  }

  /** Delivers a message to one shared-group member. */
  deliverShared(message: Message, member: Subscription, group: SharedGroup): Completion | false {
    const qos = Math.min(message.qos, member.qos) as 0 | 1 | 2;
    const retain = member.retainAsPublished && message.retain;
    const ids = member.subscriptionId === undefined ? undefined : [member.subscriptionId];
    if (qos === 0) {
      this.#sendQos0(member.session, message, retain, ids);
      return undefined;
    }
    return member.session.enqueue(message, qos, retain, ids, group);
  }

  /**
   * Delivers a message to one session at the given QoS (cluster mode: a message another frontend
   * forwarded here, its options computed from this session's subscriptions). QoS 0 goes only to a
   * connected session.
   */
  deliverTo(session: Session, message: Message, qos: 0 | 1 | 2, retain: boolean, subscriptionIds: number[] | undefined): Completion | false {
    if (qos === 0) {
      this.#sendQos0(session, message, retain, subscriptionIds);
      return undefined;
    }
    return session.enqueue(message, qos, retain, subscriptionIds);
  }

  /** MatchVisitor: a plain subscription matched. */
  subscription(sub: Subscription): void {
    const message = this.#message as Message;
    if (sub.noLocal && message.senderId === sub.session.clientId) return; // [MQTT-3.8.3-3]
    const qos = Math.min(message.qos, sub.qos) as 0 | 1 | 2; // [MQTT-3.8.4-8]
    // [MQTT-3.3.1-12] [MQTT-3.3.1-13] retain flag kept only with Retain As Published
    const retain = sub.retainAsPublished && message.retain;
    const existing = this.#targets.get(sub.session);
    if (existing === undefined) {
      this.#targets.set(sub.session, {
        session: sub.session,
        qos,
        retain,
        subscriptionIds: sub.subscriptionId === undefined ? undefined : [sub.subscriptionId],
      });
      return;
    }
    if (qos > existing.qos) existing.qos = qos;
    existing.retain ||= retain;
    if (sub.subscriptionId !== undefined) (existing.subscriptionIds ??= []).push(sub.subscriptionId);
  }

  /** MatchVisitor: a shared group matched. */
  group(group: SharedGroup): void {
    this.#groups.push(group);
  }

  #deliver(message: Message, target: Target): Completion | false {
    return this.deliverTo(target.session, message, target.qos, target.retain, target.subscriptionIds);
  }

  #sendQos0(session: Session, message: Message, retain: boolean, ids: number[] | undefined): void {
    const channel = session.channel;
    // QoS 0 messages are not queued for disconnected sessions (as mosquitto's default)
    if (channel === undefined) this.#counters.messagesDropped++;
    else channel.sendQos0(message, retain, ids);
  }
}
