import type { Duplex } from 'node:stream';
import { PacketDecoder, type DecodeError, type DecoderSink } from '../protocol/decoder.js';
import { encodeAck, encodePacket, type AckKind } from '../protocol/encoder.js';
import type { Packet, PublishPacket } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Completion } from '../storage/broker-store.js';
import type { ConnectionContext, TrackedConnection } from './connection-context.js';
import { ConnectionInput } from './connection-input.js';
import { logDisconnected, type DisconnectCause } from './connection-log.js';
import { ConnectionOutput, type OutboundLimits, type OutputOwner } from './connection-output.js';
import { ConnectionTimeouts, type TimedConnection } from './connection-timeouts.js';
import { Credentials } from './credentials.js';
import type { FaultArea } from './fault-boundary.js';
import type { BrokerHooks, ClientIdentity, ConnectionInfo } from './hooks.js';
import type { Message } from './message.js';
import { OrderedAcks, sendPublishAck, type AckChannel } from './ordered-acks.js';
import type { Throttleable } from './publisher-throttle.js';
import type { QueuedDelivery } from './delivery.js';
import type { Session } from './session.js';
import type { Will } from './session-registry.js';
import { listenToSocket, type SocketOwner } from './socket-events.js';

/** Where a connection is in its life. */
export type ConnectionState = 'awaiting-connect' | 'connected' | 'closed';

/** The protocol a connection is driven by: what happens to each decoded packet and to input that is not MQTT (handlers/dispatch.ts). */
export interface ProtocolHandlers {
  packet(connection: Connection, packet: Packet): void;
  decodeError(connection: Connection, error: DecodeError): void;
}

/** What a CONNECT negotiated for the connection's traffic. */
export interface NegotiatedLimits extends OutboundLimits {
  /** The client's Receive Maximum: QoS 1/2 PUBLISHes it takes unacknowledged [MQTT-3.3.4-9]. */
  readonly receiveMaximum: number;
  /** Keep alive in seconds (server keep alive applied); 0 = off. */
  readonly keepAliveSeconds: number;
}

const NO_INFO: ConnectionInfo = Object.freeze({});

/**
 * One network connection and the state it owns: its protocol level, the client's identity and
 * credentials, the negotiated limits, its session and will, inbound topic aliases and the ordered
 * acknowledgement of inbound PUBLISHes. Handlers change that state only through its methods.
 * Reading, writing and deadlines are its parts (connection-input.ts, connection-output.ts,
 * connection-timeouts.ts). Protocol errors end as a reason-coded DISCONNECT; nothing throws out.
 */
export class Connection implements TrackedConnection, DecoderSink, Throttleable, TimedConnection, OutputOwner, AckChannel, SocketOwner {
  readonly core: ConnectionContext;
  readonly socket: Duplex;
  readonly decoder: PacketDecoder;
  /** Authentication and authorization of this connection's port (default: the broker's). */
  readonly hooks: BrokerHooks;
  /** Facts given to attach (listener, port, client certificate). */
  readonly info: ConnectionInfo;
  /** Who the client is: identity and credentials, set by CONNECT and re-authentication. */
  readonly credentials = new Credentials();
  readonly #protocol: ProtocolHandlers;
  readonly #input: ConnectionInput;
  readonly #output: ConnectionOutput;
  readonly #timeouts = new ConnectionTimeouts();
  #state: ConnectionState = 'awaiting-connect';
  #version: 4 | 5 = 4;
  #session: Session | undefined;
  #will: Will | undefined;
  /** A DISCONNECT 0x00 was received: no will [MQTT-3.14.4-3]. */
  #normalDisconnect = false;
  #sendQuota = 65_535;
  /** Inbound topic aliases [MQTT-3.3.2-10] (created on first use). */
  #aliasesIn: Map<number, string> | undefined;
  /** PUBACKs/PUBRECs waiting for a store write or behind one, sent in arrival order (created on first use). */
  #acks: OrderedAcks | undefined;
  /** Why the connection ends: the first cause noted wins (a DISCONNECT, then the socket closing, is the DISCONNECT). */
  #cause: DisconnectCause | undefined;

  constructor(core: ConnectionContext, protocol: ProtocolHandlers, socket: Duplex, hooks: BrokerHooks, info: ConnectionInfo = NO_INFO) {
    this.core = core;
    this.#protocol = protocol;
    this.socket = socket;
    this.hooks = hooks;
    this.info = info;
    this.decoder = new PacketDecoder(core.options.maxPacketSizeBytes, this, core.partialPackets);
    this.#input = new ConnectionInput(socket, this.decoder);
    this.#output = new ConnectionOutput(socket, this, core.counters, core.options.outputHighWaterMark);
    listenToSocket(socket, this);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The protocol level: 4 (3.1.1) until a CONNECT says otherwise. */
  get version(): 4 | 5 {
    return this.#version;
  }

  get clientId(): string {
    return this.credentials.clientId;
  }

  /** Who this client is, for authorization hooks. */
  get identity(): ClientIdentity {
    return this.credentials.identity;
  }

  /** The session opened by CONNECT. */
  get session(): Session | undefined {
    return this.#session;
  }

  /** TrackedConnection: the will to publish now that the connection ended (none after a normal DISCONNECT). */
  get willOnClose(): Will | undefined {
    return this.#normalDisconnect ? undefined : this.#will;
  }

  /** TrackedConnection: the CONNECT had a will. */
  get connectedWithWill(): boolean {
    return this.#will !== undefined;
  }

  /** DeliveryChannel: the client's Receive Maximum [MQTT-3.3.4-9]. */
  get sendQuota(): number {
    return this.#sendQuota;
  }

  /** DeliveryChannel: false while unwritten output is above the high-water mark (QoS 0 dropped, QoS 1/2 wait). */
  get writable(): boolean {
    return this.#output.writable;
  }

  /** TimedConnection: whether the broker itself does not read now (flow control, held packets). */
  get readingHeld(): boolean {
    return this.#input.heldByBroker;
  }

  /**
   * Inbound QoS 1 PUBLISHes whose PUBACK is not sent yet (waiting in the ordered queue); with the
   * session's unreleased QoS 2 ids, our Receive Maximum applies to them [MQTT-3.3.4-7].
   */
  get inboundPending(): number {
    return this.#acks?.pendingQos1 ?? 0;
  }

  /** A CONNECT of this protocol level was read: packets are encoded and decoded for it from now on. */
  useProtocolVersion(version: 4 | 5): void {
    this.#version = version;
    this.decoder.setProtocolVersion(version);
  }

  /** Sets what the CONNECT negotiated: the client's Receive Maximum, Maximum Packet Size, Topic Alias Maximum, and keep alive. */
  setLimits(limits: NegotiatedLimits): void {
    this.#sendQuota = limits.receiveMaximum;
    this.#output.limit(limits);
    this.#timeouts.setKeepAlive(limits.keepAliveSeconds);
  }

  /** The CONNECT is accepted: the connection serves `session` and publishes `will` when it ends abnormally. */
  openSession(session: Session, will: Will | undefined): void {
    this.#session = session;
    this.#will = will;
    this.#state = 'connected';
    const counters = this.core.counters;
    counters.connected++;
    if (counters.connected > counters.maxConnected) counters.maxConnected = counters.connected;
  }

  /** The client sent DISCONNECT: `withWill` (0x04) keeps the will, anything else discards it [MQTT-3.14.4-3]. */
  clientDisconnected(reasonCode: number, withWill: boolean): void {
    this.#normalDisconnect = !withWill;
    this.noteCause({ by: 'client', reasonCode });
    this.close();
  }

  /** Defines (or redefines) an inbound topic alias [MQTT-3.3.2-12]. */
  defineTopicAlias(alias: number, topic: string): void {
    (this.#aliasesIn ??= new Map()).set(alias, topic);
  }

  /** The topic of an inbound topic alias; undefined when it was never defined. */
  topicOfAlias(alias: number): string | undefined {
    return this.#aliasesIn?.get(alias);
  }

  /**
   * Acknowledges an inbound QoS 1/2 PUBLISH (PUBACK, or PUBREC for QoS 2) with `reasonCode`, after
   * every earlier acknowledgement of this connection [MQTT-4.6.0-2], and, given the `completion` of
   * its store write, once that settled [MQTT-4.3.2-2].
   */
  acknowledge(packet: PublishPacket, reasonCode: number, completion?: Completion): void {
    if (completion !== undefined) (this.#acks ??= new OrderedAcks(this)).whenStored(completion, packet, reasonCode);
    else if (this.#acks !== undefined) this.#acks.inOrder(packet, reasonCode);
    else sendPublishAck(this, packet.qos, packet.messageId as number, reasonCode);
  }

  /** Writes bytes; writes of one tick go out together. */
  write(bytes: Buffer): void {
    this.#output.write(bytes);
  }

  /** Encodes and writes a control packet. */
  send(packet: Packet): void {
    this.#output.write(encodePacket(packet, this.#version));
  }

  /** DeliveryChannel: writes a QoS 1/2 PUBLISH of a delivery. */
  sendPublish(delivery: QueuedDelivery, dup: boolean): boolean {
    return this.#output.publish(delivery.message, delivery.qos, delivery.retain, dup, delivery.packetId, delivery.subscriptionIds, this.#version, this.core.faults);
  }

  /** DeliveryChannel: writes a QoS 0 PUBLISH unless the socket is backed up. */
  sendQos0(message: Message, retain: boolean, subscriptionIds: number[] | undefined): void {
    this.#output.publishQos0(message, retain, subscriptionIds, this.#version, this.core.faults);
  }

  /** DeliveryChannel: writes PUBREL. */
  sendPubrel(packetId: number): void {
    this.sendAck('pubrel', packetId, 0);
  }

  /** Writes PUBACK/PUBREC/PUBREL/PUBCOMP; the reason code is dropped for 3.1.1. */
  sendAck(kind: AckKind, packetId: number, reasonCode: number): void {
    this.#output.write(encodeAck(kind, packetId, reasonCode, this.#version));
  }

  /** OutputOwner: the socket drained: the session sends what waited. */
  outputDrained(): void {
    const session = this.#session;
    if (session !== undefined) this.contain('output-drain', () => session.pump());
  }

  /** Sends a v5 DISCONNECT with a reason (v3.1.1 has none) and closes [MQTT-4.13.1-1]. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.#state === 'closed') return;
    if (this.#version === 5 && this.#state === 'connected') {
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

  /** Called by the broker's timeout sweep: closes the connection when one of its deadlines passed (connection-timeouts.ts). */
  checkTimeouts(now: number): void {
    this.#timeouts.check(this, now);
  }

  /** Closes the socket and hands the session back to the registry (idempotent). */
  close(): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    this.decoder.discardPartial(); // an incomplete packet's bytes go at once, not when the socket is collected
    if (this.#input.throttled) this.core.throttle.forget(this);
    this.#input.close();
    this.#output.close();
    this.socket.end();
    // A reader that never drains its socket does not keep it open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    if (wasConnected) logDisconnected(this, this.#cause ?? { by: 'server' });
    this.core.connectionClosed(this, wasConnected);
  }

  /** @internal bytes arrived on the socket. */
  receive(chunk: Buffer): void {
    this.#timeouts.noteActivity(Date.now());
    this.core.counters.bytesReceived += chunk.length;
    try {
      this.decoder.push(chunk); // packets are contained one by one (onPacket); this catches the decoder itself
    } catch (error) {
      this.core.faults.report('socket-input', error, this.clientId);
      this.#abortAfterFault();
      return;
    }
    this.#input.counted(chunk.length);
  }

  /** Holds incoming packets (and reading) while an asynchronous decision or a long SUBSCRIBE is pending. */
  hold(): void {
    this.#input.hold();
  }

  /**
   * Replays held packets in order and resumes reading. A replayed packet that holds again (another
   * long SUBSCRIBE) takes the packets after it into the new hold, and reading stays paused.
   */
  replayHeld(): void {
    this.#input.replayHeld(this);
  }

  /** Throttleable: stop reading (TCP pushes back on the client) while a subscriber catches up. */
  pauseReading(): void {
    this.#input.throttle();
  }

  /** Throttleable: read again. */
  resumeReading(): void {
    this.#input.unthrottle();
  }

  /** DecoderSink: one decoded packet. */
  onPacket(packet: Packet): void {
    if (this.#state === 'closed' || this.#input.keep(packet)) return;
    try {
      this.#protocol.packet(this, packet);
    } catch (error) {
      this.core.faults.report('packet', error, this.clientId);
      this.#abortAfterFault();
    }
  }

  /** DecoderSink: the input was not MQTT. */
  onDecodeError(error: DecodeError): void {
    this.#protocol.decodeError(this, error);
  }
}
