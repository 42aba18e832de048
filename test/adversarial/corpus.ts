/**
 * Valid MQTT 3.1.1 and 5.0 packets, as field models (packet-model.ts), that the fuzzer mutates:
 * every packet type a client sends, with every property the type allows, wills included.
 */
import type { PacketModel, Part, Prop } from './packet-model.js';

const s = (text: string): Buffer => Buffer.from(text, 'utf8');

/** The state store's request topic (docs/reference/state-store-protocol.md). */
export const STATE_STORE_REQUEST_TOPIC = 'statestore/v1/FA9AE35F-2F64-47CD-9BFF-08E2B32A0FE8/command/invoke';

/** A will as the CONNECT carries it. */
export interface WillFields {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly props?: Prop[];
}

/** Fields of a CONNECT. */
export interface ConnectFields {
  readonly clientId: string;
  readonly clean?: boolean;
  readonly keepalive?: number;
  readonly will?: WillFields;
  readonly username?: string;
  readonly password?: Buffer;
  readonly props?: Prop[];
}

/** A CONNECT model [MQTT-3.1]. */
export function connectModel(version: 4 | 5, c: ConnectFields): PacketModel {
  const will = c.will;
  let flags = (c.clean ?? true) ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (c.username !== undefined) flags |= 0x80;
  if (c.password !== undefined) flags |= 0x40;
  const parts: Part[] = [
    { kind: 'str', value: s('MQTT'), role: 'protocol-name' },
    { kind: 'u8', value: version, role: 'level' },
    { kind: 'u8', value: flags, role: 'connect-flags' },
    { kind: 'u16', value: c.keepalive ?? 0, role: 'keepalive' },
  ];
  if (version === 5) parts.push({ kind: 'props', props: c.props ?? [] });
  parts.push({ kind: 'str', value: s(c.clientId), role: 'client-id' });
  if (will !== undefined) {
    if (version === 5) parts.push({ kind: 'props', props: will.props ?? [], role: 'will' });
    parts.push({ kind: 'str', value: s(will.topic), role: 'topic' }, { kind: 'bin', value: will.payload });
  }
  if (c.username !== undefined) parts.push({ kind: 'str', value: s(c.username) });
  if (c.password !== undefined) parts.push({ kind: 'bin', value: c.password });
  return { type: 1, flags: 0, parts };
}

/** A PUBLISH model [MQTT-3.3]. */
export function publishModel(version: 4 | 5, topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, packetId: number, props: Prop[] = []): PacketModel {
  const parts: Part[] = [{ kind: 'str', value: s(topic), role: 'topic' }];
  if (qos > 0) parts.push({ kind: 'u16', value: packetId, role: 'packet-id' });
  if (version === 5) parts.push({ kind: 'props', props });
  parts.push({ kind: 'raw', value: payload });
  return { type: 3, flags: (qos << 1) | (retain ? 1 : 0), parts };
}

function ack(version: 4 | 5, type: number, flags: number, packetId: number): PacketModel {
  const parts: Part[] = [{ kind: 'u16', value: packetId, role: 'packet-id' }];
  if (version === 5) parts.push({ kind: 'u8', value: 0, role: 'reason' }, { kind: 'props', props: [{ id: 0x1f, value: s('why') }, { id: 0x26, value: [s('k'), s('v')] }] });
  return { type, flags, parts };
}

/** A SUBSCRIBE model [MQTT-3.8]: filters with their option bytes. */
export function subscribeModel(version: 4 | 5, packetId: number, filters: readonly (readonly [string, number])[], props: Prop[] = []): PacketModel {
  const parts: Part[] = [{ kind: 'u16', value: packetId, role: 'packet-id' }];
  if (version === 5) parts.push({ kind: 'props', props });
  for (const [filter, options] of filters) parts.push({ kind: 'str', value: s(filter), role: 'filter' }, { kind: 'u8', value: options, role: 'sub-options' });
  return { type: 8, flags: 2, parts };
}

/** A will with every will property (v5). */
export function richWill(version: 4 | 5, topic: string, delaySeconds: number): WillFields {
  return {
    topic,
    payload: s('gone'),
    qos: 1,
    retain: false,
    ...(version === 5
      ? {
          props: [
            { id: 0x18, value: delaySeconds },
            { id: 0x01, value: 1 },
            { id: 0x02, value: 60 },
            { id: 0x03, value: s('text/plain') },
            { id: 0x08, value: s('fz/reply') },
            { id: 0x09, value: Buffer.from([1, 2, 3]) },
            { id: 0x26, value: [s('a'), s('b')] },
          ],
        }
      : {}),
  };
}

/** The packets a connected client sends (everything but CONNECT), valid for `version`. */
export function sessionPackets(version: 4 | 5): PacketModel[] {
  const v5 = version === 5;
  const fullPublishProps: Prop[] = [
    { id: 0x01, value: 0 },
    { id: 0x02, value: 60 },
    { id: 0x23, value: 1 },
    { id: 0x08, value: s('fz/reply') },
    { id: 0x09, value: Buffer.from([1, 2]) },
    { id: 0x26, value: [s('k'), s('v1')] },
    { id: 0x26, value: [s('k'), s('v2')] },
    { id: 0x03, value: s('text/plain') },
  ];
  const packets: PacketModel[] = [
    publishModel(version, 'fz/a', s('hello'), 0, false, 0),
    publishModel(version, 'fz/b', s('world'), 1, false, 7, v5 ? fullPublishProps : []),
    publishModel(version, 'fz/c', Buffer.alloc(40, 0x7a), 2, false, 8, v5 ? [{ id: 0x03, value: s('bin') }] : []),
    publishModel(version, 'fz/retained', s('kept'), 1, true, 9, v5 ? [{ id: 0x03, value: s('text/plain') }, { id: 0x09, value: Buffer.from([9]) }] : []),
    publishModel(version, STATE_STORE_REQUEST_TOPIC, s('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'), 1, false, 10, v5 ? [{ id: 0x08, value: s('fz/ss-reply') }, { id: 0x09, value: Buffer.from([7]) }] : []),
    ack(version, 4, 0, 1), // PUBACK
    ack(version, 5, 0, 2), // PUBREC
    ack(version, 6, 2, 8), // PUBREL
    ack(version, 7, 0, 3), // PUBCOMP
    subscribeModel(version, 4, [['fz/#', v5 ? 0x01 | 0x04 | 0x08 | 0x10 : 0x01], ['$share/g/fz/+', 0x02]], v5 ? [{ id: 0x0b, value: 3 }, { id: 0x26, value: [s('k'), s('v')] }] : []),
    {
      type: 10, // UNSUBSCRIBE
      flags: 2,
      parts: [{ kind: 'u16', value: 5, role: 'packet-id' }, ...(v5 ? [{ kind: 'props', props: [{ id: 0x26, value: [s('k'), s('v')] }] } as Part] : []), { kind: 'str', value: s('fz/#'), role: 'filter' }, { kind: 'str', value: s('x'), role: 'filter' }],
    },
    { type: 12, flags: 0, parts: [] }, // PINGREQ
  ];
  if (v5) {
    packets.push(
      { type: 14, flags: 0, parts: [{ kind: 'u8', value: 0x04, role: 'reason' }, { kind: 'props', props: [{ id: 0x11, value: 0 }, { id: 0x1f, value: s('bye') }] }] }, // DISCONNECT with will
      { type: 15, flags: 0, parts: [{ kind: 'u8', value: 0x18, role: 'reason' }, { kind: 'props', props: [{ id: 0x15, value: s('m') }, { id: 0x16, value: Buffer.from([1]) }] }] }, // AUTH
    );
  } else packets.push({ type: 14, flags: 0, parts: [] });
  return packets;
}

/** CONNECTs to mutate: with and without a will, credentials and every CONNECT property (v5). */
export function connectPackets(version: 4 | 5, clientId: string): PacketModel[] {
  const v5 = version === 5;
  const props: Prop[] = v5
    ? [
        { id: 0x11, value: 30 },
        { id: 0x21, value: 10 },
        { id: 0x27, value: 65_536 },
        { id: 0x22, value: 5 },
        { id: 0x19, value: 1 },
        { id: 0x17, value: 1 },
        { id: 0x26, value: [s('a'), s('b')] },
      ]
    : [];
  return [
    connectModel(version, { clientId, keepalive: 30, props, will: richWill(version, `fz/will/${clientId}`, 0) }),
    connectModel(version, { clientId, keepalive: 0, props, will: richWill(version, `fz/will/${clientId}`, 1), username: 'u', password: s('p') }),
    connectModel(version, { clientId, clean: false, props }),
  ];
}
