/**
 * The state store service inside the broker: an in-process client on the request topic that
 * answers RESP3 requests on each request's response topic and publishes key notifications
 * (docs/reference/state-store-protocol.md §1, §4).
 */
import { randomUUID } from 'node:crypto';
import type { Broker } from '../../broker/broker.js';
import type { SenderAuthorizer } from '../../broker/hooks.js';
import type { LocalClient, LocalMessage } from '../../broker/local-client.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { silentLogger, type Logger } from '../../shared/log.js';
import { checkTopicName, MAX_TOPIC_BYTES } from '../../shared/topic.js';
import type { Completion, MessagePropertiesRecord } from '../../storage/broker-store.js';
import { executeCommand, type CommandContext, type RemoteRequester, type StateStoreAuthorizer } from './commands.js';
import { CONTENT_TYPE, notificationTopic, NOTIFY_TOPIC_ROOT, PROP, PROTOCOL_VERSION, REQUEST_TOPIC } from '../../shared/state-store-wire.js';
import { ERR } from './constants.js';
import { DedupCache, type CachedResponse } from './dedup-cache.js';
import { formatHlc, type Hlc } from '../../shared/hlc-text.js';
import { HybridClock } from './server-clock.js';
import { NotifyRegistry } from './notify-registry.js';
import { encodeError, encodeNotifySet, NOTIFY_DELETE, parseRequest, REPLY_SYNTAX_ERROR, type ParsedRequest } from './resp3-server.js';
import { KeyPersistence, type StateStorePersistence } from './key-persistence.js';
import { keyIdOf, KeyStore, type ChangeEvent, type StoredEntry } from './key-value-store.js';

/** Options of {@link startStateStore}. */
export interface StateStoreOptions {
  /** HLC node id of the server (no `:`); default a random UUID. */
  readonly nodeId?: string;
  /** Wall clock in ms; default `Date.now`. */
  readonly now?: () => number;
  /** Key-level authorization (BrokerAuthorization `stateStoreResources`); default allow all. */
  readonly authorize?: StateStoreAuthorizer;
  readonly logger?: Logger;
  /** Largest request payload in bytes; larger ones get `-ERR the quota has been exceeded`. Default 4 MiB. */
  readonly maxRequestBytes?: number;
  /** Key-count quota; default unlimited. */
  readonly maxKeys?: number;
  /** Responses remembered for duplicate requests; default 10 000. */
  readonly dedupCapacity?: number;
  /** How long a response is remembered, in ms; default 60 000. */
  readonly dedupTtlMs?: number;
  /** Client id of the service's in-process client; default `$ops-statestore`. */
  readonly localClientId?: string;
  /**
   * Persistence of policy-selected keys (stateStore policy): restored at start, written through
   * on SET (the response waits for the durable write), deleted on DEL, VDEL and expiry.
   * Absent: every key is memory only.
   */
  readonly persistence?: StateStorePersistence;
  /**
   * Cluster mode (this frontend is the state store leader, docs/cluster.md "State store"): the
   * service's client is cluster-visible, so requests published on any frontend reach it. A requester
   * connected to another frontend comes with its identity and its port's authorization resource
   * (the message's `remoteSender`): its response topic, notification topic and keys are decided with
   * those rules ({@link remoteAuthorizer}), as its own frontend would. Default false.
   */
  readonly cluster?: boolean;
  /**
   * Cluster mode: the compiled rules of an authorization resource, by name (a remote requester's
   * port names it). Absent: a remote requester whose port has authorization is denied everything.
   */
  readonly remoteAuthorizer?: (authorization: string) => SenderAuthorizer;
  /** A version the clock starts above (the previous leader's high-water mark); default none. */
  readonly clockFloor?: Hlc;
}

/** A running state store. */
export interface StateStoreService {
  /** Number of live keys (for `ops broker stats`). */
  readonly keyCount: number;
  /**
   * Resolves once persisted keys are restored (at once without persistence); requests that arrive
   * before are answered after. Rejects when the store could not be read (STO_* errors).
   */
  readonly ready: Promise<void>;
  /** The server clock's current value: every version handed out so far is at most this. */
  readonly clock: Hlc;
  /** Unsubscribes, stops the expiry timer and drops every key and registration. */
  stop(): void;
}

const ALLOW_ALL: StateStoreAuthorizer = () => true;
const NO_EVENTS: readonly ChangeEvent[] = [];

/** The user properties the service reads (the first value of each), found in one pass. */
interface RequestUserProperties {
  timestamp: string | undefined;
  fencingToken: string | undefined;
  protocolVersion: string | undefined;
}

function readUserProperties(props: MessagePropertiesRecord | undefined): RequestUserProperties {
  const found: RequestUserProperties = { timestamp: undefined, fencingToken: undefined, protocolVersion: undefined };
  const list = props?.userProperties;
  if (list === undefined) return found;
  for (const [name, value] of list) {
    if (name === PROP.timestamp) found.timestamp ??= value;
    else if (name === PROP.fencingToken) found.fencingToken ??= value;
    else if (name === PROP.protocolVersion) found.protocolVersion ??= value;
  }
  return found;
}

/** Whether a request's `__protVer` is one the service speaks (major 1; absent means 1.0). */
function supportedProtocolVersion(protVer: string | undefined): boolean {
  return protVer === undefined || protVer === PROTOCOL_VERSION || /^1(\.[0-9]+)?$/.test(protVer);
}

const STATUS_OK: readonly [string, string] = [PROP.status, '200'];
const PROTOCOL: readonly [string, string] = [PROP.protocolVersion, PROTOCOL_VERSION];
/** User properties of a 200 response without `__ts` (shared by every such response). */
const OK_NO_VERSION: CachedResponse['userProperties'] = [STATUS_OK, PROTOCOL];

/** A `__stat=200` response, with `__ts` when `ts` is given. */
function okResponse(payload: Buffer, ts?: string): CachedResponse {
  return { payload, userProperties: ts === undefined ? OK_NO_VERSION : [STATUS_OK, [PROP.timestamp, ts], PROTOCOL] };
}

/** Whether a response topic may not be used (§1.1). */
export function isForbiddenResponseTopic(topic: string): boolean {
  return topic === REQUEST_TOPIC || topic.startsWith(NOTIFY_TOPIC_ROOT) || checkTopicName(topic) !== undefined;
}

/**
 * Why the service may not answer `senderId` on `topic`, or undefined when it may: a topic §1.1
 * forbids, or one the requester may not publish to itself (the service must not publish where its
 * requester could not). `senderId` undefined: an in-process requester, not subject to authorization.
 */
function responseTopicRefusal(broker: Broker, senderId: string | undefined, topic: string, remote: Remote | undefined): string | undefined {
  if (isForbiddenResponseTopic(topic)) return `state store: response topic ${topic} is forbidden`;
  if (senderId === undefined) return undefined;
  if (remote === REMOTE_UNKNOWN) return undefined;
  const allowed = remote === undefined ? mayPublishAs(broker, senderId, topic) : decide(() => remote.mayPublish(topic));
  return allowed ? undefined : `state store: response topic ${topic} is forbidden: the client is not authorized to publish there`;
}

/** A rule's decision; a rule that throws denies. */
function decide(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** A requester connected to another frontend, decided with its port's rules (see StateStoreOptions.cluster). */
interface Remote extends RemoteRequester {
  mayPublish(topic: string): boolean;
}

/**
 * A requester connected to another frontend that came without its identity (a will published by a
 * survivor after its client's frontend died; an in-process publisher): like a requester with no
 * connection in the standalone broker, it is not subject to port authorization.
 */
const REMOTE_UNKNOWN: Remote = { mayUseKey: () => true, maySubscribe: () => true, mayPublish: () => true };

const DENY_ALL: Remote = { mayUseKey: () => false, maySubscribe: () => false, mayPublish: () => false };

/**
 * How a requester is decided: undefined when it is connected here (or not in cluster mode), else
 * with the rules of its own port, sent by its frontend with the request.
 */
function remoteOf(broker: Broker, message: LocalMessage, cluster: boolean, rules: ((authorization: string) => SenderAuthorizer) | undefined): Remote | undefined {
  const senderId = message.senderId;
  if (!cluster || senderId === undefined || broker.isConnectedHere(senderId)) return undefined;
  const sender = message.remoteSender;
  if (sender === undefined) return REMOTE_UNKNOWN;
  if (sender.identity.clientId !== senderId) return DENY_ALL; // not its publisher's identity
  if (sender.authorization === undefined) return REMOTE_UNKNOWN; // its port authorizes everything
  if (rules === undefined) return DENY_ALL;
  const authorizer = rules(sender.authorization);
  const identity = sender.identity;
  return {
    mayUseKey: (key, method) => authorizer.canUseKey(identity, key, method),
    maySubscribe: (topic) => authorizer.canSubscribe(identity, topic),
    mayPublish: (topic) => authorizer.canPublish(identity, topic),
  };
}

/** Cluster mode: whether `clientId` is connected to another frontend (its authorization is decided there). */
function isRemote(broker: Broker, clientId: string, cluster: boolean): boolean {
  return cluster && !broker.isConnectedHere(clientId);
}

/** The broker's decision for a PUBLISH by `clientId` to `topic`; an authorizer that throws denies. */
function mayPublishAs(broker: Broker, clientId: string, topic: string): boolean {
  try {
    return broker.mayPublishAs(clientId, topic);
  } catch {
    return false;
  }
}

class Service implements StateStoreService {
  readonly #broker: Broker;
  readonly #local: LocalClient;
  readonly #logger: Logger;
  readonly #maxRequestBytes: number;
  readonly #ctx: CommandContext;
  readonly #store: KeyStore;
  readonly #notify = new NotifyRegistry();
  readonly #cache: DedupCache;
  readonly #offDisconnect: () => void;
  readonly #persistence: KeyPersistence | undefined;
  readonly ready: Promise<void>;
  /** Requests that arrived while restoring. */
  #backlog: LocalMessage[] | undefined;
  /** Deliveries waiting behind a durable write, so responses and notifications keep their order. */
  #waiting = 0;
  #tail: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #cluster: boolean;
  readonly #remoteAuthorizer: ((authorization: string) => SenderAuthorizer) | undefined;
  readonly #clock: HybridClock;

  constructor(broker: Broker, options: StateStoreOptions) {
    const now = options.now ?? (() => Date.now());
    this.#broker = broker;
    const clock = new HybridClock(options.nodeId ?? randomUUID(), now);
    if (options.clockFloor !== undefined) clock.observe(options.clockFloor);
    this.#clock = clock;
    const cluster = options.cluster === true;
    this.#cluster = cluster;
    this.#remoteAuthorizer = options.remoteAuthorizer;
    this.#logger = options.logger ?? silentLogger;
    this.#maxRequestBytes = options.maxRequestBytes ?? 4 * 1024 * 1024;
    this.#cache = new DedupCache(options.dedupCapacity ?? 10_000, options.dedupTtlMs ?? 60_000, now);
    this.#store = new KeyStore({ clock, now, onExpired: (event) => this.#onExpired(event) });
    this.#persistence = options.persistence === undefined ? undefined : new KeyPersistence(options.persistence, this.#logger);
    this.#ctx = {
      store: this.#store,
      clock,
      notify: this.#notify,
      now,
      authorize: options.authorize ?? ALLOW_ALL,
      // KEYNOTIFY publishes on the requester's notification topic: only if it may subscribe there (in-process requesters: '').
      authorizeNotifications: (clientId, topic) => clientId === '' || isRemote(broker, clientId, cluster) || broker.maySubscribeAs(clientId, topic),
      maxKeys: options.maxKeys ?? Number.POSITIVE_INFINITY,
    };
    this.#offDisconnect = broker.onClientDisconnected((clientId) => this.#notify.removeClient(clientId));
    this.#local = broker.createLocalClient(options.localClientId ?? '$ops-statestore', { clusterVisible: cluster });
    // LocalClient handlers run after routing (in arrival order), so responding here is safe.
    // QoS 0 in-process: nothing can be lost between the router and the service, and it skips the
    // session's in-flight bookkeeping; the request's own QoS (must be 1) is still checked.
    this.#local.subscribe(REQUEST_TOPIC, 0, (message) => this.#onRequest(message));
    this.ready = this.#restore(clock, now);
    this.ready.catch(() => undefined); // reported to whoever awaits it
  }

  async #restore(clock: HybridClock, now: () => number): Promise<void> {
    const persistence = this.#persistence;
    if (persistence === undefined || !persistence.supported) return;
    this.#backlog = [];
    try {
      const { restored, expired } = await persistence.restore(this.#store, clock, now());
      this.#logger.info({ restored, expired }, 'state store keys restored');
    } finally {
      const backlog = this.#backlog;
      this.#backlog = undefined;
      for (const message of backlog) this.#onRequest(message);
    }
  }

  /** Called from the key store's expiry timer: its errors are contained (logged), never thrown into the timer. */
  #onExpired(event: ChangeEvent): void {
    try {
      this.#persistence?.expired(event);
      this.#deliver(undefined, () => this.#publishEvents([event]));
    } catch (error) {
      this.#logger.error({ err: String(error) }, 'state store: key expiry failed');
    }
  }

  /**
   * Runs `deliver` once `write` is durable and every earlier delivery ran (at once when nothing
   * waits), with the write's error if it failed.
   */
  #deliver(write: Completion, deliver: (error: unknown) => void): void {
    if (write === undefined && this.#waiting === 0) {
      deliver(undefined);
      return;
    }
    this.#waiting++;
    const settled = write === undefined ? undefined : write.then(() => undefined, (error: unknown) => error ?? new Error('write failed'));
    this.#tail = this.#tail
      .then(() => settled)
      .then((error) => {
        this.#waiting--;
        if (!this.#stopped) deliver(error);
      })
      .catch((error: unknown) => this.#logger.error({ err: String(error) }, 'state store delivery failed'));
  }

  get clock(): Hlc {
    return this.#clock.current;
  }

  get keyCount(): number {
    return this.#store.size;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#offDisconnect();
    this.#local.close();
    this.#store.close();
    this.#notify.clear();
    this.#cache.clear();
  }

  #onRequest(message: LocalMessage): void {
    if (this.#stopped) return;
    if (this.#backlog !== undefined) {
      this.#backlog.push(message);
      return;
    }
    const props = message.properties;
    const clientId = message.senderId ?? '';
    const responseTopic = props?.responseTopic;
    const remote = remoteOf(this.#broker, message, this.#cluster, this.#remoteAuthorizer);
    const refusal = responseTopic === undefined ? undefined : responseTopicRefusal(this.#broker, message.senderId, responseTopic, remote);
    if (refusal !== undefined) {
      // §1.1: the real state store disconnects the client; nothing is executed and nothing is published there.
      // Cluster mode: a requester connected to another frontend cannot be disconnected from here; its request is dropped.
      const disconnected = this.#broker.disconnectClient(clientId, ReasonCode.ProtocolError, refusal);
      this.#logger.warn(
        { clientId, responseTopic, reason: refusal },
        disconnected ? 'state store request with a forbidden response topic: client disconnected' : 'state store request with a forbidden response topic: dropped',
      );
      return;
    }
    if (message.qos !== 1 || responseTopic === undefined) {
      this.#logger.warn({ clientId, qos: message.qos, responseTopic }, 'state store request dropped (not QoS 1 or no response topic)');
      return;
    }
    const correlationData = props?.correlationData;
    const cacheKey = correlationData === undefined ? undefined : DedupCache.keyOf(clientId, correlationData);
    const cached = cacheKey === undefined ? undefined : this.#cache.get(cacheKey);
    if (cacheKey !== undefined && cached !== undefined) {
      this.#deliver(undefined, () => this.#send(responseTopic, correlationData, this.#cache.get(cacheKey) ?? cached));
      return;
    }
    const parsed = message.payload.length > this.#maxRequestBytes ? undefined : parseRequest(message.payload);
    const { response, events, keyId, prior } = this.#answer(clientId, props, parsed, remote === REMOTE_UNKNOWN ? undefined : remote);
    if (cacheKey !== undefined) this.#cache.set(cacheKey, response);
    const write = events.length === 0 ? undefined : this.#persistence?.write(events, props?.userProperties ?? [], this.#store);
    if (write === undefined && this.#waiting === 0) {
      // The common case: nothing to wait for: answer now (no closure, no promise).
      this.#send(responseTopic, correlationData, response);
      this.#publishEvents(events);
      return;
    }
    const after = write === undefined || keyId === undefined ? undefined : this.#store.get(keyId);
    this.#deliver(write, (error) => {
      if (error === undefined) {
        this.#send(responseTopic, correlationData, response);
        this.#publishEvents(events);
        return;
      }
      // Not durable: undo the change if nothing replaced it since, and report the quota error.
      this.#logger.error({ clientId, err: String(error) }, 'state store: persisting a key failed');
      if (keyId !== undefined) this.#undo(keyId, prior, after);
      const failed = okResponse(encodeError(ERR.quotaExceeded));
      if (cacheKey !== undefined) this.#cache.set(cacheKey, failed);
      this.#send(responseTopic, correlationData, failed);
    });
  }

  #undo(keyId: string, prior: StoredEntry | undefined, after: StoredEntry | undefined): void {
    const current = this.#store.get(keyId);
    if (current?.generation !== after?.generation) return;
    if (prior === undefined) this.#store.delete(keyId);
    else this.#store.put(prior.key, prior.value, prior.version, prior.fencingToken, prior.expiresAt);
  }

  /**
   * `parsed`: the payload parsed, undefined when it is larger than allowed. With persistence, also
   * the key's id and its entry before the change (to undo a change that could not be persisted).
   */
  #answer(
    clientId: string,
    props: MessagePropertiesRecord | undefined,
    parsed: ParsedRequest | undefined,
    remote: RemoteRequester | undefined,
  ): { response: CachedResponse; events: readonly ChangeEvent[]; keyId?: string; prior?: StoredEntry | undefined } {
    const user = readUserProperties(props);
    const protVer = user.protocolVersion;
    if (!supportedProtocolVersion(protVer)) {
      const userProperties: [string, string][] = [
        [PROP.status, '505'],
        [PROP.statusMessage, `Unsupported protocol version ${protVer}; supported major version is 1`],
        [PROP.requestProtocolVersion, protVer ?? ''],
        [PROP.supportedMajorVersions, '1'],
        [PROP.protocolVersion, PROTOCOL_VERSION],
      ];
      return { response: { payload: Buffer.alloc(0), userProperties }, events: NO_EVENTS };
    }
    if (parsed === undefined) return { response: okResponse(encodeError(ERR.quotaExceeded)), events: NO_EVENTS };
    if (!parsed.ok) return { response: okResponse(REPLY_SYNTAX_ERROR), events: NO_EVENTS };
    const key = this.#persistence === undefined ? undefined : parsed.elements[1];
    const keyId = key === undefined ? undefined : keyIdOf(key);
    const prior = keyId === undefined ? undefined : this.#store.get(keyId);
    try {
      const result = executeCommand(this.#ctx, { clientId, elements: parsed.elements, timestamp: user.timestamp, fencingToken: user.fencingToken, remote });
      const response = okResponse(result.reply, result.version === undefined ? undefined : formatHlc(result.version));
      return keyId === undefined ? { response, events: result.events } : { response, events: result.events, keyId, prior };
    } catch (error) {
      this.#logger.error({ clientId, err: String(error) }, 'state store command failed');
      return { response: okResponse(REPLY_SYNTAX_ERROR), events: NO_EVENTS };
    }
  }

  #send(topic: string, correlationData: Buffer | undefined, response: CachedResponse): void {
    const properties: MessagePropertiesRecord =
      correlationData === undefined
        ? { contentType: CONTENT_TYPE, userProperties: response.userProperties }
        : { contentType: CONTENT_TYPE, userProperties: response.userProperties, correlationData };
    this.#publish(topic, response.payload, properties);
  }

  #publishEvents(events: readonly ChangeEvent[]): void {
    if (this.#stopped) return;
    for (const event of events) {
      const observers = this.#notify.observers(event.keyId);
      if (observers.length === 0) continue;
      const payload = event.kind === 'set' ? encodeNotifySet(event.value) : NOTIFY_DELETE;
      const userProperties: [string, string][] = [
        [PROP.timestamp, formatHlc(event.version)],
        [PROP.protocolVersion, PROTOCOL_VERSION],
      ];
      for (const clientId of observers) {
        const topic = notificationTopic(clientId, event.key);
        if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) continue;
        this.#publish(topic, payload, { contentType: CONTENT_TYPE, userProperties });
      }
    }
  }

  #publish(topic: string, payload: Buffer, properties: MessagePropertiesRecord): void {
    try {
      const completion = this.#local.send({ topic, payload, qos: 1, retain: false, properties });
      if (completion !== undefined) {
        completion.catch((error: unknown) => this.#logger.warn({ topic, err: String(error) }, 'state store publish failed'));
      }
    } catch (error) {
      this.#logger.warn({ topic, err: String(error) }, 'state store publish failed');
    }
  }
}

/** Starts the state store on `broker`; see {@link StateStoreOptions}. */
export function startStateStore(broker: Broker, options: StateStoreOptions = {}): StateStoreService {
  return new Service(broker, options);
}
