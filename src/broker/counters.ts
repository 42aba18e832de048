/** Mutable engine-wide counters behind {@link BrokerStats}; owned by the broker, bumped on hot paths. */
export class Counters {
  connectionsTotal = 0;
  connectionsRejected = 0;
  /** Connections refused by the per-address limits (count or rate); also in `connectionsRejected`. */
  connectionsLimited = 0;
  /** CONNECTs refused for being over the pre-authentication size limit; also in `connectionsRejected`. */
  connectsTooLarge = 0;
  /** CONNECTs refused by authentication or authorization, and failed re-authentications. */
  authenticationFailures = 0;
  connected = 0;
  /** Highest number of clients connected at once. */
  maxConnected = 0;
  messagesReceived = 0;
  messagesSent = 0;
  messagesDropped = 0;
  /** Messages a session dropped at its own queue bound (bytes, or length with DropOldest); also in `messagesDropped`. */
  queueFullDrops = 0;
  /** Stored or routed messages skipped because they cannot be encoded (see fault-boundary.ts). */
  messagesUndeliverable = 0;
  /** Errors inside one client's work or a timer that were contained (see fault-boundary.ts). */
  internalErrors = 0;
  /** Messages waiting in session queues. */
  queued = 0;
  /** Messages waiting in the disk-backed message buffer (part of `queued`). */
  spilled = 0;
  /** Payload bytes waiting in session queues (the memory profile's budget applies). */
  queuedBytes = 0;
  inflight = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** Connections closed because a started packet did not arrive whole in time. */
  partialPacketTimeouts = 0;
  /** Connections closed because their partial packet went over the broker-wide bound. */
  partialPacketsRefused = 0;
  /** Topic filters refused (SUBACK 0x97) because their session held the most subscriptions allowed. */
  subscriptionsRefused = 0;
}
