/** Live figures of a running broker: served by the admin socket, `$SYS/broker/...` and metrics. */
export interface BrokerStats {
  /** Broker name from the options. */
  readonly name: string;
  /** Seconds since the broker was created. */
  readonly uptimeSeconds: number;
  readonly clients: {
    /** Connections that completed CONNECT and are open now. */
    readonly connected: number;
    /** Sessions that exist (connected or not). */
    readonly sessions: number;
    /** Sessions whose client is not connected. */
    readonly disconnectedSessions: number;
    /** Connections ever accepted. */
    readonly totalConnections: number;
    /** Highest number of clients connected at once. */
    readonly maxConnected: number;
    /** CONNECTs refused (bad protocol, auth, bad client id ...). */
    readonly rejectedConnections: number;
    /** Of those, connections refused by the per-address limits (too many open, or opened too fast). */
    readonly limitedConnections: number;
    /** Of those, CONNECTs over the size accepted before authentication (refused at their fixed header). */
    readonly oversizedConnects: number;
    /** CONNECTs refused by authentication or authorization (in `rejectedConnections`), plus failed re-authentications. */
    readonly authenticationFailures: number;
    /** Publishers whose reading is paused by flow control until a subscriber catches up. */
    readonly throttledPublishers: number;
  };
  /** Subscriptions across all sessions, shared ones counted per member (the broker's own in `system.subscriptions` included). */
  readonly subscriptions: number;
  /** Retained messages held (the `$SYS/...` ones in `system.retained` included). */
  readonly retained: number;
  /**
   * The broker's own share of `subscriptions` and `retained`: subscriptions of in-process services
   * (the state store's request topics) and retained messages on `$` topics (`$SYS/broker/...`).
   * The users' figures are the totals minus these.
   */
  readonly system: { readonly subscriptions: number; readonly retained: number };
  /**
   * Errors inside one client's work (a packet, a delivery, a will, a timer) that were contained:
   * logged, that work abandoned, at worst that client disconnected (0x83). Should stay 0.
   */
  readonly internalErrors: number;
  readonly messages: {
    /** PUBLISH packets received from clients. */
    readonly received: number;
    /** PUBLISH packets sent to clients. */
    readonly sent: number;
    /** Messages dropped: QoS 0 to a slow reader, queue full, expired, over the client's maximum packet size. */
    readonly dropped: number;
    /** Of those, dropped by a session at its own queue bound (`maxSessionQueueBytes`, or `subscriberQueueLimit` with DropOldest). */
    readonly queueFullDrops: number;
    /** Messages skipped because they cannot be encoded (a bad stored message): logged, never sent. */
    readonly undeliverable: number;
    /** Messages waiting in session queues (not yet sent). */
    readonly queued: number;
    /** Of those, how many wait in the disk-backed message buffer. */
    readonly spilled: number;
    /** QoS 1/2 messages sent and not yet acknowledged. */
    readonly inflight: number;
  };
  readonly bytes: {
    readonly received: number;
    readonly sent: number;
  };
  /** The resource limits at work (`ops broker limits`). */
  readonly limits: {
    /** Bytes held now for packets that started but have not arrived whole. */
    readonly partialPacketBytes: number;
    /** Connections closed because a started packet did not arrive whole in time. */
    readonly partialPacketTimeouts: number;
    /** Connections closed because their partial packet went over the broker-wide bound. */
    readonly partialPacketsRefused: number;
    /** Topic filters refused because their session held the most subscriptions allowed. */
    readonly subscriptionsRefused: number;
  };
}
