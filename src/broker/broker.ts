import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { OpsError, reasonOf } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import type { BrokerStore, MessageRecord, StoreUsage } from '../storage/broker-store.js';
import { MemoryBrokerStore } from '../storage/memory/memory-broker-store.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import { warnAbuse } from './abuse-log.js';
import { AddressLimiter, normalizeAddress } from './address-limiter.js';
import { BrokerCore } from './broker-core.js';
import type { ClusterLink } from './cluster-link.js';
import { ClusterEngine } from './cluster-engine.js';
import type { Session } from './session.js';
import { Connection } from './connection.js';
import type { Refusal } from './handlers/refusals.js';
import type { BrokerHooks, ClientIdentity, ConnectionInfo } from './hooks.js';
import { LocalClient } from './local-client.js';
import { Message } from './message.js';
import { PERSIST_EVERYTHING, type PersistenceDecisions } from './persistence-decisions.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import {
  resolveBrokerOptions,
  resolveConnectionLimits,
  type BrokerOptions,
  type ConnectionLimits,
  type ResolvedBrokerOptions,
  type ResolvedConnectionLimits,
} from './broker-options.js';
import type { BrokerStats } from './stats.js';
import { SysTopicPublisher } from './sys-topics.js';

/** Options of {@link createBroker}: the engine options plus its collaborators. */
export interface CreateBrokerOptions extends BrokerOptions {
  /** Where sessions, queues and retained messages are kept; default a new {@link MemoryBrokerStore}. */
  store?: BrokerStore;
  /** Structured logger; default silent. */
  logger?: Logger;
  /** Authentication and authorization decisions; default allow all. */
  hooks?: BrokerHooks;
  /** What goes to the store (persistence policy); default everything the store can hold. */
  persistence?: PersistenceDecisions;
  /** Disk-backed message buffer for queues that are not persisted; default none (over budget: drop). Closed with the broker. */
  diskBuffer?: SpillBuffer;
}

/** One session's queue, as {@link Broker.sessionQueue} reports it. */
export interface SessionQueueFigures {
  /** Messages waiting (not in flight). */
  readonly messages: number;
  /** Their cost against the session's bound: payload + per-message overhead each. */
  readonly bytes: number;
  /** Messages the session dropped at its own bound since the broker started. */
  readonly dropped: number;
}

/** Per-connection options of {@link Broker.attach}. */
export interface AttachOptions {
  readonly hooks?: BrokerHooks;
  readonly info?: ConnectionInfo;
}

/** Where a TCP listener ended up. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The embeddable MQTT 3.1.1/5.0 broker. */
export class Broker {
  readonly options: ResolvedBrokerOptions;
  /** Resolves once state is restored from the store; `listen` and `attach` wait for it. */
  readonly ready: Promise<void>;
  readonly #core: BrokerCore;
  readonly #sys: SysTopicPublisher;
  readonly #servers = new Set<Server>();
  readonly #limiter: AddressLimiter;
  #closed = false;
  #isReady = false;

  constructor(options: CreateBrokerOptions = {}) {
    this.options = resolveBrokerOptions(options);
    const limits = this.#resolveLimits(options.connectionLimits);
    this.#core = new BrokerCore(this.options, options.store ?? new MemoryBrokerStore(), options.logger ?? silentLogger, options.hooks ?? {}, options.persistence ?? PERSIST_EVERYTHING, options.diskBuffer, limits);
    this.#sys = new SysTopicPublisher(this.#core);
    this.#limiter = new AddressLimiter(limits);
    this.#core.authBackoff.setLimits(limits);
    this.#core.setSessionQueueBytes(limits.maxSessionQueueBytes, options.connectionLimits?.maxSessionQueueBytes === undefined);
    this.ready = this.#core.restore().then(() => {
      this.#isReady = true;
      this.#sys.start(this.options.sysIntervalSeconds);
    });
  }

  /**
   * Cluster mode: makes this engine a frontend of `link`'s cluster (before any client connects):
   * messages published here are also forwarded, shared groups are picked cluster-wide, sessions are
   * claimed on CONNECT, and the link is told of every user session's subscriptions (in-process
   * services' sessions are this frontend's own). Returns what the cluster does to the engine.
   */
  joinCluster(link: ClusterLink): ClusterEngine {
    const core = this.#core;
    core.cluster = link;
    core.router.pickLocally = (group) => link.pickLocally(group);
    // In-process sessions stay this frontend's own, unless made cluster-visible (the state store leader's).
    const users = (session: Session): boolean => !core.localSessions.has(session) || core.clusterLocalSessions.get(session.clientId) === session;
    core.registry.observer = {
      subscribed: (session, subscription) => {
        if (users(session)) link.subscribed(session.clientId, subscription);
      },
      unsubscribed: (session, filter) => {
        if (users(session)) link.unsubscribed(session.clientId, filter);
      },
      left: (session) => {
        if (users(session)) link.left(session.clientId);
      },
    };
    return new ClusterEngine(core);
  }

  /** Opens a TCP listener; resolves with the bound address (port 0 picks a free port). */
  async listen(options: { port?: number; host?: string } = {}): Promise<ListenAddress> {
    await this.ready;
    if (this.#closed) throw new OpsError('BRK_CLOSED');
    const server = createServer({ noDelay: true }, (socket) => this.attach(socket));
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new OpsError('BRK_LISTEN_FAILED', { address: `${host}:${options.port ?? 0}`, reason: error.message })));
      server.listen(options.port ?? 0, host, () => resolve());
    });
    this.#servers.add(server);
    const address = server.address();
    if (address === null || typeof address === 'string') throw new OpsError('BRK_LISTEN_FAILED', { address: host, reason: 'no TCP address' });
    return { host: address.address, port: address.port };
  }

  /**
   * Serves MQTT on any duplex stream (a TCP/TLS socket, a WebSocket stream, an in-memory pair).
   * `options.hooks` replace the broker's authentication/authorization for this connection (AIO: each
   * listener port names its own); `options.info` tells them where the client came from.
   */
  attach(socket: Duplex, options: AttachOptions = {}): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const refusal = this.#admit(socket, options.info);
    if (refusal === 'drop') return;
    if (this.#isReady) {
      this.#serve(socket, options, refusal);
      return;
    }
    socket.on('error', ignoreError); // until the connection owns it, an error must not reach the process
    this.ready.then(
      () => {
        if (this.#closed) socket.destroy();
        else this.#serve(socket, options, refusal);
      },
      () => socket.destroy(),
    );
  }

  /** Runs from a listener's callback or a promise continuation: an error is contained and the socket closed. */
  #serve(socket: Duplex, options: AttachOptions, refusal: Refusal | undefined): void {
    try {
      // The remote address is a fact of the connection (per-address authentication backoff, password-check fairness).
      const info = options.info;
      const remoteAddress = info?.remoteAddress === undefined ? (socket as Duplex & { remoteAddress?: string }).remoteAddress : undefined;
      const connection = this.#core.attach(socket, options.hooks, remoteAddress === undefined ? info : { ...info, remoteAddress }, refusal);
      connection.decoder.limitFirstPacket(this.#limiter.limits.maxConnectPacketBytes);
    } catch (error) {
      this.#core.faults.report('attach', error);
      socket.destroy();
    }
  }

  /**
   * Per-address limits, before anything is read: every connection is counted until its socket
   * closes (so limits set later see what is open); a refused one is answered at its CONNECT (0x97 too many open, 0x9F too fast),
   * or, beyond a few pending refusals per address, closed unread.
   */
  #admit(socket: Duplex, info: ConnectionInfo | undefined): Refusal | 'drop' | undefined {
    const limiter = this.#limiter;
    const raw = info?.remoteAddress ?? (socket as Duplex & { remoteAddress?: string }).remoteAddress;
    if (raw === undefined) return undefined; // an in-memory stream has no address
    const address = normalizeAddress(raw);
    const admission = limiter.admit(address);
    if (admission === 'ok') {
      socket.once('close', () => limiter.connectionClosed(address));
      return undefined;
    }
    const counters = this.#core.counters;
    counters.connectionsLimited++;
    const { maxConnectionsPerAddress, maxConnectionRatePerAddress } = limiter.limits;
    const reason =
      admission === 'too-fast'
        ? `more than ${maxConnectionRatePerAddress} new connections per second from ${address}`
        : `more than ${maxConnectionsPerAddress} connections from ${address}`;
    warnAbuse(this.#core.logger, 'address-limit', { remoteAddress: address, reason }, 'connection refused: per-address limit');
    if (admission === 'drop') {
      counters.connectionsRejected++;
      socket.destroy();
      return 'drop';
    }
    socket.once('close', () => limiter.refusalDone(address));
    // MQTT 5: 0x9F Connection rate exceeded; 0x97 Quota exceeded for an administrative limit
    return { reasonCode: admission === 'too-fast' ? ReasonCode.ConnectionRateExceeded : ReasonCode.QuotaExceeded, reasonString: reason };
  }

  /** The abuse limits in force (per-address connections and rate, CONNECT size, failed-authentication backoff, session queue bound, subscriptions, topic levels, partial packets). */
  get connectionLimits(): ResolvedConnectionLimits {
    return this.#core.limits;
  }

  /**
   * Replaces the abuse limits live. Connections already open stay open; the subscription, topic-level
   * and partial-packet limits apply to their next packets, a new session queue bound to every
   * session's next message; blocks in force keep their end.
   */
  setConnectionLimits(limits: ConnectionLimits): void {
    const resolved = this.#resolveLimits(limits);
    this.#limiter.setLimits(resolved);
    this.#core.authBackoff.setLimits(resolved);
    this.#core.setLimits(resolved);
    this.#core.setSessionQueueBytes(resolved.maxSessionQueueBytes, limits.maxSessionQueueBytes === undefined);
  }

  /**
   * Applies a replaced persistence policy to the sessions already there, connected or offline: their
   * next queued messages follow it at once, and their records keep the choice across a restart.
   * Retained messages follow the new policy from their next PUBLISH, and at the next start (the
   * policy in force then decides what is restored). Returns how many sessions changed.
   */
  persistencePolicyChanged(): number {
    return this.#core.registry.reapplyQueuePersistence();
  }

  #resolveLimits(limits: ConnectionLimits | undefined): ResolvedConnectionLimits {
    return resolveConnectionLimits(limits, this.options.maxPacketSizeBytes, this.options.queuedBytesBudget, this.options.sessionQueueBytes);
  }

  /** A session's queue: waiting messages, their cost against its bound, and what it dropped there; undefined when there is no such session. */
  sessionQueue(clientId: string): SessionQueueFigures | undefined {
    const session = this.#core.registry.get(clientId);
    if (session === undefined) return undefined;
    return { messages: session.queueLength, bytes: session.queuedBytes, dropped: session.droppedMessages };
  }

  /**
   * Publishes a message from inside the process (services, tests); resolves when stored. Rejects
   * with BRK_MESSAGE_UNENCODABLE when the message cannot be encoded (nothing is stored or sent).
   */
  async publish(record: MessageRecord): Promise<void> {
    await this.ready;
    const message = new Message(record);
    const result = this.#core.publish(message);
    if (result.undeliverable) {
      const error = message.encodingError;
      throw new OpsError('BRK_MESSAGE_UNENCODABLE', { topic: record.topic, reason: reasonOf(error) });
    }
    await result.completion;
  }

  /**
   * An in-process client for services (subscribe with a handler, publish); see {@link LocalClient}.
   * `options.clusterVisible` (cluster mode): other frontends route matching messages to it.
   */
  createLocalClient(clientId: string, options: { readonly clusterVisible?: boolean } = {}): LocalClient {
    return new LocalClient(this.#core, clientId, options.clusterVisible === true);
  }

  /** Whether `clientId` is connected to this broker (in cluster mode: to this frontend). */
  isConnectedHere(clientId: string): boolean {
    return this.#core.registry.get(clientId)?.channel instanceof Connection;
  }

  /** Registers a listener called with the client id whenever a connected client goes away; returns an unsubscribe. */
  onClientDisconnected(listener: (clientId: string) => void): () => void {
    this.#core.disconnectListeners.add(listener);
    return () => this.#core.disconnectListeners.delete(listener);
  }

  /** Who a connected client is (username, authentication attributes), for service authorization. */
  identityOf(clientId: string): ClientIdentity | undefined {
    const channel = this.#core.registry.get(clientId)?.channel;
    return channel instanceof Connection ? channel.identity : undefined;
  }

  /**
   * Whether `clientId` may publish to `topic` now: the decision its own PUBLISH would get from the
   * hooks of the port it connected through (services acting on a client's behalf, e.g. the state
   * store answering on a request's response topic). A client id with no connection may not.
   */
  mayPublishAs(clientId: string, topic: string): boolean {
    const channel = this.#core.registry.get(clientId)?.channel;
    if (!(channel instanceof Connection)) return false;
    const check = channel.hooks.authorizePublish;
    return check === undefined || check(channel.identity, topic);
  }

  /**
   * Whether `clientId` may subscribe to `filter` now: the decision its own SUBSCRIBE would get from
   * the hooks of the port it connected through. A client id with no connection may not.
   */
  maySubscribeAs(clientId: string, filter: string): boolean {
    const channel = this.#core.registry.get(clientId)?.channel;
    if (!(channel instanceof Connection)) return false;
    const check = channel.hooks.authorizeSubscribe;
    return check === undefined || check(channel.identity, filter);
  }

  /**
   * Disconnects a connected client (services enforcing their rules, e.g. the state store's
   * forbidden response topics) with a v5 reason code and reason string; false when not connected.
   */
  disconnectClient(clientId: string, reasonCode: number, reasonString: string): boolean {
    const channel = this.#core.registry.get(clientId)?.channel;
    if (!(channel instanceof Connection)) return false;
    channel.disconnect(reasonCode, reasonString);
    return true;
  }

  /** The store's size against its limit (`persistence.maxSize`), when the store reports it. */
  storeUsage(): StoreUsage | undefined {
    return this.#core.store.usage?.();
  }

  /** The disk-backed message buffer's use, when one is configured. */
  diskBufferUsage(): { usedBytes: number; maxBytes: number } | undefined {
    const spill = this.#core.spill;
    return spill === undefined ? undefined : { usedBytes: spill.usedBytes, maxBytes: spill.maxBytes };
  }

  /** Live figures (clients, sessions, subscriptions, messages, bytes). */
  stats(): BrokerStats {
    return this.#core.stats();
  }

  /** Graceful shutdown: stop accepting, DISCONNECT 0x8B to v5 clients, close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.ready.catch(() => undefined);
    const closing = [...this.#servers].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.#sys.stop();
    this.#core.shutdown();
    await Promise.all(closing);
    await this.#core.store.close();
    await this.#core.spill?.close();
  }
}

function ignoreError(): void {
  // The connection's own listener closes it.
}

/** Creates a broker; call `listen` or `attach` to serve clients. */
export function createBroker(options: CreateBrokerOptions = {}): Broker {
  return new Broker(options);
}
