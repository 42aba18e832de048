/**
 * What the engine stores: sessions (metadata, subscriptions, will), per-session message queues
 * and retained messages. Plain records; no MQTT logic lives here.
 *
 * Writes return {@link Completion}: `void` when already done (memory), a promise when the
 * implementation writes asynchronously (level). The engine acknowledges a QoS 1/2 PUBLISH
 * only after every completion of that message's writes has resolved [MQTT-4.3.2-2].
 */

/** `void` when the write is done, or a promise resolved once it is durable. */
export type Completion = void | Promise<void>;

/** v5 properties kept with a message and forwarded unchanged. */
export interface MessagePropertiesRecord {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** Name/value pairs in wire order. */
  userProperties?: readonly (readonly [string, string])[];
}

/** An application message. */
export interface MessageRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** Expiry instant in ms since the epoch; absent: never expires. */
  readonly expiresAt?: number;
  /** Whether the publisher set a Message Expiry Interval (then the remaining interval is forwarded). */
  readonly expirySet?: boolean;
  readonly properties?: MessagePropertiesRecord;
  /** Client id of the publisher, for No Local. */
  readonly senderId?: string;
}

/** A subscription as stored with its session. */
export interface SubscriptionRecord {
  /** The filter as subscribed, `$share/...` included. */
  readonly filter: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** A will message with its delay. */
export interface WillRecord {
  readonly message: MessageRecord;
  readonly delaySeconds: number;
}

/** A session's metadata. */
export interface SessionRecord {
  readonly clientId: string;
  readonly protocolVersion: 4 | 5;
  /** Session Expiry Interval in seconds (already capped by the broker limit). */
  readonly expiryIntervalSeconds: number;
  /** Whether the session's queue is stored (persistence policy); absent means yes. */
  readonly persistQueue?: boolean;
  /**
   * The user properties of the CONNECT that opened or last resumed the session, when it had any:
   * the dynamic-persistence rule is asked about them again when the policy changes.
   */
  readonly connectUserProperties?: ReadonlyArray<readonly [string, string]>;
  /**
   * The principal the session is bound to (the identity that created it); absent in records
   * written before owners were recorded: the next CONNECT for the client id binds it.
   */
  readonly owner?: string;
  readonly subscriptions: readonly SubscriptionRecord[];
  /** When the client disconnected (ms since epoch); absent while connected. */
  readonly disconnectedAt?: number;
  /** A will still to be published (delayed will), if any. */
  readonly will?: WillRecord;
}

/** One message in a session's queue: waiting, or in flight when it has a packet id. */
export interface QueueEntryRecord {
  /** Position in the session's queue; strictly increasing. */
  readonly seq: number;
  readonly message: MessageRecord;
  /** QoS granted for this delivery. */
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly subscriptionIds?: readonly number[];
  /** Packet id while in flight. */
  readonly packetId?: number;
  /** QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  readonly released?: boolean;
  /** The shared group it was routed through (`$share/<name>/<topicFilter>`): it can move to another member. */
  readonly group?: SharedGroupRef;
}

/** Names a shared group: `$share/<name>/<topicFilter>`. */
export interface SharedGroupRef {
  readonly name: string;
  readonly topicFilter: string;
}

/** How full a size-limited store is (`ops broker stats`). */
export interface StoreUsage {
  /** Bytes of the live records (encoded key + stored value), what the limit is enforced on. */
  readonly usedBytes: number;
  /** The store's limit (`persistence.maxSize`); absent: unlimited. */
  readonly limitBytes?: number;
  /**
   * True when a write was refused for the limit and nothing was freed since, or the live bytes
   * reached the limit: messages that need the store get 0x97 (Quota exceeded).
   */
  readonly full: boolean;
  /** Writes refused with STO_QUOTA_EXCEEDED since the store was opened. */
  readonly refusedWrites: number;
  /** Live records (sessions, queue entries, retained messages, format records). */
  readonly records: number;
  /** Size of the store's files when last measured (at open and after each compaction), if known. */
  readonly diskBytes?: number;
}

/** A hybrid logical clock value as stored (`wall:counter:node` of the state store). */
export interface HlcRecord {
  /** Milliseconds since the Unix epoch. */
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

/** One persisted state-store key: value, version, fencing token and expiry. */
export interface StateStoreKeyRecord {
  /** The key's bytes. */
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: HlcRecord;
  /** The fencing token protecting the key, if any. */
  readonly fencingToken?: HlcRecord;
  /** Expiry instant in ms since the epoch (SET PX); absent: never expires. */
  readonly expiresAt?: number;
}

/** The engine's storage. One contract suite runs against every implementation. */
export interface BrokerStore {
  /** `memory` or `level`; a durable store survives a process restart. */
  readonly durable: boolean;
  loadSessions(): Promise<SessionRecord[]>;
  saveSession(record: SessionRecord): Completion;
  /** Deletes the session and its queue. */
  deleteSession(clientId: string): Completion;
  loadQueue(clientId: string): Promise<QueueEntryRecord[]>;
  /** Inserts or replaces entries by `seq`. */
  putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): Completion;
  deleteQueueEntries(clientId: string, seqs: readonly number[]): Completion;
  loadRetained(): Promise<MessageRecord[]>;
  putRetained(message: MessageRecord): Completion;
  deleteRetained(topic: string): Completion;
  /**
   * State-store keys the persistence policy selected (optional namespace: a store without it
   * keeps state-store keys in memory only). Loaded once when the state store starts.
   */
  loadStateStoreKeys?(): Promise<StateStoreKeyRecord[]>;
  /** Inserts or replaces a state-store key by its bytes. */
  putStateStoreKey?(record: StateStoreKeyRecord): Completion;
  /** Deletes a state-store key; an unknown key is harmless. */
  deleteStateStoreKey?(key: Buffer): Completion;
  /** Size against the store's limit, for stats; absent when the store has no limit to report. */
  usage?(): StoreUsage;
  /** `usage().full` without building the figures: asked for every message that needs the store. */
  isFull?(): boolean;
  close(): Promise<void>;
}
