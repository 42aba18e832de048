import type { IConnectPacket, IPublishPacket, ISubackPacket, ISubscription, Packet } from 'mqtt-packet';
import { pingBarrier, within } from './bad-input.js';
import { RawClient } from './raw-client.js';

/** Helpers for the publish/subscribe integration tests (qos, retained, subscriptions, properties, shared). */

/** Opens a RawClient, sends CONNECT (fields merged) and checks the CONNACK is a success. */
export async function rawConnect(port: number, version: 4 | 5, fields: Partial<IConnectPacket> = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  const connack = await raw.connect({ clientId: `raw-${Math.random().toString(36).slice(2)}`, ...fields });
  const code = version === 5 ? connack.reasonCode : connack.returnCode;
  if (code !== 0) throw new Error(`CONNACK refused: ${code}`);
  return raw;
}

let nextId = 1;

/** Sends SUBSCRIBE and returns the SUBACK (packets before it are kept in order for the caller). */
export async function rawSubscribe(
  raw: RawClient,
  subscriptions: ISubscription[],
  properties?: ISubackPacket['properties'] & { subscriptionIdentifier?: number },
): Promise<ISubackPacket> {
  const messageId = nextId++;
  raw.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties !== undefined ? { properties } : {}) });
  const packet = await raw.nextOf('suback');
  if (packet?.cmd !== 'suback') throw new Error('no SUBACK');
  if (packet.messageId !== messageId) throw new Error(`SUBACK for ${packet.messageId}, expected ${messageId}`);
  return packet;
}

/** The next packet, which must be a PUBLISH. */
export async function expectPublish(raw: RawClient, timeoutMs = 5000): Promise<IPublishPacket> {
  const packet = await raw.next(timeoutMs);
  if (packet?.cmd !== 'publish') throw new Error(`expected PUBLISH, got ${packet?.cmd ?? 'close'}`);
  return packet;
}

/** The next packet, whatever it is (throws on close). */
export async function expectPacket(raw: RawClient, timeoutMs = 5000): Promise<Packet> {
  const packet = await raw.next(timeoutMs);
  if (packet === undefined) throw new Error('connection closed');
  return packet;
}

/**
 * Round-trip barrier: sends PINGREQ and returns every packet received before the PINGRESP.
 * Anything the broker wrote before answering the ping is in the list.
 */
export const drainUntilPing: (raw: RawClient, timeoutMs?: number) => Promise<Packet[]> = pingBarrier;

/** Publishes from a RawClient at QoS 1 and returns the PUBACK reason code (v5) or 0. */
export async function rawPublishQos1(raw: RawClient, packet: Omit<IPublishPacket, 'cmd' | 'qos' | 'dup' | 'retain' | 'messageId'> & { retain?: boolean }): Promise<number> {
  const messageId = nextId++;
  raw.send({ cmd: 'publish', qos: 1, dup: false, retain: false, ...packet, messageId });
  const ack = await raw.nextOf('puback');
  if (ack?.cmd !== 'puback') throw new Error('no PUBACK');
  if (ack.messageId !== messageId) throw new Error(`PUBACK for ${ack.messageId}, expected ${messageId}`);
  return ack.reasonCode ?? 0;
}

/** Waits until `closed` resolves, bounded. */
export async function closedWithin(raw: RawClient, timeoutMs = 5000): Promise<void> {
  await within(raw.closed, timeoutMs, 'connection close');
}

/** Records every byte the broker sends to a RawClient from now on (for exact encoding checks). */
export function captureBytes(raw: RawClient): () => Buffer {
  const chunks: Buffer[] = [];
  raw.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

/** Encodes one v5 User Property (identifier 0x26, then two UTF-8 strings). */
export function userPropertyBytes(key: string, value: string): Buffer {
  const k = Buffer.from(key, 'utf8');
  const v = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(5 + k.length + v.length);
  out[0] = 0x26;
  out.writeUInt16BE(k.length, 1);
  k.copy(out, 3);
  out.writeUInt16BE(v.length, 3 + k.length);
  v.copy(out, 5 + k.length);
  return out;
}

/** Like {@link drainUntilPing}, but every packet before the PINGRESP must be a PUBLISH. */
export async function publishesUntilPing(raw: RawClient): Promise<IPublishPacket[]> {
  const packets = await drainUntilPing(raw);
  return packets.map((p) => {
    if (p.cmd !== 'publish') throw new Error(`expected only PUBLISH before PINGRESP, got ${p.cmd}`);
    return p;
  });
}
