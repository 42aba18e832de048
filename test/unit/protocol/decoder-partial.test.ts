import mqttPacket, { type ISubscribePacket, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketDecoder, type DecodeError } from '../../../src/protocol/decoder.js';
import { PartialPacketBudget } from '../../../src/protocol/partial-packet-budget.js';
import { LAZY_SUBSCRIBE_BYTES, moreFilters } from '../../../src/protocol/subscribe-filters.js';
import type { SubscribePacket, SubscriptionRequest } from '../../../src/protocol/packets.js';

function decoder(budget?: PartialPacketBudget, version: 4 | 5 = 5): { d: PacketDecoder; packets: Packet[]; errors: DecodeError[] } {
  const packets: Packet[] = [];
  const errors: DecodeError[] = [];
  const d = new PacketDecoder(64 * 1024 * 1024, { onPacket: (p) => packets.push(p), onDecodeError: (e) => errors.push(e) }, budget);
  d.setProtocolVersion(version);
  return { d, packets, errors };
}

const publish = (payloadLength: number): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(payloadLength, 0x61), qos: 0, dup: false, retain: false }, { protocolVersion: 5 });

describe('PacketDecoder partial packets', () => {
  it('knows since when a packet is incomplete, and forgets it once the packet is whole', () => {
    const { d, packets } = decoder();
    const bytes = publish(1000);
    expect(d.partialSince).toBeUndefined();
    const before = Date.now();
    d.push(bytes.subarray(0, 10));
    expect(d.partialSince).toBeGreaterThanOrEqual(before);
    expect(d.partialBytes).toBe(10);
    const since = d.partialSince;
    d.push(bytes.subarray(10, 500));
    expect(d.partialSince).toBe(since); // the deadline runs from the first byte, not the last
    d.push(bytes.subarray(500));
    expect(packets).toHaveLength(1);
    expect(d.partialSince).toBeUndefined();
    expect(d.partialBytes).toBe(0);
  });

  it('restartPartialClock() gives the packet arriving a whole deadline again (after the broker paused reading), and does nothing between packets', () => {
    const { d } = decoder();
    d.restartPartialClock(5);
    expect(d.partialSince).toBeUndefined();
    d.push(publish(1000).subarray(0, 10));
    d.restartPartialClock(Number.MAX_SAFE_INTEGER);
    expect(d.partialSince).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('charges the bytes of incomplete packets to the shared budget and gives them back when the packet completes', () => {
    const budget = new PartialPacketBudget(1_000_000);
    const a = decoder(budget);
    const b = decoder(budget);
    const bytes = publish(10_000);
    a.d.push(bytes.subarray(0, 4000));
    b.d.push(bytes.subarray(0, 3000));
    expect(budget.usedBytes).toBe(7000);
    a.d.push(bytes.subarray(4000));
    expect(a.packets).toHaveLength(1);
    expect(budget.usedBytes).toBe(3000);
  });

  it('fails the connection whose packet would go over the budget (over-budget), dropping its bytes', () => {
    const budget = new PartialPacketBudget(10_000);
    const a = decoder(budget);
    const b = decoder(budget);
    const bytes = publish(20_000);
    a.d.push(bytes.subarray(0, 8000));
    b.d.push(bytes.subarray(0, 1000));
    b.d.push(bytes.subarray(1000, 3000)); // 8000 + 3000 > 10000
    expect(b.errors.map((e) => e.failure)).toEqual(['over-budget']);
    expect(b.d.failed).toBe(true);
    expect(budget.usedBytes).toBe(8000);
    expect(a.errors).toEqual([]);
  });

  it('release() drops the incomplete packet and its charge (a closed connection holds nothing)', () => {
    const budget = new PartialPacketBudget(1_000_000);
    const { d, packets } = decoder(budget);
    const bytes = publish(10_000);
    d.push(bytes.subarray(0, 6000));
    d.discardPartial();
    expect(budget.usedBytes).toBe(0);
    expect(d.partialBytes).toBe(0);
    expect(d.partialSince).toBeUndefined();
    d.push(bytes.subarray(6000));
    expect(packets).toEqual([]);
  });

  it('copies a short pending tail out of a large buffer, so the buffer is not kept alive by it', () => {
    const { d, packets } = decoder();
    const whole = publish(200_000);
    const next = publish(10);
    const chunk = Buffer.concat([whole, next.subarray(0, 3)]);
    d.push(chunk);
    expect(packets).toHaveLength(1);
    expect(d.partialBytes).toBe(3);
    d.push(next.subarray(3));
    expect(packets).toHaveLength(2);
  });
});

/** Every subscription request of a decoded SUBSCRIBE: its head's, then the lazily read rest. */
function allRequests(packet: SubscribePacket): (SubscriptionRequest | string)[] {
  const out: (SubscriptionRequest | string)[] = [...packet.subscriptions];
  const rest = moreFilters(packet);
  for (let r = rest?.next(); r !== undefined; r = rest?.next()) {
    out.push(r);
    if (typeof r === 'string') expect(rest?.next()).toBeUndefined(); // an error ends the reading
  }
  return out;
}

describe('PacketDecoder large SUBSCRIBE', () => {
  const subscriptions = Array.from({ length: 3000 }, (_, i) => ({ topic: `room/${i}/t€mp`, qos: (i % 3) as 0 | 1 | 2, nl: i % 2 === 0, rap: i % 5 === 0, rh: i % 3 }));

  it('decodes the head with mqtt-packet and reads the rest lazily, the same requests as a whole decode', () => {
    const packet: ISubscribePacket = { cmd: 'subscribe', messageId: 42, subscriptions, properties: { subscriptionIdentifier: 7, userProperties: { a: 'b' } } };
    const bytes = mqttPacket.generate(packet, { protocolVersion: 5 });
    expect(bytes.length).toBeGreaterThan(LAZY_SUBSCRIBE_BYTES);
    const { d, packets, errors } = decoder();
    d.push(bytes);
    expect(errors).toEqual([]);
    const decoded = packets[0] as SubscribePacket;
    expect(decoded).toMatchObject({ cmd: 'subscribe', messageId: 42, properties: { subscriptionIdentifier: 7, userProperties: { a: 'b' } } });
    expect(decoded.subscriptions).toHaveLength(1);
    expect(allRequests(decoded)).toEqual(subscriptions);
  });

  it('reads 3.1.1 requests as mqtt-packet does (topic and QoS only)', () => {
    const v4 = subscriptions.map(({ topic, qos }) => ({ topic, qos }));
    const bytes = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: v4 }, { protocolVersion: 4 });
    const { d, packets } = decoder(undefined, 4);
    d.push(bytes);
    expect(allRequests(packets[0] as SubscribePacket)).toEqual(v4);
  });

  it('a small SUBSCRIBE is decoded whole (no lazy rest)', () => {
    const bytes = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: subscriptions.slice(0, 3) }, { protocolVersion: 5 });
    const { d, packets } = decoder();
    d.push(bytes);
    const decoded = packets[0] as SubscribePacket;
    expect(decoded.subscriptions).toHaveLength(3);
    expect(moreFilters(decoded)).toBeUndefined();
  });

  it('the lazy reader reports reserved option bits, Retain Handling 3 and ill-formed UTF-8 as malformed [MQTT-3.8.3-5] [MQTT-1.5.4-1]', () => {
    const bytes = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: subscriptions.map((s) => ({ ...s, rh: 0 })) }, { protocolVersion: 5 });
    const lastOptions = bytes.length - 1;
    for (const [at, value, why] of [
      [lastOptions, 0x40, /reserved/],
      [lastOptions, 0x30, /Retain Handling 3/],
      [lastOptions - 2, 0xff, /UTF-8/],
    ] as const) {
      const bad = Buffer.from(bytes);
      bad[at] = value;
      const { d, packets } = decoder();
      d.push(bad);
      const requests = allRequests(packets[0] as SubscribePacket);
      expect(requests.at(-1)).toMatch(why);
    }
  });
});
