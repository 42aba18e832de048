import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  createPublishTemplate,
  encodePublish,
  publishSize,
  type ForwardedProperties,
  type PublishDelivery,
} from '../../../src/protocol/publish-encoder.js';

interface Case {
  name: string;
  forwarded?: ForwardedProperties;
  delivery?: Partial<PublishDelivery>;
  payload?: Buffer;
  topic?: string;
}

/** mqtt-packet's object form of user properties (names grouped; fine for non-interleaved names). */
function toObject(pairs: readonly (readonly [string, string])[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

const everything: ForwardedProperties = {
  payloadFormatIndicator: true,
  contentType: 'application/json; charset=utf-8',
  responseTopic: 'reply/to/ü',
  correlationData: Buffer.from([0, 1, 2, 0xff]),
  userProperties: [['a', '1'], ['multi', 'x'], ['multi', 'y'], ['multi', 'z'], ['ключ', 'значение']],
};

const cases: Case[] = [
  { name: 'no properties' },
  { name: 'empty payload', payload: Buffer.alloc(0) },
  { name: 'payload needing a 3-byte remaining length', payload: Buffer.alloc(20_000, 7) },
  { name: 'message expiry', delivery: { messageExpiry: 3600 } },
  { name: 'message expiry 0', delivery: { messageExpiry: 0 } },
  { name: 'one subscription id', delivery: { subscriptionIds: [1] } },
  { name: 'several subscription ids incl. multi-byte', delivery: { subscriptionIds: [5, 200, 268_435_455] } },
  { name: 'topic alias with topic', delivery: { topicAlias: 3 } },
  { name: 'topic alias only', delivery: { topicAlias: 65_535, aliasOnly: true } },
  { name: 'payload format indicator false', forwarded: { payloadFormatIndicator: false } },
  { name: 'content type', forwarded: { contentType: 'text/plain' } },
  { name: 'response topic', forwarded: { responseTopic: 'r/t' } },
  { name: 'correlation data', forwarded: { correlationData: Buffer.from('corr') } },
  { name: 'user properties', forwarded: { userProperties: [['k', 'v'], ['k2', 'a'], ['k2', 'b']] } },
  {
    name: 'every property at once',
    forwarded: everything,
    delivery: { messageExpiry: 42, topicAlias: 9, subscriptionIds: [1, 300] },
    payload: Buffer.alloc(300, 1),
  },
];

function expected(topic: string, payload: Buffer, f: ForwardedProperties | undefined, d: PublishDelivery, version: 4 | 5): Buffer {
  const properties: NonNullable<IPublishPacket['properties']> = {};
  if (version === 5) {
    // mqtt-packet writes properties in key order; the fast encoder's order is the one below
    if (d.messageExpiry >= 0) properties.messageExpiryInterval = d.messageExpiry;
    if (d.topicAlias > 0) properties.topicAlias = d.topicAlias;
    if (d.subscriptionIds !== undefined) properties.subscriptionIdentifier = d.subscriptionIds.length === 1 ? (d.subscriptionIds[0] as number) : [...d.subscriptionIds];
    if (f?.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = f.payloadFormatIndicator;
    if (f?.contentType !== undefined) properties.contentType = f.contentType;
    if (f?.responseTopic !== undefined) properties.responseTopic = f.responseTopic;
    if (f?.correlationData !== undefined) properties.correlationData = f.correlationData;
    if (f?.userProperties !== undefined) properties.userProperties = toObject(f.userProperties);
  }
  return mqttPacket.generate(
    {
      cmd: 'publish',
      topic: d.aliasOnly ? '' : topic,
      payload,
      qos: d.qos,
      dup: d.dup,
      retain: d.retain,
      ...(d.qos > 0 ? { messageId: d.packetId } : {}),
      ...(version === 5 && Object.keys(properties).length > 0 ? { properties } : {}),
    },
    { protocolVersion: version },
  );
}

describe('encodePublish', () => {
  for (const version of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      for (const flags of [
        { dup: false, retain: false },
        { dup: true, retain: true },
      ]) {
        if (qos === 0 && flags.dup) continue; // [MQTT-3.3.1-2] never DUP at QoS 0
        for (const c of cases) {
          if (version === 4 && (c.forwarded !== undefined || c.delivery !== undefined)) continue; // 3.1.1 has no properties
          it(`v${version} QoS ${qos} dup=${flags.dup} retain=${flags.retain}: ${c.name} is byte-identical to mqtt-packet`, () => {
            const topic = c.topic ?? 'sensors/büro/temperature';
            const payload = c.payload ?? Buffer.from('{"t":21.5}');
            const d: PublishDelivery = {
              qos,
              ...flags,
              packetId: qos > 0 ? 0xbeef : 0,
              topicAlias: 0,
              aliasOnly: false,
              messageExpiry: -1,
              subscriptionIds: undefined,
              ...c.delivery,
            };
            const template = createPublishTemplate(topic, payload, c.forwarded);
            const bytes = encodePublish(template, d, version);
            expect(bytes.equals(expected(topic, payload, c.forwarded, d, version))).toBe(true);
            expect(publishSize(template, d, version)).toBe(bytes.length);
          });
        }
      }
    }
  }

  it('v4 ignores v5-only delivery fields in size and bytes', () => {
    const template = createPublishTemplate('t', Buffer.from('x'), undefined);
    const d: PublishDelivery = { qos: 1, dup: false, retain: false, packetId: 1, topicAlias: 0, aliasOnly: false, messageExpiry: -1, subscriptionIds: undefined };
    const bytes = encodePublish(template, d, 4);
    expect([...bytes]).toEqual([0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x78]);
    expect(publishSize(template, d, 4)).toBe(8);
  });

  it('the encoding decodes back to the same message with mqtt-packet', () => {
    const template = createPublishTemplate('a/b', Buffer.from('payload'), everything);
    const d: PublishDelivery = { qos: 2, dup: true, retain: true, packetId: 77, topicAlias: 4, aliasOnly: false, messageExpiry: 10, subscriptionIds: [2, 3] };
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const got: IPublishPacket[] = [];
    parser.on('packet', (p) => got.push(p as IPublishPacket));
    parser.parse(encodePublish(template, d, 5));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ topic: 'a/b', qos: 2, dup: true, retain: true, messageId: 77 });
    expect(got[0]?.payload.toString()).toBe('payload');
    expect(got[0]?.properties).toMatchObject({
      messageExpiryInterval: 10,
      topicAlias: 4,
      subscriptionIdentifier: [2, 3],
      payloadFormatIndicator: true,
      contentType: everything.contentType,
      responseTopic: everything.responseTopic,
      userProperties: toObject(everything.userProperties ?? []),
    });
    expect(Buffer.compare(got[0]?.properties?.correlationData as Buffer, everything.correlationData as Buffer)).toBe(0);
  });
});
