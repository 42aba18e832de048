/**
 * The output side of one connection: writes batched per tick with back-pressure, and PUBLISHes
 * encoded for what the client negotiated (its Maximum Packet Size, its Topic Alias Maximum and the
 * aliases the broker chose for it).
 */
import type { Duplex } from 'node:stream';
import { encodePublish, publishSize, type PublishDelivery } from '../protocol/publish-encoder.js';
import type { Counters } from './counters.js';
import type { FaultBoundary } from './fault-boundary.js';
import type { Message } from './message.js';

/** The connection an output belongs to: told when a backed-up socket drained. */
export interface OutputOwner {
  readonly clientId: string;
  /** The socket's unwritten output fell below the high-water mark again. */
  outputDrained(): void;
}

/** What the client negotiated for what the broker sends it. */
export interface OutboundLimits {
  /** The client's Maximum Packet Size [MQTT-3.1.2-24]. */
  readonly maximumPacketSize: number;
  /** The client's Topic Alias Maximum [MQTT-3.1.2-26]. */
  readonly topicAliasMaximum: number;
}

const scratch: PublishDelivery = {
  qos: 0,
  retain: false,
  dup: false,
  packetId: 0,
  topicAlias: 0,
  aliasOnly: false,
  messageExpiry: -1,
  subscriptionIds: undefined,
};

/** Batched, back-pressured output of one connection. */
export class ConnectionOutput {
  readonly #socket: Duplex;
  readonly #owner: OutputOwner;
  readonly #counters: Counters;
  readonly #highWaterMark: number;
  #closed = false;
  #corked = false;
  /** Packets written in this tick, sent together by {@link flush} (created on first use). */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  #waitingForDrain = false;
  #maximumPacketSize = Number.POSITIVE_INFINITY;
  #topicAliasMaximum = 0;
  /** Outbound topic aliases chosen by the broker (created on first use). */
  #aliases: Map<string, number> | undefined;

  constructor(socket: Duplex, owner: OutputOwner, counters: Counters, highWaterMark: number) {
    this.#socket = socket;
    this.#owner = owner;
    this.#counters = counters;
    this.#highWaterMark = highWaterMark;
  }

  /** Sets what the client's CONNECT negotiated. */
  limit(limits: OutboundLimits): void {
    this.#maximumPacketSize = limits.maximumPacketSize;
    this.#topicAliasMaximum = limits.topicAliasMaximum;
  }

  /** False while unwritten output is above the high-water mark (QoS 0 dropped, QoS 1/2 wait); the owner is told when it drained. */
  get writable(): boolean {
    if (this.#closed) return false;
    if (this.#socket.writableLength + this.#pendingBytes < this.#highWaterMark) return true;
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#socket.once('drain', () => {
        this.#waitingForDrain = false;
        this.#owner.outputDrained();
      });
    }
    return false;
  }

  /** Writes bytes; writes of one tick go out together, as one buffer when small (see {@link flush}). */
  write(bytes: Buffer): void {
    if (this.#closed) return;
    if (!this.#corked) {
      this.#corked = true;
      process.nextTick(uncork, this);
    }
    (this.#pending ??= []).push(bytes);
    this.#pendingBytes += bytes.length;
    this.#counters.bytesSent += bytes.length;
  }

  /**
   * @internal sends the tick's writes: small batches copied into one buffer (one socket write, no
   * per-packet stream bookkeeping), larger ones corked into one writev.
   */
  flush(): void {
    this.#corked = false;
    const pending = this.#pending;
    if (pending === undefined || pending.length === 0) return;
    const total = this.#pendingBytes;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (pending.length === 1) socket.write(pending[0] as Buffer);
    else if (total <= COPY_BATCH_BYTES) socket.write(Buffer.concat(pending, total));
    else {
      socket.cork();
      for (const bytes of pending) socket.write(bytes);
      socket.uncork();
    }
  }

  /** Sends what this tick wrote and takes no more output (the connection is closing). */
  close(): void {
    if (this.#corked) this.flush();
    this.#closed = true;
  }

  /**
   * Writes a PUBLISH (positional arguments: no object per message); false when it was not sent: over the client's maximum packet size (dropped,
   * counted) or a message that cannot be encoded (reported through `faults`).
   */
  publish(
    message: Message,
    qos: 0 | 1 | 2,
    retain: boolean,
    dup: boolean,
    packetId: number,
    subscriptionIds: number[] | undefined,
    version: 4 | 5,
    faults: FaultBoundary,
  ): boolean {
    let messageExpiry = -1;
    if (message.expiresAt !== undefined && message.expirySet !== false) {
      // [MQTT-3.3.2-6] the forwarded interval is what is left of it (none when only the broker's cap set it)
      messageExpiry = Math.max(0, Math.ceil((message.expiresAt - Date.now()) / 1000));
    }
    const plain = qos === 0 && !retain && messageExpiry < 0 && subscriptionIds === undefined && this.#topicAliasMaximum === 0;
    if (plain) {
      const cached = message.plainQos0[version - 4];
      if (cached !== undefined) {
        if (cached.length > this.#maximumPacketSize) return this.#tooLarge();
        this.write(cached);
        this.#counters.messagesSent++;
        return true;
      }
    }
    const d = scratch;
    d.qos = qos;
    d.retain = retain;
    d.dup = dup;
    d.packetId = packetId;
    d.messageExpiry = version === 5 ? messageExpiry : -1;
    d.subscriptionIds = version === 5 ? subscriptionIds : undefined;
    d.topicAlias = 0;
    d.aliasOnly = false;
    if (version === 5 && this.#topicAliasMaximum > 0) this.#chooseAlias(message.topic, d);
    const template = message.tryTemplate();
    if (template === undefined) {
      // A message that cannot be encoded (a bad stored message): skipped, never a reason to drop this subscriber.
      faults.undeliverable(message.topic, message.encodingError, this.#owner.clientId);
      return false;
    }
    if (publishSize(template, d, version) > this.#maximumPacketSize) {
      if (d.topicAlias > 0 && !d.aliasOnly) this.#aliases?.delete(message.topic); // the client never learnt this alias
      return this.#tooLarge();
    }
    const bytes = encodePublish(template, d, version);
    if (plain) message.plainQos0[version - 4] = bytes;
    this.write(bytes);
    this.#counters.messagesSent++;
    return true;
  }

  /** Writes a QoS 0 PUBLISH unless the socket is backed up: then it is dropped (counted), bounding the output of slow readers. */
  publishQos0(message: Message, retain: boolean, subscriptionIds: number[] | undefined, version: 4 | 5, faults: FaultBoundary): void {
    if (!this.writable) {
      this.#counters.messagesDropped++; // bounded output for slow readers
      return;
    }
    this.publish(message, 0, retain, false, 0, subscriptionIds, version, faults);
  }

  #tooLarge(): false {
    this.#counters.messagesDropped++; // [MQTT-3.1.2-25]
    return false;
  }

  #chooseAlias(topic: string, d: PublishDelivery): void {
    const aliases = (this.#aliases ??= new Map());
    const existing = aliases.get(topic);
    if (existing !== undefined) {
      d.topicAlias = existing;
      d.aliasOnly = true; // [MQTT-3.3.2-12] alias alone once the client knows it
      return;
    }
    if (aliases.size < this.#topicAliasMaximum) {
      const alias = aliases.size + 1; // [MQTT-3.3.2-9] never above the client's maximum
      aliases.set(topic, alias);
      d.topicAlias = alias;
    }
  }
}

/**
 * Runs after the tick's other callbacks: it waits one more step, behind the microtasks already
 * queued (in-process clients such as the state store answer in a microtask), so a request's
 * PUBACK and its response leave in one writev.
 */
function uncork(output: ConnectionOutput): void {
  void FLUSH_AFTER.then(() => output.flush());
}

/** Settled promise: `then` on it queues a microtask without queueMicrotask's async resource. */
const FLUSH_AFTER = Promise.resolve();

/** Up to this many bytes, a tick's packets are copied into one buffer rather than written as a writev. */
const COPY_BATCH_BYTES = 16 * 1024;
