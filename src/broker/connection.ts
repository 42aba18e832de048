import type { Duplex } from 'node:stream';
import { PacketDecoder, type DecodeError, type DecoderSink } from '../protocol/decoder.js';
import { encodeAck, encodePacket, type AckKind } from '../protocol/encoder.js';
import { warnAbuse } from './abuse-log.js';
import { logDisconnected, type DisconnectCause } from './connection-log.js';
import type { Packet } from '../protocol/packets.js';
import { encodePublish, publishSize, type PublishDelivery } from '../protocol/publish-encoder.js';
import { ReasonCode, toV3ConnackCode } from '../protocol/reason-codes.js';
import type { BrokerCore } from './broker-core.js';
import type { FaultArea } from './fault-boundary.js';
import { dispatchPacket } from './handlers/dispatch.js';
import type { Message } from './message.js';
import type { Delivery, Session } from './session.js';
import type { BrokerHooks, ClientIdentity, ConnectionInfo } from './hooks.js';
import type { Throttleable } from './publisher-throttle.js';
import type { OrderedAcks } from './handlers/ordered-acks.js';
import type { SessionOwner, Will } from './session-registry.js';

type ConnectionState = 'awaiting-connect' | 'connected' | 'closed';

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});
const NO_INFO: ConnectionInfo = Object.freeze({});

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

/**
 * One network connection: decode loop, keep-alive, topic aliases, batched writes with
 * back-pressure. Protocol errors end here as a reason-coded DISCONNECT; nothing throws out.
 */
export class Connection implements SessionOwner, DecoderSink, Throttleable {
  readonly core: BrokerCore;
  readonly socket: Duplex;
  readonly decoder: PacketDecoder;
  state: ConnectionState = 'awaiting-connect';
  version: 4 | 5 = 4;
  clientId = '';
  username: string | undefined;
  /** Authentication and authorization of this connection's port (default: the broker's). */
  readonly hooks: BrokerHooks;
  /** Facts given to attach (listener, port, client certificate). */
  readonly info: ConnectionInfo;
  /** Attributes established by authentication, for authorization. */
  attributes: Readonly<Record<string, string>> = NO_ATTRIBUTES;
  session: Session | undefined;
  will: Will | undefined;
  /** Keep alive in seconds after CONNECT (server keep alive applied); 0 = off. */
  keepAliveSeconds = 0;
  /** The client's Receive Maximum [MQTT-3.3.4-9]. */
  sendQuota = 65_535;
  /** The client's Maximum Packet Size [MQTT-3.1.2-24]. */
  clientMaximumPacketSize = Number.POSITIVE_INFINITY;
  /** The client's Topic Alias Maximum [MQTT-3.1.2-26]. */
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  #identity: ClientIdentity | undefined;
  #aliasesIn: Map<number, string> | undefined;
  #aliasesOut: Map<string, number> | undefined;
  /** Inbound QoS 1 PUBLISHes whose PUBACK waits in {@link orderedAcks} (with the session's unreleased QoS 2 ids, our Receive Maximum applies) [MQTT-3.3.4-7]. */
  inboundPending = 0;
  /** PUBACKs/PUBRECs waiting for a store write or behind one, sent in arrival order (handlers/ordered-acks.ts; created on first use). */
  orderedAcks: OrderedAcks | undefined;
  /** A DISCONNECT 0x00 was received: no will [MQTT-3.14.4-3]. */
  normalDisconnect = false;
  /** When the credentials of CONNECT (or the last re-authentication) expire, ms since the epoch (see credentials.ts). */
  credentialsExpireAt: number | undefined;
  /** When bytes last arrived (creation time until then). */
  #lastActivity = Date.now();
  /** When the connection was attached: the CONNECT must be complete within the connect timeout of this. */
  readonly #attachedAt = this.#lastActivity;
  /** Why the connection ends: the first cause noted wins (a DISCONNECT, then the socket closing, is the DISCONNECT). */
  #cause: DisconnectCause | undefined;
  /** Set when the connection is refused before its CONNECT is read (abuse limits): the CONNACK reason. */
  #refusal: { readonly reasonCode: number; readonly reasonString: string } | undefined;
  #corked = false;
  /** Packets written in this tick, sent together by {@link flush} (created on first use). */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  #waitingForDrain = false;
  #held: Packet[] | undefined;
  /** Reading paused by publisher flow control. */
  #throttled = false;
  /** Bytes read since reading last yielded to the rest of the event loop. */
  #readSinceYield = 0;
  /** Reading paused until the next event-loop turn (see {@link receive}). */
  #yielding = false;

  constructor(core: BrokerCore, socket: Duplex, hooks: BrokerHooks = core.hooks, info: ConnectionInfo = NO_INFO) {
    this.core = core;
    this.socket = socket;
    this.hooks = hooks;
    this.info = info;
    this.decoder = new PacketDecoder(core.options.maxPacketSizeBytes, this, core.partialPackets);
    // Shared listeners (no closures per connection): the socket points back to its connection.
    (socket as SocketWithConnection)[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketGone);
    socket.on('end', onSocketGone);
  }

  /** Inbound topic aliases [MQTT-3.3.2-10] (created on first use). */
  get aliasesIn(): Map<number, string> {
    return (this.#aliasesIn ??= new Map());
  }

  /** Outbound topic aliases chosen by the broker (created on first use). */
  get aliasesOut(): Map<string, number> {
    return (this.#aliasesOut ??= new Map());
  }

  /** Who this client is, for authorization hooks (one object per identity, not one per PUBLISH). */
  get identity(): ClientIdentity {
    const cached = this.#identity;
    if (cached !== undefined && cached.clientId === this.clientId && cached.username === this.username && cached.attributes === this.attributes) return cached;
    return (this.#identity = { clientId: this.clientId, username: this.username, attributes: this.attributes });
  }

  /** False while unwritten output is above the high-water mark (QoS 0 dropped, QoS 1/2 wait). */
  get writable(): boolean {
    if (this.state === 'closed') return false;
    if (this.socket.writableLength + this.#pendingBytes < this.core.options.outputHighWaterMark) return true;
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.socket.once('drain', () => {
        this.#waitingForDrain = false;
        const session = this.session;
        if (session !== undefined) this.contain('output-drain', () => session.pump());
      });
    }
    return false;
  }

  /** Writes bytes; writes of one tick go out together, as one buffer when small (see {@link flush}). */
  write(bytes: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.#corked) {
      this.#corked = true;
      process.nextTick(uncork, this);
    }
    (this.#pending ??= []).push(bytes);
    this.#pendingBytes += bytes.length;
    this.core.counters.bytesSent += bytes.length;
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
    if (this.socket.destroyed) return;
    if (pending.length === 1) this.socket.write(pending[0] as Buffer);
    else if (total <= COPY_BATCH_BYTES) this.socket.write(Buffer.concat(pending, total));
    else {
      this.socket.cork();
      for (const bytes of pending) this.socket.write(bytes);
      this.socket.uncork();
    }
  }

  /** Encodes and writes a control packet. */
  send(packet: Packet): void {
    this.write(encodePacket(packet, this.version));
  }

  /** DeliveryChannel: writes a QoS 1/2 PUBLISH of a delivery. */
  sendPublish(delivery: Delivery, dup: boolean): boolean {
    return this.#publish(delivery.message, delivery.qos, delivery.retain, dup, delivery.packetId, delivery.subscriptionIds);
  }

  /** DeliveryChannel: writes a QoS 0 PUBLISH unless the socket is backed up. */
  sendQos0(message: Message, retain: boolean, subscriptionIds: number[] | undefined): void {
    if (!this.writable) {
      this.core.counters.messagesDropped++; // bounded output for slow readers
      return;
    }
    this.#publish(message, 0, retain, false, 0, subscriptionIds);
  }

  /** DeliveryChannel: writes PUBREL. */
  sendPubrel(packetId: number): void {
    this.sendAck('pubrel', packetId, 0);
  }

  /** Writes PUBACK/PUBREC/PUBREL/PUBCOMP; the reason code is dropped for 3.1.1. */
  sendAck(kind: AckKind, packetId: number, reasonCode: number): void {
    this.write(encodeAck(kind, packetId, reasonCode, this.version));
  }

  /** Sends a v5 DISCONNECT with a reason (v3.1.1 has none) and closes [MQTT-4.13.1-1]. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === 'closed') return;
    if (this.version === 5 && this.state === 'connected') {
      this.send({
        cmd: 'disconnect',
        reasonCode,
        ...(reasonString !== undefined ? { properties: { reasonString } } : {}),
      });
    }
    this.noteCause({ by: 'server', reasonCode, ...(reasonString !== undefined ? { reasonString } : {}) });
    this.close();
  }

  /** Records why the connection ends, for its log line, unless a cause was noted already. */
  noteCause(cause: DisconnectCause): void {
    this.#cause ??= cause;
  }

  /** DeliveryChannel: an internal error in this client's work: DISCONNECT 0x83 (v5) and close. */
  abort(): void {
    this.disconnect(ReasonCode.ImplementationSpecificError);
  }

  /**
   * Runs this client's `work` inside the error boundary (for timers and promise continuations,
   * which the packet boundary does not cover): an error is reported and this client, and only
   * it, is disconnected with 0x83. False when `work` threw.
   */
  contain(area: FaultArea, work: () => void): boolean {
    try {
      work();
      return true;
    } catch (error) {
      this.core.faults.report(area, error, this.clientId);
      this.#abortAfterFault();
      return false;
    }
  }

  /** Closes after a contained error; a failure while closing is contained as well (the socket is destroyed). */
  #abortAfterFault(): void {
    try {
      this.abort();
    } catch (error) {
      this.core.faults.report('connection-close', error, this.clientId);
      this.socket.destroy();
    }
  }

  /** SessionOwner: another connection took this session [MQTT-3.1.4-3]. */
  takeOver(): void {
    this.disconnect(ReasonCode.SessionTakenOver);
  }

  /**
   * Called by the broker's timeout sweep (no timer per connection): closes a connection that
   * sent no CONNECT in time, whose credentials expired, or that sent nothing for 1.5 times its
   * keep alive [MQTT-3.1.2-22].
   */
  checkTimeouts(now: number): void {
    if (this.state === 'awaiting-connect') {
      // A CONNECT must be complete in bounded time from the start, however slowly its bytes trickle in (slowloris).
      if (now - this.#attachedAt >= this.core.options.connectTimeoutMs) this.close();
      return;
    }
    if (this.state !== 'connected') return;
    // A started packet must arrive whole in bounded time, keep-alive 0 or not: its bytes are held until then.
    // While the broker itself does not read (flow control, a held connection) the clock is not the client's fault.
    const partialSince = this.#throttled || this.#held !== undefined ? undefined : this.decoder.partialSince;
    const partialTimeoutMs = this.core.limits.partialPacketTimeoutSeconds * 1000;
    if (partialSince !== undefined && now - partialSince >= partialTimeoutMs) {
      const held = this.decoder.partialBytes;
      warnAbuse(this.core.logger, 'partial-packet-timeout', { remoteAddress: this.info.remoteAddress, clientId: this.clientId, heldBytes: held }, 'connection closed: packet not completed in time');
      this.core.counters.partialPacketTimeouts++;
      // 0x97: an implementation-imposed limit was exceeded (the packet is neither malformed nor a keep-alive matter)
      this.disconnect(ReasonCode.QuotaExceeded, `a packet was not completed within ${this.core.limits.partialPacketTimeoutSeconds} s (${held} bytes received)`);
      return;
    }
    const expiresAt = this.credentialsExpireAt;
    if (expiresAt !== undefined && now >= expiresAt) {
      const at = new Date(expiresAt).toISOString();
      this.core.logger.info({ clientId: this.clientId, expiredAt: at }, 'client disconnected: its credentials expired');
      this.disconnect(ReasonCode.NotAuthorized, `the credentials expired at ${at}; re-authenticate (AUTH 0x19) before expiry to stay connected`);
      return;
    }
    if (this.keepAliveSeconds > 0 && now - this.#lastActivity >= this.keepAliveSeconds * 1500) {
      this.disconnect(ReasonCode.KeepAliveTimeout);
    }
  }

  /** Closes the socket and hands the session back to the registry (idempotent). */
  close(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.decoder.release(); // an incomplete packet's bytes go at once, not when the socket is collected
    this.#held = undefined;
    if (this.#throttled) this.core.throttle.forget(this);
    if (this.#corked) this.flush();
    this.socket.end();
    // A reader that never drains its socket does not keep it open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    if (wasConnected) logDisconnected(this, this.#cause ?? { by: 'server' });
    this.core.connectionClosed(this, wasConnected);
  }

  #publish(
    message: Message,
    qos: 0 | 1 | 2,
    retain: boolean,
    dup: boolean,
    packetId: number,
    subscriptionIds: number[] | undefined,
  ): boolean {
    const version = this.version;
    let messageExpiry = -1;
    if (message.expiresAt !== undefined && message.expirySet !== false) {
      // [MQTT-3.3.2-6] the forwarded interval is what is left of it (none when only the broker's cap set it)
      messageExpiry = Math.max(0, Math.ceil((message.expiresAt - Date.now()) / 1000));
    }
    const plain = qos === 0 && !retain && messageExpiry < 0 && subscriptionIds === undefined && this.clientTopicAliasMaximum === 0;
    if (plain) {
      const cached = message.plainQos0[version - 4];
      if (cached !== undefined) {
        if (cached.length > this.clientMaximumPacketSize) return this.#tooLarge();
        this.write(cached);
        this.core.counters.messagesSent++;
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
    if (version === 5 && this.clientTopicAliasMaximum > 0) this.#chooseAlias(message.topic, d);
    const template = message.tryTemplate();
    if (template === undefined) {
      // A message that cannot be encoded (a bad stored message): skipped, never a reason to drop this subscriber.
      this.core.faults.undeliverable(message.topic, message.encodingError, this.clientId);
      return false;
    }
    if (publishSize(template, d, version) > this.clientMaximumPacketSize) {
      if (d.topicAlias > 0 && !d.aliasOnly) this.aliasesOut.delete(message.topic); // the client never learnt this alias
      return this.#tooLarge();
    }
    const bytes = encodePublish(template, d, version);
    if (plain) message.plainQos0[version - 4] = bytes;
    this.write(bytes);
    this.core.counters.messagesSent++;
    return true;
  }

  #tooLarge(): false {
    this.core.counters.messagesDropped++; // [MQTT-3.1.2-25]
    return false;
  }

  #chooseAlias(topic: string, d: PublishDelivery): void {
    const existing = this.aliasesOut.get(topic);
    if (existing !== undefined) {
      d.topicAlias = existing;
      d.aliasOnly = true; // [MQTT-3.3.2-12] alias alone once the client knows it
      return;
    }
    if (this.aliasesOut.size < this.clientTopicAliasMaximum) {
      const alias = this.aliasesOut.size + 1; // [MQTT-3.3.2-9] never above the client's maximum
      this.aliasesOut.set(topic, alias);
      d.topicAlias = alias;
    }
  }

  /** @internal bytes arrived on the socket. */
  receive(chunk: Buffer): void {
    this.#lastActivity = Date.now();
    this.core.counters.bytesReceived += chunk.length;
    try {
      this.decoder.push(chunk); // packets are contained one by one (onPacket); this catches the decoder itself
    } catch (error) {
      this.core.faults.report('socket-input', error, this.clientId);
      this.#abortAfterFault();
      return;
    }
    // A saturated socket can hand over megabytes in one poll phase (libuv reads up to 32 x 64 KiB);
    // output to TLS sockets only leaves between poll phases, so a long one fills subscribers past
    // the high-water mark and their QoS 0 is dropped. Pausing for one turn after every 64 KiB read
    // lets the writes go out (counted across turns: a slow reader pauses rarely, at no cost).
    this.#readSinceYield += chunk.length;
    if (this.#readSinceYield >= READ_BUDGET_BYTES && !this.#yielding && this.state !== 'closed') {
      this.#yielding = true;
      this.socket.pause();
      setImmediate(endYield, this);
    }
  }

  /** @internal the event loop turned: read again unless held or throttled. */
  endYield(): void {
    this.#yielding = false;
    this.#readSinceYield = 0;
    if (this.state !== 'closed' && this.#held === undefined && !this.#throttled) this.socket.resume();
  }

  /** Holds incoming packets (and reading) while an asynchronous decision or a long SUBSCRIBE is pending. */
  hold(): void {
    this.#held ??= [];
    this.socket.pause();
  }

  /**
   * Replays held packets in order and resumes reading. A replayed packet that holds again (another
   * long SUBSCRIBE) takes the packets after it into the new hold, and reading stays paused.
   */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const packet of held ?? []) this.onPacket(packet);
    if (this.state !== 'closed' && this.#held === undefined && !this.#throttled && !this.#yielding) {
      this.decoder.restartPartialClock(); // the packet arriving gets a whole deadline after the pause
      this.socket.resume();
    }
  }

  /** Throttleable: stop reading (TCP pushes back on the client) while a subscriber catches up. */
  pauseReading(): void {
    if (this.#throttled || this.state === 'closed') return;
    this.#throttled = true;
    this.socket.pause();
  }

  /** Throttleable: read again. */
  resumeReading(): void {
    if (!this.#throttled) return;
    this.#throttled = false;
    if (this.state !== 'closed' && this.#held === undefined && !this.#yielding) {
      this.decoder.restartPartialClock(); // the packet arriving gets a whole deadline after the pause
      this.socket.resume();
    }
  }

  /**
   * Refuses this connection before it is served (abuse limits): its CONNECT gets a CONNACK with
   * `reasonCode` (v5; the nearest return code on 3.1.1) and the connection closes [MQTT-3.2.2-7].
   */
  refuseConnect(reasonCode: number, reasonString: string): void {
    this.#refusal = { reasonCode, reasonString };
  }

  /**
   * @internal the first packet of a connection refused by {@link refuseConnect}: answers it (a
   * CONNACK for an MQTT 3.1.1/5.0 CONNECT) and closes. False when the connection is not refused.
   */
  answerRefusal(packet: Packet): boolean {
    const refusal = this.#refusal;
    if (refusal === undefined) return false;
    this.core.counters.connectionsRejected++;
    if (packet.cmd === 'connect' && (packet.protocolVersion === 4 || packet.protocolVersion === 5)) {
      this.version = packet.protocolVersion;
      this.sendConnackRefusal(refusal.reasonCode, refusal.reasonString);
    }
    this.close();
    return true;
  }

  /** Writes a refusing CONNACK: the v5 reason code and reason string, or the nearest 3.1.1 return code [MQTT-3.2.2-7]. */
  sendConnackRefusal(reasonCode: number, reasonString?: string): void {
    this.send(
      this.version === 5
        ? { cmd: 'connack', sessionPresent: false, reasonCode, ...(reasonString !== undefined ? { properties: { reasonString } } : {}) }
        : { cmd: 'connack', sessionPresent: false, returnCode: toV3ConnackCode(reasonCode) },
    );
  }

  /** DecoderSink: one decoded packet. */
  onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.#held !== undefined) {
      this.#held.push(packet);
      return;
    }
    try {
      dispatchPacket(this, packet);
    } catch (error) {
      this.core.faults.report('packet', error, this.clientId);
      this.#abortAfterFault();
    }
  }

  /** DecoderSink: the input was not MQTT. */
  onDecodeError(error: DecodeError): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-connect') {
      if (error.failure === 'too-large') this.#refuseHugeConnect(error);
      else this.#refuseBadConnect(error);
      return;
    }
    if (error.failure === 'over-budget') {
      this.core.counters.partialPacketsRefused++;
      warnAbuse(this.core.logger, 'partial-packet-budget', { remoteAddress: this.info.remoteAddress, clientId: this.clientId, reason: error.message }, 'connection closed: too many bytes of incomplete packets');
      this.disconnect(ReasonCode.QuotaExceeded, error.message); // 0x97: the broker-wide bound on partial packets
      return;
    }
    this.core.logger.debug({ clientId: this.clientId, failure: error.failure, message: error.message }, 'undecodable input');
    // [MQTT-4.13.1-1] malformed packet or protocol error: DISCONNECT 0x81 or 0x82 (v5), or close; 0x95 for an oversized one
    this.disconnect(reasonForFailure(error), error.message);
  }

  /**
   * A first packet that is not a valid CONNECT: closed [MQTT-3.1.4-1], after a CONNACK with 0x81
   * or 0x82 when it is an MQTT 5 CONNECT (section 4.13); a CONNECT of an unknown protocol level
   * gets return code 0x01 [MQTT-3.1.2-2]. MQTT 3.1.1 has no return code for a malformed CONNECT.
   */
  #refuseBadConnect(error: DecodeError): void {
    this.core.counters.connectionsRejected++;
    this.core.logger.debug({ failure: error.failure, message: error.message, remoteAddress: this.info.remoteAddress }, 'invalid CONNECT refused');
    if (error.failure === 'unsupported-version') {
      this.version = 4;
      this.sendConnackRefusal(ReasonCode.UnsupportedProtocolVersion);
    } else if (error.connectLevel === 5) {
      this.version = 5;
      this.sendConnackRefusal(reasonForFailure(error), error.message);
    }
    this.close();
  }

  /** A CONNECT over the pre-authentication limit, refused at its fixed header (nothing of it buffered). */
  #refuseHugeConnect(error: DecodeError): void {
    const counters = this.core.counters;
    counters.connectsTooLarge++;
    counters.connectionsRejected++;
    warnAbuse(this.core.logger, 'connect-too-large', { remoteAddress: this.info.remoteAddress, reason: error.message }, 'connection refused: CONNECT too large');
    if (error.connectLevel === 5) {
      this.version = 5;
      // 0x95 Packet too large [MQTT-3.2.2-7]; MQTT 3.1.1 has no such return code: the connection just closes
      this.sendConnackRefusal(ReasonCode.PacketTooLarge, error.message);
    }
    this.close();
  }
}

/** The v5 reason code for a decoding failure. */
function reasonForFailure(error: DecodeError): number {
  switch (error.failure) {
    case 'too-large':
      return ReasonCode.PacketTooLarge;
    case 'protocol-error':
      return ReasonCode.ProtocolError;
    default:
      return ReasonCode.MalformedPacket;
  }
}

/**
 * Runs after the tick's other callbacks: it waits one more step, behind the microtasks already
 * queued (in-process clients such as the state store answer in a microtask), so a request's
 * PUBACK and its response leave in one writev.
 */
function uncork(connection: Connection): void {
  void FLUSH_AFTER.then(() => connection.flush());
}

/** Runs in the check phase, after the turn's socket writes went out. */
function endYield(connection: Connection): void {
  connection.endYield();
}

/** Bytes one connection may read before reading yields to the next event-loop turn. */
const READ_BUDGET_BYTES = 64 * 1024;

/** Settled promise: `then` on it queues a microtask without queueMicrotask's async resource. */
const FLUSH_AFTER = Promise.resolve();

/** Up to this many bytes, a tick's packets are copied into one buffer rather than written as a writev. */
const COPY_BATCH_BYTES = 16 * 1024;

const CONNECTION = Symbol('connection');
type SocketWithConnection = Duplex & { [CONNECTION]?: Connection };

function onSocketData(this: SocketWithConnection, chunk: Buffer): void {
  this[CONNECTION]?.receive(chunk);
}

function onSocketGone(this: SocketWithConnection): void {
  const connection = this[CONNECTION];
  if (connection === undefined) return;
  connection.noteCause({ by: 'network' });
  connection.close();
}

function onSocketError(this: SocketWithConnection, error: Error): void {
  const connection = this[CONNECTION];
  if (connection === undefined) return;
  connection.noteCause({ by: 'network', error: (error as NodeJS.ErrnoException).code ?? error.message });
  connection.close();
}
