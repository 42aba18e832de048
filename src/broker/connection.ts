import type { Duplex } from 'node:stream';
import { PacketDecoder, type DecodeError } from '../protocol/decoder.js';
import { encodePacket } from '../protocol/encoder.js';
import type { Packet } from '../protocol/packets.js';
import { encodePublish, publishSize, type PublishDelivery } from '../protocol/publish-encoder.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { BrokerCore } from './broker-core.js';
import { dispatchPacket } from './handlers/dispatch.js';
import type { Message } from './message.js';
import type { Delivery, Session } from './session.js';
import type { SessionOwner, Will } from './session-registry.js';

type ConnectionState = 'awaiting-connect' | 'connected' | 'closed';

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
export class Connection implements SessionOwner {
  readonly core: BrokerCore;
  readonly socket: Duplex;
  readonly decoder: PacketDecoder;
  state: ConnectionState = 'awaiting-connect';
  version: 4 | 5 = 4;
  clientId = '';
  username: string | undefined;
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
  readonly aliasesIn = new Map<number, string>();
  readonly aliasesOut = new Map<string, number>();
  /** Inbound QoS 1/2 PUBLISHes not yet acknowledged (our Receive Maximum applies) [MQTT-3.3.4-7]. */
  inboundPending = 0;
  /** A DISCONNECT 0x00 was received: no will [MQTT-3.14.4-3]. */
  normalDisconnect = false;
  #lastActivity = Date.now();
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #corked = false;
  #waitingForDrain = false;
  #held: Packet[] | undefined;

  constructor(core: BrokerCore, socket: Duplex) {
    this.core = core;
    this.socket = socket;
    this.decoder = new PacketDecoder(
      core.options.maxPacketSizeBytes,
      (packet) => this.#onPacket(packet),
      (error) => this.#onDecodeError(error),
    );
    socket.on('data', (chunk: Buffer) => {
      this.#lastActivity = Date.now();
      core.counters.bytesReceived += chunk.length;
      this.decoder.push(chunk);
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.on('end', () => this.close());
    // [MQTT-3.1.0-1] the first packet must come within a bounded time
    this.#keepAliveTimer = setTimeout(() => {
      if (this.state === 'awaiting-connect') this.close();
    }, core.options.connectTimeoutMs);
    this.#keepAliveTimer.unref();
  }

  /** False while unwritten output is above the high-water mark (QoS 0 dropped, QoS 1/2 wait). */
  get writable(): boolean {
    if (this.state === 'closed') return false;
    if (this.socket.writableLength < this.core.options.outputHighWaterMark) return true;
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.socket.once('drain', () => {
        this.#waitingForDrain = false;
        this.session?.pump();
      });
    }
    return false;
  }

  /** Writes bytes; writes of one tick go out together (cork/uncork). */
  write(bytes: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(bytes);
    this.core.counters.bytesSent += bytes.length;
  }

  /** @internal flushes corked writes. */
  flush(): void {
    this.#corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
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
    this.send({ cmd: 'pubrel', messageId: packetId });
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
    this.core.logger.debug({ clientId: this.clientId, reasonCode, reasonString }, 'disconnecting client');
    this.close();
  }

  /** SessionOwner: another connection took this session [MQTT-3.1.4-3]. */
  takeOver(): void {
    this.disconnect(ReasonCode.SessionTakenOver);
  }

  /** Starts keep-alive enforcement at 1.5 times the interval [MQTT-3.1.2-22]. */
  startKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) clearTimeout(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
    if (this.keepAliveSeconds === 0) return;
    const limit = this.keepAliveSeconds * 1500;
    const check = (): void => {
      const idle = Date.now() - this.#lastActivity;
      if (idle >= limit) {
        this.disconnect(ReasonCode.KeepAliveTimeout);
        return;
      }
      this.#keepAliveTimer = setTimeout(check, limit - idle);
      this.#keepAliveTimer.unref();
    };
    this.#keepAliveTimer = setTimeout(check, limit);
    this.#keepAliveTimer.unref();
  }

  /** Closes the socket and hands the session back to the registry (idempotent). */
  close(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.#keepAliveTimer !== undefined) clearTimeout(this.#keepAliveTimer);
    if (this.#corked) this.flush();
    this.socket.end();
    // A reader that never drains its socket does not keep it open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
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
    if (message.expiresAt !== undefined) {
      // [MQTT-3.3.2-6] the forwarded interval is what is left of it
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
    const template = message.template;
    if (publishSize(template, d, version) > this.clientMaximumPacketSize) return this.#tooLarge();
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

  /** Holds incoming packets (and reading) while an asynchronous decision is pending. */
  hold(): void {
    this.#held ??= [];
    this.socket.pause();
  }

  /** Replays held packets in order and resumes reading. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const packet of held ?? []) this.#onPacket(packet);
    if (this.state !== 'closed') this.socket.resume();
  }

  #onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.#held !== undefined) {
      this.#held.push(packet);
      return;
    }
    try {
      dispatchPacket(this, packet);
    } catch (error) {
      this.core.logger.error({ clientId: this.clientId, err: String(error) }, 'packet handler failed');
      this.disconnect(ReasonCode.ImplementationSpecificError);
    }
  }

  #onDecodeError(error: DecodeError): void {
    this.core.logger.debug({ clientId: this.clientId, failure: error.failure, message: error.message }, 'undecodable input');
    // [MQTT-4.13.1-1] malformed packet: DISCONNECT 0x81 (v5), or close; 0x95 for an oversized one
    this.disconnect(error.failure === 'too-large' ? ReasonCode.PacketTooLarge : ReasonCode.MalformedPacket);
  }
}

function uncork(connection: Connection): void {
  connection.flush();
}
