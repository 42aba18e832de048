/**
 * The ops-only abuse limits: one definition for the engine (broker/broker-options.ts resolves their
 * defaults) and for the stored settings of an instance (config/connection-limits.ts).
 */

/**
 * Abuse limits, applied when a connection is attached and before it is authenticated. Ops-only
 * settings (no AIO Broker field): AIO's frontends do this in the load balancer.
 */
export interface ConnectionLimits {
  /** Concurrent connections from one remote address (IP); 0 = unlimited (default). Loopback counts like any address. */
  maxConnectionsPerAddress?: number;
  /** New connections per second from one remote address (a bucket of that many, refilled per second); 0 = unlimited (default). */
  maxConnectionRatePerAddress?: number;
  /** Largest CONNECT accepted (bytes) before a client is authenticated; never above the maximum packet size. Default 64 KiB. */
  maxConnectPacketBytes?: number;
  /**
   * Bytes one session may have waiting (payload + `QUEUED_DELIVERY_OVERHEAD_BYTES` (broker/broker-options.ts) per message);
   * past it only that session drops, per its queue strategy. Default: the memory profile's
   * `sessionQueueBytes`. The broker-wide `queuedBytesBudget` stays the backstop.
   */
  maxSessionQueueBytes?: number;
  /** Subscriptions one session may hold; filters beyond it get SUBACK 0x97 (0x80 on 3.1.1). Default 10000. */
  maxSubscriptionsPerClient?: number;
  /** Levels a topic name or filter may have; deeper filters get SUBACK 0x8F, deeper topic names 0x90. Default 100. */
  maxTopicLevels?: number;
  /** Seconds a started packet has to arrive whole (keep-alive 0 does not lift it); then the connection closes. Default 30. */
  partialPacketTimeoutSeconds?: number;
  /** Bytes of incomplete packets buffered across all connections; a packet that would go over closes its connection (0x97). Default: a quarter of the memory profile's queue budget, at least one maximum packet. */
  maxPartialPacketBytes?: number;
  /**
   * Failed authentications from one remote address, within `authFailureWindowSeconds`, after which
   * its CONNECTs are refused (0x8A) before authentication for `authBlockSeconds` (see auth-backoff.ts).
   * 0 = off. Default 10.
   */
  maxAuthFailuresPerAddress?: number;
  /** The window in which failed authentications are counted, seconds. Default 60. */
  authFailureWindowSeconds?: number;
  /** How long an address is refused after too many failures, seconds (doubling for repeat offenders, up to 64 times). Default 60. */
  authBlockSeconds?: number;
}
