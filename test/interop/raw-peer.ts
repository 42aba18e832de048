/**
 * A byte-level MQTT 5 peer for the Paho cases that look at exact packets (topic aliases): it
 * reads every packet the server sends, records PUBLISHes and DISCONNECTs as they are on the wire
 * (topic name and Topic Alias unresolved), acknowledges incoming QoS 1 and 2, and completes its
 * own QoS flows. Built on RawClient; PUBLISHes are written with packet-bytes.ts.
 */
import type { IConnackPacket, IConnectPacket, IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { P, prop, props, publishBytes, u16 } from '../helpers/packet-bytes.js';
import type { RawClient } from '../helpers/raw-client.js';

/** A connected byte-level peer: what the server sent it, and its own PUBLISH/SUBSCRIBE flows. */
export class RawPeer {
  readonly raw: RawClient;
  /** PUBLISHes the server sent, in order. */
  readonly received: IPublishPacket[] = [];
  readonly disconnects: IDisconnectPacket[] = [];
  readonly #waiting = new Map<string, (packet: Packet | undefined) => void>();
  #nextId = 1;

  private constructor(raw: RawClient) {
    this.raw = raw;
    void this.#pump();
  }

  /** Sends CONNECT on `raw` (a fresh connection) and starts reading; rejects unless the CONNACK says success. */
  static async connect(raw: RawClient, fields: Partial<IConnectPacket>): Promise<{ peer: RawPeer; connack: IConnackPacket }> {
    const connack = await raw.connect(fields);
    if ((connack.reasonCode ?? 0) !== 0) throw new Error(`CONNACK reason code ${connack.reasonCode}`);
    return { peer: new RawPeer(raw), connack };
  }

  async #pump(): Promise<void> {
    for (;;) {
      const packet = await this.raw.next(2_000_000_000);
      if (packet === undefined) break;
      switch (packet.cmd) {
        case 'publish':
          this.received.push(packet);
          if (packet.qos === 1) this.raw.send({ cmd: 'puback', messageId: packet.messageId as number });
          if (packet.qos === 2) this.raw.send({ cmd: 'pubrec', messageId: packet.messageId as number });
          break;
        case 'pubrel':
          this.raw.send({ cmd: 'pubcomp', messageId: packet.messageId as number });
          break;
        case 'pubrec':
          this.raw.send({ cmd: 'pubrel', messageId: packet.messageId as number });
          break;
        case 'puback':
        case 'pubcomp':
        case 'suback':
          this.#waiting.get(`${packet.cmd}:${packet.messageId}`)?.(packet);
          break;
        case 'disconnect':
          this.disconnects.push(packet);
          break;
        default:
          break;
      }
    }
    for (const done of this.#waiting.values()) done(undefined);
  }

  #await(key: string): Promise<Packet | undefined> {
    return new Promise((resolve) => {
      this.#waiting.set(key, (packet) => {
        this.#waiting.delete(key);
        resolve(packet);
      });
    });
  }

  /** SUBSCRIBE to one filter; resolves with the SUBACK's reason code. */
  async subscribe(filter: string, qos: 0 | 1 | 2): Promise<number | undefined> {
    const messageId = this.#nextId++;
    const acked = this.#await(`suback:${messageId}`);
    this.raw.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic: filter, qos }] });
    const suback = await acked;
    return suback?.cmd === 'suback' ? suback.granted[0] as number : undefined;
  }

  /**
   * PUBLISH (`topic` may be '' with `topicAlias`); QoS 1 and 2 resolve once complete, or at once
   * when `wait` is false (a PUBLISH the server is expected to answer with DISCONNECT).
   */
  async publish(topic: string, payload: string, qos: 0 | 1 | 2, options: { topicAlias?: number; wait?: boolean } = {}): Promise<void> {
    const packetId = qos > 0 ? this.#nextId++ : undefined;
    const properties = options.topicAlias === undefined ? props() : props(prop(P.topicAlias, u16(options.topicAlias)));
    const done = packetId === undefined ? undefined : this.#await(`${qos === 1 ? 'puback' : 'pubcomp'}:${packetId}`);
    this.raw.sendBytes(publishBytes({ topic, qos, ...(packetId !== undefined ? { packetId } : {}), properties, payload: Buffer.from(payload) }));
    if (options.wait !== false) await done;
  }

  /** A clean DISCONNECT; resolves once the server closed the connection. */
  async disconnect(): Promise<void> {
    this.raw.send({ cmd: 'disconnect' });
    await this.raw.closed;
  }
}
