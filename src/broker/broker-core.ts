import type { Duplex } from 'node:stream';
import { ReasonCode } from '../protocol/reason-codes.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { SESSION_SHARE } from '../shared/memory-profiles.js';
import type { Logger } from '../shared/log.js';
import type { BrokerStore } from '../storage/broker-store.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import { warnAbuse } from './abuse-log.js';
import { CompletionSet, watchCompletion } from './completion.js';
import type { ClusterLink } from './cluster-link.js';
import { Connection } from './connection.js';
import type { ConnectionContext, TrackedConnection } from './connection-context.js';
import { Counters } from './counters.js';
import { FaultBoundary } from './fault-boundary.js';
import type { BrokerHooks, ConnectionInfo } from './hooks.js';
import { Message } from './message.js';
import type { PersistenceDecisions } from './persistence-decisions.js';
import { PublisherThrottle } from './publisher-throttle.js';
import { resolveConnectionLimits, type ResolvedBrokerOptions, type ResolvedConnectionLimits } from './broker-options.js';
import { PartialPacketBudget } from '../protocol/partial-packet-budget.js';
import { AuthBackoff } from './auth-backoff.js';
import { RetainedMessages } from './retained.js';
import { Router, type RouteResult } from './router.js';
import type { Session } from './session.js';
import type { SessionContext } from './session-context.js';
import { SessionRegistry } from './session-registry.js';
import type { BrokerStats } from './stats.js';
import { TopicTree } from './topic-tree.js';
import { MQTT_PROTOCOL } from './handlers/dispatch.js';
import { refusingProtocol, type Refusal } from './handlers/refusals.js';

/** At most one 'store is full' warning per this interval. */
const QUOTA_WARNING_INTERVAL_MS = 10_000;

/** How often connect timeouts, credential expiry and keep-alive are checked: keep-alive closes within 1.5x + this. */
const TIMEOUT_SWEEP_MS = 250;

/**
 * The engine's shared state, used by connections and handlers: the subscription tree,
 * retained messages, sessions, the router, counters. No sockets are opened here.
 */
export class BrokerCore implements SessionContext, ConnectionContext {
  readonly options: ResolvedBrokerOptions;
  readonly store: BrokerStore;
  readonly logger: Logger;
  readonly hooks: BrokerHooks;
  readonly counters = new Counters();
  /** The error boundary of every piece of work (packets, deliveries, wills, timers). */
  readonly faults: FaultBoundary;
  readonly throttle = new PublisherThrottle();
  /** Per-address failed-authentication backoff (its limits are set by `Broker` with the other connection limits). */
  readonly authBackoff = new AuthBackoff(resolveConnectionLimits());
  readonly tree = new TopicTree();
  readonly retained: RetainedMessages;
  readonly router: Router;
  readonly registry: SessionRegistry;
  readonly #connections = new Set<TrackedConnection>();
  /** Sessions of in-process clients (services such as the state store): their subscriptions are the broker's, not the users'. */
  readonly localSessions = new Set<Session>();
  /**
   * Cluster mode: the in-process sessions other frontends may route to (the state store leader's),
   * by client id: their subscriptions enter the subscription directory, and forwarded messages for
   * them are delivered here. A subset of {@link localSessions}.
   */
  readonly clusterLocalSessions = new Map<string, Session>();
  readonly startedAt = Date.now();
  /** The resource limits in force (`ops broker limits`), replaced live by {@link setLimits}. */
  #limits: ResolvedConnectionLimits;
  /** Bytes of incomplete packets held by every connection's decoder, against `limits.maxPartialPacketBytes`. */
  readonly partialPackets: PartialPacketBudget;
  /** Called with the client id when a connected client's connection ends (services drop its state). */
  readonly disconnectListeners = new Set<(clientId: string) => void>();
  closing = false;
  /** Cluster mode: the frontend this engine is part of (set by `Broker.joinCluster`). */
  cluster: ClusterLink | undefined;
  /** Bytes one session may have waiting; see {@link setSessionQueueBytes}. */
  sessionQueueBytes: number;
  /** Bytes one session whose queue is persisted may have waiting; see {@link setSessionQueueBytes}. */
  persistedSessionQueueBytes: number;
  /** See SessionContext.storeAdmitted: set by ClusterEngine.deliverForwarded only. */
  storeAdmitted = false;
  readonly #sweep: NodeJS.Timeout;
  #lastQuotaWarning = Number.NEGATIVE_INFINITY;

  readonly decisions: PersistenceDecisions;
  readonly spill: SpillBuffer | undefined;

  constructor(
    options: ResolvedBrokerOptions,
    store: BrokerStore,
    logger: Logger,
    hooks: BrokerHooks,
    decisions: PersistenceDecisions,
    spill: SpillBuffer | undefined,
    limits: ResolvedConnectionLimits,
  ) {
    this.#limits = limits;
    this.partialPackets = new PartialPacketBudget(limits.maxPartialPacketBytes);
    this.options = options;
    this.store = store;
    this.logger = logger;
    this.hooks = hooks;
    this.decisions = decisions;
    this.spill = spill;
    this.sessionQueueBytes = this.persistedSessionQueueBytes = options.sessionQueueBytes;
    this.setSessionQueueBytes(options.sessionQueueBytes, true);
    this.faults = new FaultBoundary(logger, this.counters);
    this.retained = new RetainedMessages(store, decisions, (e) => this.onStoreError(e));
    this.router = new Router(this.tree, this.retained, this.counters, this.faults);
    this.registry = new SessionRegistry(this, this.tree, this.router);
    this.#sweep = setInterval(() => this.#checkTimeouts(), TIMEOUT_SWEEP_MS);
    this.#sweep.unref();
  }

  /** The resource limits in force. */
  get limits(): ResolvedConnectionLimits {
    return this.#limits;
  }

  /** Replaces the resource limits live: open connections follow them from their next packet. */
  setLimits(limits: ResolvedConnectionLimits): void {
    this.#limits = limits;
    this.partialPackets.maxBytes = limits.maxPartialPacketBytes;
  }

  #checkTimeouts(): void {
    const now = Date.now();
    for (const connection of this.#connections) {
      try {
        connection.checkTimeouts(now);
      } catch (error) {
        this.faults.report('timeout-sweep', error, connection.clientId);
        connection.abort();
      }
    }
    this.faults.run('timeout-sweep', undefined, () => this.throttle.sweep(now));
  }

  /** Restores sessions and retained messages from the store. */
  async restore(): Promise<void> {
    const now = Date.now();
    for (const record of await this.store.loadRetained()) {
      const message = new Message(record);
      if (message.isExpired(now)) watchCompletion(this.store.deleteRetained(record.topic), (e) => this.onStoreError(e));
      else this.retained.restore(message); // the policy in force now decides what comes back
    }
    if (this.options.clusterMode) return; // sessions are the cluster's: loaded when their client connects here
    await this.registry.restore(now);
    this.registry.reapplyQueuePersistence(); // a policy changed while stopped applies to restored sessions too

  }

  /**
   * Takes a new network connection (any duplex stream: TCP, TLS, WebSocket, in-memory). A
   * `refusal` (abuse limits) answers its CONNECT with a refusing CONNACK [MQTT-3.2.2-7] and closes it.
   */
  attach(socket: Duplex, hooks?: BrokerHooks, info?: ConnectionInfo, refusal?: Refusal): Connection {
    const connection = new Connection(this, refusal === undefined ? MQTT_PROTOCOL : refusingProtocol(refusal), socket, hooks ?? this.hooks, info);
    this.#connections.add(connection);
    this.counters.connectionsTotal++;
    return connection;
  }

  /**
   * Routes an application message (from a client, a will, `$SYS`, or an in-process service). Never
   * throws (the router contains its errors).
   */
  publish(message: Message): RouteResult {
    const cluster = this.cluster;
    // `$SYS` figures are each frontend's own.
    if (cluster === undefined || message.topic.startsWith('$SYS/')) return this.router.publish(message);
    cluster.prepare(message);
    const local = this.router.publish(message);
    if (local.undeliverable) return local;
    const remote = cluster.forward(message);
    if (remote.matched === 0 && remote.completion === undefined) return local;
    const completions = new CompletionSet();
    completions.add(local.completion);
    completions.add(remote.completion);
    return { ...local, matched: local.matched + remote.matched, completion: completions.done() };
  }

  /**
   * Called once by a connection when it closes: will, session detach. Runs from socket events and
   * timers, outside any packet's boundary: each step contains its own errors, so a failing detach
   * still publishes the will and a failing will still leaves the session detached.
   */
  connectionClosed(connection: TrackedConnection, wasConnected: boolean): void {
    this.#connections.delete(connection);
    if (!wasConnected) return;
    this.counters.connected--;
    const clientId = connection.clientId;
    for (const listener of this.disconnectListeners) this.faults.run('connection-close', clientId, () => listener(clientId));
    const session = connection.session;
    if (session === undefined) return;
    const will = connection.willOnClose;
    if (connection.connectedWithWill) this.cluster?.disconnected(clientId);
    if (session.channel === connection) {
      this.faults.run('connection-close', clientId, () => this.registry.detach(session));
      if (will !== undefined) this.faults.run('will', clientId, () => this.registry.scheduleWill(session, will));
    } else if (will !== undefined && will.delaySeconds === 0) {
      // Taken over: the new connection resumes the session, so only an undelayed will goes out [MQTT-3.1.3-9].
      this.faults.run('will', clientId, () => watchCompletion(this.publish(will.message).completion, (e) => this.onStoreError(e)));
    }
  }

  /** SessionContext: a background store write failed. */
  onStoreError(error: unknown): void {
    if (error instanceof OpsError && error.code === 'STO_QUOTA_EXCEEDED') {
      // The store is full: one warning per interval, not one per refused message.
      const now = Date.now();
      if (now - this.#lastQuotaWarning < QUOTA_WARNING_INTERVAL_MS) return;
      this.#lastQuotaWarning = now;
      this.logger.warn({ code: error.code, ...error.details }, `${error.message}; messages that need the store get 0x97 (Quota exceeded)`);
      return;
    }
    this.logger.error({ err: reasonOf(error) }, 'store write failed');
  }

  /**
   * Sets the session queue bound (live: every session's next message). When it is the memory
   * profile's default (`isDefault`), a persisted queue also gets no more than 1/16 of the store's
   * size limit (`persistence.maxSize`), so that one stuck persistent session cannot fill the store
   * for everyone either; a bound set explicitly applies as given.
   */
  setSessionQueueBytes(bytes: number, isDefault: boolean): void {
    this.sessionQueueBytes = bytes;
    const storeLimit = isDefault ? this.store.usage?.().limitBytes : undefined;
    this.persistedSessionQueueBytes = storeLimit === undefined ? bytes : Math.min(bytes, Math.floor(storeLimit / SESSION_SHARE));
  }

  /** SessionContext: a session dropped a message at its own queue bound; counted, and logged at most once per interval. */
  onQueueFull(session: Session, dropped: 'oldest' | 'new'): void {
    this.counters.messagesDropped++;
    this.counters.queueFullDrops++;
    warnAbuse(
      this.logger,
      'session-queue-full',
      {
        clientId: session.clientId,
        dropped,
        sessionDrops: session.droppedMessages,
        queuedBytes: session.queuedBytes,
        maxSessionQueueBytes: session.queuePersistent ? this.persistedSessionQueueBytes : this.sessionQueueBytes,
        strategy: this.options.queueFullStrategy,
        totalDrops: this.counters.queueFullDrops,
      },
      'session queue full: message dropped for this session only',
    );
  }

  /** Subscriptions held by in-process clients (the state store's and other services'). */
  #localSubscriptions(): number {
    let n = 0;
    for (const session of this.localSessions) n += session.subscriptions.size;
    return n;
  }

  /** Live figures. */
  stats(): BrokerStats {
    const c = this.counters;
    const sessions = this.registry.size;
    let disconnected = 0;
    for (const session of this.registry.sessions()) if (!session.connected) disconnected++;
    return {
      name: this.options.name,
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      clients: {
        connected: c.connected,
        sessions,
        disconnectedSessions: disconnected,
        totalConnections: c.connectionsTotal,
        maxConnected: c.maxConnected,
        rejectedConnections: c.connectionsRejected,
        limitedConnections: c.connectionsLimited,
        oversizedConnects: c.connectsTooLarge,
        authenticationFailures: c.authenticationFailures,
        throttledPublishers: this.throttle.pausedCount,
      },
      subscriptions: this.tree.size,
      retained: this.retained.size,
      system: { subscriptions: this.#localSubscriptions(), retained: this.retained.systemSize },
      internalErrors: c.internalErrors,
      messages: {
        received: c.messagesReceived,
        sent: c.messagesSent,
        dropped: c.messagesDropped,
        queueFullDrops: c.queueFullDrops,
        undeliverable: c.messagesUndeliverable,
        queued: c.queued,
        spilled: c.spilled,
        inflight: c.inflight,
      },
      bytes: { received: c.bytesReceived, sent: c.bytesSent },
      limits: {
        partialPacketBytes: this.partialPackets.usedBytes,
        partialPacketTimeouts: c.partialPacketTimeouts,
        partialPacketsRefused: c.partialPacketsRefused,
        subscriptionsRefused: c.subscriptionsRefused,
      },
    };
  }

  /** Disconnects every client with 0x8B [MQTT-3.14.2-1] and stops timers. */
  shutdown(): void {
    this.closing = true;
    clearInterval(this.#sweep);
    for (const connection of [...this.#connections]) connection.disconnect(ReasonCode.ServerShuttingDown);
    this.registry.stop();
  }
}
