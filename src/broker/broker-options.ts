/**
 * Broker options: the engine's view of the Broker resource's deployment-time settings
 * (`memoryProfile`, `advanced.clients`) plus engine-only knobs.
 */

import type { ConnectionLimits } from '../shared/connection-limit-types.js';
import { MEMORY_PROFILES, type MemoryProfile } from '../shared/memory-profiles.js';

export { MEMORY_PROFILES, type MemoryProfile, type MemoryProfileLimits } from '../shared/memory-profiles.js';

/** Strategy when a subscriber queue is full (`advanced.clients.subscriberQueueLimit.strategy`). */
export type QueueFullStrategy = 'None' | 'DropOldest';

/** `advanced.clients` of the Broker resource; every field optional as in AIO. */
export interface ClientLimits {
  /** Upper bound on a session's expiry interval; also the expiry of MQTT 3.1.1 `cleanSession=false` sessions. Default 86400 (1 day). */
  maxSessionExpirySeconds?: number;
  /** Upper bound on a message's expiry interval (messages without one get this). Default: unbounded. */
  maxMessageExpirySeconds?: number;
  /** Maximum packet size the broker accepts and advertises. Default: the memory profile's. */
  maxPacketSizeBytes?: number;
  /** The Receive Maximum the broker advertises to clients (inbound QoS 1/2 window). Default 65535. */
  maxReceiveMaximum?: number;
  /** Upper bound on keep-alive; a v5 client asking for more (or 0) gets this as Server Keep Alive. Default 65535. */
  maxKeepAliveSeconds?: number;
  /**
   * Per-subscriber queue bound in messages (AIO). `DropOldest` drops the oldest waiting message at
   * `length`; `None` never drops by count (as AIO). The strategy also says what happens at the
   * session's byte bound (`ConnectionLimits.maxSessionQueueBytes`): `DropOldest` drops the oldest
   * until the new message fits, `None` drops the new message, for that session only. Default:
   * unbounded in count, strategy `None`.
   */
  subscriberQueueLimit?: { length: number; strategy?: QueueFullStrategy };
}

/** Options of {@link createBroker}. */
export interface BrokerOptions {
  /** Memory profile; default `Medium`. */
  memoryProfile?: MemoryProfile;
  /** `advanced.clients` limits. */
  clients?: ClientLimits;
  /** Unacknowledged QoS 1/2 PUBLISHes in flight to an MQTT 3.1.1 client (which cannot say its Receive Maximum). Default 100. */
  v3InflightLimit?: number;
  /** Topic Alias Maximum the broker advertises (inbound aliases). Default 1024. */
  topicAliasMaximum?: number;
  /** Seconds between `$SYS/broker/...` updates; 0 disables them. Default 10. */
  sysIntervalSeconds?: number;
  /** Bytes of unwritten output per connection above which QoS 0 messages to it are dropped and QoS 1/2 wait. Default 4 MiB. */
  outputHighWaterMark?: number;
  /** Milliseconds a new connection has to send CONNECT. Default 10000. */
  connectTimeoutMs?: number;
  /** Broker name reported in `$SYS` and stats. Default `ops-broker`. */
  name?: string;
  /** Memory for queued messages in bytes (payload plus per-message overhead). Default: the memory profile's. */
  queuedBytesBudget?: number;
  /** Abuse limits on connections (per remote address, CONNECT size); changeable later with `Broker.setConnectionLimits`. */
  connectionLimits?: ConnectionLimits;
  /**
   * A frontend of a cluster (the store is shared by every frontend): sessions are not restored at
   * start (each is loaded when its client connects here, see `src/cluster/`); retained messages are.
   */
  clusterMode?: boolean;
}

export type { ConnectionLimits } from '../shared/connection-limit-types.js';

/** {@link ConnectionLimits} with defaults applied. */
export interface ResolvedConnectionLimits {
  readonly maxConnectionsPerAddress: number;
  readonly maxConnectionRatePerAddress: number;
  readonly maxConnectPacketBytes: number;
  readonly maxSessionQueueBytes: number;
  readonly maxSubscriptionsPerClient: number;
  readonly maxTopicLevels: number;
  readonly partialPacketTimeoutSeconds: number;
  readonly maxPartialPacketBytes: number;
  readonly maxAuthFailuresPerAddress: number;
  readonly authFailureWindowSeconds: number;
  readonly authBlockSeconds: number;
}

/** Default failed authentications per address and window before the address is blocked. */
export const DEFAULT_MAX_AUTH_FAILURES_PER_ADDRESS = 10;
/** Default window of counted failed authentications, seconds. */
export const DEFAULT_AUTH_FAILURE_WINDOW_SECONDS = 60;
/** Default (first) block of an address, seconds. */
export const DEFAULT_AUTH_BLOCK_SECONDS = 60;

/** Default largest CONNECT before authentication: 64 KiB (a CONNECT with a will of a few KiB fits easily). */
export const DEFAULT_MAX_CONNECT_PACKET_BYTES = 64 * 1024;
/** Default subscriptions per session: far above what a device or service uses, far below what stalls the broker. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT = 10_000;
/** Default levels per topic name or filter (VerneMQ allows 10, Mosquitto 200). */
export const DEFAULT_MAX_TOPIC_LEVELS = 100;
/** Default seconds a started packet has to arrive whole (a 256 MB packet at 10 MB/s takes 26 s). */
export const DEFAULT_PARTIAL_PACKET_TIMEOUT_SECONDS = 30;

/** Estimated memory a waiting delivery costs beyond its payload; counted against the session bound and the budget. */
export const QUEUED_DELIVERY_OVERHEAD_BYTES = 512;

/**
 * Default bound on bytes of incomplete packets: a quarter of the memory profile's queue budget, and
 * never below one maximum packet (Tiny 4 MiB, Low 16 MiB, Medium 108 MiB, High 384 MiB).
 */
export function defaultMaxPartialPacketBytes(maxPacketSizeBytes: number, queuedBytesBudget: number): number {
  return Math.max(maxPacketSizeBytes, Math.floor(queuedBytesBudget / 4));
}

/**
 * Applies defaults to {@link ConnectionLimits}; the CONNECT limit is capped by `maxPacketSizeBytes`,
 * the partial-packet bound defaults from both and `queuedBytesBudget` (see {@link defaultMaxPartialPacketBytes}),
 * the session queue bound to `sessionQueueBytes` (the memory profile's).
 */
export function resolveConnectionLimits(
  limits: ConnectionLimits = {},
  maxPacketSizeBytes = MEMORY_PROFILES.Medium.maxPacketSizeBytes,
  queuedBytesBudget = MEMORY_PROFILES.Medium.queuedBytesBudget,
  sessionQueueBytes = MEMORY_PROFILES.Medium.sessionQueueBytes,
): ResolvedConnectionLimits {
  return Object.freeze({
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress ?? 0,
    maxConnectionRatePerAddress: limits.maxConnectionRatePerAddress ?? 0,
    maxConnectPacketBytes: Math.min(limits.maxConnectPacketBytes ?? DEFAULT_MAX_CONNECT_PACKET_BYTES, maxPacketSizeBytes),
    maxSessionQueueBytes: limits.maxSessionQueueBytes ?? sessionQueueBytes,
    maxSubscriptionsPerClient: positiveOr(limits.maxSubscriptionsPerClient, DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT),
    maxTopicLevels: positiveOr(limits.maxTopicLevels, DEFAULT_MAX_TOPIC_LEVELS),
    partialPacketTimeoutSeconds: positiveOr(limits.partialPacketTimeoutSeconds, DEFAULT_PARTIAL_PACKET_TIMEOUT_SECONDS),
    maxPartialPacketBytes: positiveOr(limits.maxPartialPacketBytes, defaultMaxPartialPacketBytes(maxPacketSizeBytes, queuedBytesBudget)),
    maxAuthFailuresPerAddress: limits.maxAuthFailuresPerAddress ?? DEFAULT_MAX_AUTH_FAILURES_PER_ADDRESS,
    authFailureWindowSeconds: Math.max(1, limits.authFailureWindowSeconds ?? DEFAULT_AUTH_FAILURE_WINDOW_SECONDS),
    authBlockSeconds: Math.max(1, limits.authBlockSeconds ?? DEFAULT_AUTH_BLOCK_SECONDS),
  });
}

/** `value` when it is a positive number, else `fallback` (0 or unset: the default). */
function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

/** Fully resolved broker options. */
export interface ResolvedBrokerOptions {
  readonly memoryProfile: MemoryProfile;
  readonly maxSessionExpirySeconds: number;
  readonly maxMessageExpirySeconds: number | undefined;
  readonly maxPacketSizeBytes: number;
  readonly receiveMaximum: number;
  readonly maxKeepAliveSeconds: number;
  readonly queueLimit: number;
  readonly queueFullStrategy: QueueFullStrategy;
  readonly queuedBytesBudget: number;
  /** The memory profile's default for {@link ConnectionLimits.maxSessionQueueBytes}. */
  readonly sessionQueueBytes: number;
  readonly v3InflightLimit: number;
  readonly topicAliasMaximum: number;
  readonly sysIntervalSeconds: number;
  readonly outputHighWaterMark: number;
  readonly connectTimeoutMs: number;
  readonly name: string;
  readonly clusterMode: boolean;
}

/** Applies defaults to {@link BrokerOptions}. */
export function resolveBrokerOptions(options: BrokerOptions = {}): ResolvedBrokerOptions {
  const memoryProfile = options.memoryProfile ?? 'Medium';
  const profile = MEMORY_PROFILES[memoryProfile];
  const clients = options.clients ?? {};
  return Object.freeze({
    memoryProfile,
    maxSessionExpirySeconds: clients.maxSessionExpirySeconds ?? 86_400,
    maxMessageExpirySeconds: clients.maxMessageExpirySeconds,
    maxPacketSizeBytes: Math.min(clients.maxPacketSizeBytes ?? profile.maxPacketSizeBytes, 268_435_455),
    receiveMaximum: clients.maxReceiveMaximum ?? 65_535,
    maxKeepAliveSeconds: clients.maxKeepAliveSeconds ?? 65_535,
    queueLimit: clients.subscriberQueueLimit?.length ?? Number.POSITIVE_INFINITY,
    queueFullStrategy: clients.subscriberQueueLimit?.strategy ?? 'None',
    queuedBytesBudget: options.queuedBytesBudget ?? profile.queuedBytesBudget,
    sessionQueueBytes: profile.sessionQueueBytes,
    v3InflightLimit: options.v3InflightLimit ?? 100,
    topicAliasMaximum: options.topicAliasMaximum ?? 1024,
    sysIntervalSeconds: options.sysIntervalSeconds ?? 10,
    outputHighWaterMark: options.outputHighWaterMark ?? 4 * 1024 * 1024,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    name: options.name ?? 'ops-broker',
    clusterMode: options.clusterMode ?? false,
  });
}
