/**
 * The work of one SUBSCRIBE, done in slices of event-loop time: a SUBSCRIBE
 * with a million filters must not stall every other client. While the job runs its connection is
 * held (later packets of that connection wait, in order, see `Connection.hold`); other
 * connections are served between slices. Phases: check every request (a malformed or forbidden
 * one refuses the packet before anything is applied), apply them, (cluster mode) wait until every
 * frontend knows the new subscriptions, SUBACK, replay retained messages.
 */
import type { SubscribePacket, SubscriptionRequest } from '../../protocol/packets.js';
import { ReasonCode, SubackFailure311 } from '../../protocol/reason-codes.js';
import { encodeSuback } from '../../protocol/suback-encoder.js';
import type { SubscribeFilterReader } from '../../protocol/subscribe-filters.js';
import { checkTopicFilter, parseSharedFilter } from '../../shared/topic.js';
import { watchCompletion } from '../completion.js';
import type { Connection } from '../connection.js';
import { LOGGED_FILTERS_MAX, levelEnabled, logSubscribed } from '../connection-log.js';
import type { Session } from '../session.js';
import type { Subscription } from '../topic-tree.js';

/** Longest a slice runs before the job yields to the event loop. */
export const SUBSCRIBE_SLICE_MS = 5;
/** Requests handled between two looks at the clock. */
const CLOCK_EVERY = 64;

type Phase = 'check' | 'apply' | 'visible' | 'suback' | 'replay' | 'done';

/** One SUBSCRIBE in progress; {@link step} does a slice of it. */
export class SubscribeJob {
  readonly #connection: Connection;
  readonly #session: Session;
  readonly #packet: SubscribePacket;
  readonly #rest: SubscribeFilterReader | undefined;
  readonly #v5: boolean;
  #phase: Phase = 'check';
  /** Next request: an index into `packet.subscriptions`, then past it into the reader. */
  #index = 0;
  #count = 0;
  #codes: Uint8Array | undefined;
  readonly #replay: Subscription[] = [];
  #replayIndex = 0;
  readonly #now = Date.now();
  /** Set while the job waits for something other than the clock (see {@link takeWaiting}). */
  #waiting: Promise<void> | undefined;
  /** The first filters, for the debug line (collected only when debug is enabled). */
  readonly #logged: string[] | undefined;

  constructor(connection: Connection, session: Session, packet: SubscribePacket, rest: SubscribeFilterReader | undefined) {
    this.#connection = connection;
    this.#session = session;
    this.#packet = packet;
    this.#rest = rest;
    this.#v5 = connection.version === 5;
    this.#logged = levelEnabled(connection.core.logger, 'debug') ? [] : undefined;
  }

  /**
   * Runs until done, until `deadline` (performance.now()), or until it must wait (then
   * {@link takeWaiting} says for what); true when the job is finished (done or refused).
   */
  step(deadline: number): boolean {
    let n = 0;
    while (this.#phase !== 'done') {
      if (this.#connection.state === 'closed') return true;
      if (this.#phase === 'visible') return false;
      if (++n % CLOCK_EVERY === 0 && performance.now() >= deadline) return false;
      if (this.#phase === 'check') this.#checkOne();
      else if (this.#phase === 'apply') this.#applyOne();
      else if (this.#phase === 'suback') this.#suback();
      else this.#replayOne();
    }
    return true;
  }

  /** What the job waits for before its next step (once; undefined: only for the event loop's next turn). */
  takeWaiting(): Promise<void> | undefined {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    return waiting;
  }

  /** The next request, or undefined after the last; a string when the rest of the packet is malformed. */
  #nextRequest(): SubscriptionRequest | string | undefined {
    const first = this.#packet.subscriptions;
    if (this.#index < first.length) return first[this.#index++] as SubscriptionRequest;
    if (this.#rest === undefined) return undefined;
    this.#index++;
    return this.#rest.next();
  }

  #restart(phase: Phase): void {
    this.#phase = phase;
    this.#index = 0;
    this.#rest?.rewind();
  }

  /** Phase 1: the packet as a whole may be refused; nothing is applied yet. */
  #checkOne(): void {
    const request = this.#nextRequest();
    if (request === undefined) {
      this.#count = this.#index - (this.#rest === undefined ? 0 : 1);
      this.#codes = new Uint8Array(this.#count);
      this.#restart('apply');
      return;
    }
    if (typeof request === 'string') {
      this.#connection.disconnect(ReasonCode.MalformedPacket, request); // [MQTT-4.13.1-1]
      this.#phase = 'done';
      return;
    }
    if (this.#v5 && request.nl === true && request.topic.startsWith('$share/')) {
      this.#connection.disconnect(ReasonCode.ProtocolError, 'No Local on a shared subscription'); // [MQTT-3.8.3-4]
      this.#phase = 'done';
    }
  }

  /** Phase 2: one request validated, authorized, counted against the limit and applied. */
  #applyOne(): void {
    const at = this.#index;
    const request = this.#nextRequest();
    const codes = this.#codes as Uint8Array;
    if (request === undefined || typeof request === 'string') {
      this.#finishApply();
      return;
    }
    codes[at] = this.#apply(request);
    if (this.#logged !== undefined && at < LOGGED_FILTERS_MAX) this.#logged.push(request.topic);
  }

  #apply(request: SubscriptionRequest): number {
    const connection = this.#connection;
    const core = connection.core;
    const session = this.#session;
    const v5 = this.#v5;
    // Checked first: past the limit a new filter costs one lookup and gets 0x97, whatever else is wrong with it (a flood is cheap to refuse).
    if (!session.subscriptions.has(request.topic) && session.subscriptions.size >= core.limits.maxSubscriptionsPerClient) {
      core.counters.subscriptionsRefused++;
      return v5 ? ReasonCode.QuotaExceeded : SubackFailure311; // a replaced subscription does not count twice
    }
    const maxLevels = core.limits.maxTopicLevels;
    const shared = parseSharedFilter(request.topic, maxLevels);
    const problem = shared === undefined ? checkTopicFilter(request.topic, maxLevels) : typeof shared === 'string' ? shared : undefined;
    if (problem !== undefined) return v5 ? ReasonCode.TopicFilterInvalid : SubackFailure311; // [MQTT-3.8.4-7] the reason code says the subscription failed
    const authorize = connection.hooks.authorizeSubscribe;
    if (authorize !== undefined && !authorize(connection.identity, request.topic)) return v5 ? ReasonCode.NotAuthorized : SubackFailure311;
    const subscriptionId = v5 ? this.#packet.properties?.subscriptionIdentifier : undefined;
    const sub: Subscription = {
      session,
      filter: request.topic,
      topicFilter: typeof shared === 'object' ? shared.filter : request.topic,
      qos: request.qos,
      noLocal: v5 && request.nl === true,
      retainAsPublished: v5 && request.rap === true,
      retainHandling: v5 ? ((request.rh ?? 0) as 0 | 1 | 2) : 0,
      subscriptionId,
      group: typeof shared === 'object' ? shared.group : undefined,
    };
    const isNew = core.registry.subscribe(session, sub);
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11];
    // no retained messages for shared subscriptions [MQTT 5 §3.8.4]
    if (sub.group === undefined && sub.retainHandling !== 2 && (sub.retainHandling === 0 || isNew)) this.#replay.push(sub);
    return request.qos; // [MQTT-3.9.3-1] granted QoS in request order
  }

  /**
   * Every request is applied: in cluster mode, the SUBACK waits until every live frontend knows the
   * new subscriptions (a PUBLISH anywhere after the SUBACK then reaches them).
   */
  #finishApply(): void {
    const core = this.#connection.core;
    core.registry.save(this.#session);
    const cluster = core.cluster;
    const subscribed = cluster?.subscriptionsVisible(this.#session.clientId);
    // Retained messages are replayed after the SUBACK: from a copy that has every retained change made before.
    const retained = cluster !== undefined && this.#replay.length > 0 ? cluster.retainedCaughtUp() : undefined;
    const visible = subscribed === undefined ? retained : retained === undefined ? subscribed : Promise.all([subscribed, retained]).then(() => undefined);
    if (visible === undefined) {
      this.#suback();
      return;
    }
    this.#phase = 'visible';
    const resume = (): void => {
      this.#phase = 'suback';
    };
    this.#waiting = visible.then(resume, resume);
  }

  /** SUBACK once every request is applied [MQTT-3.8.4-1]; PUBLISHes to the new subscriptions may precede it (MQTT 5.0 3.8.4). */
  #suback(): void {
    const connection = this.#connection;
    connection.write(encodeSuback(this.#packet.messageId as number, this.#codes as Uint8Array, connection.version));
    if (this.#logged !== undefined) logSubscribed(connection, this.#logged, this.#codes as Uint8Array);
    this.#phase = 'replay';
  }

  /** Phase 3: retained messages of one new subscription [MQTT-3.3.1-8]. */
  #replayOne(): void {
    const sub = this.#replay[this.#replayIndex++];
    if (sub === undefined) {
      this.#phase = 'done';
      return;
    }
    const connection = this.#connection;
    const core = connection.core;
    const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
    for (const message of core.retained.match(sub.topicFilter, this.#now)) {
      const qos = Math.min(message.qos, sub.qos) as 0 | 1 | 2;
      // [MQTT-3.3.1-8] retained messages sent on subscribe carry RETAIN 1
      if (qos === 0) connection.sendQos0(message, true, ids);
      else watchCompletion(this.#session.enqueue(message, qos, true, ids), (e) => core.onStoreError(e));
    }
  }
}
