import { describe, expect, it } from 'vitest';
import { Counters } from '../../../src/broker/counters.js';
import type { QueuedDelivery } from '../../../src/broker/delivery.js';
import { InflightWindow } from '../../../src/broker/inflight-window.js';
import { Message } from '../../../src/broker/message.js';

function delivery(seq: number, packetId: number): QueuedDelivery {
  return { seq, message: new Message({ topic: 't', payload: Buffer.from('x'), qos: 1, retain: false }), qos: 1, retain: false, subscriptionIds: undefined, packetId, released: false, stored: false };
}

describe('InflightWindow', () => {
  it('allocates packet ids in turn, skipping ids still in flight, and wraps from 65535 to 1 [MQTT-2.2.1-3]', () => {
    const window = new InflightWindow<QueuedDelivery>(new Counters());
    expect(window.allocatePacketId()).toBe(1);
    window.add(delivery(1, 2));
    window.add(delivery(2, 3));
    expect(window.allocatePacketId()).toBe(4); // 2 and 3 are taken
    for (let id = 5; id < 65_535; id++) window.allocatePacketId();
    expect(window.allocatePacketId()).toBe(65_535);
    expect(window.allocatePacketId()).toBe(1); // never 0
    expect(window.allocatePacketId()).toBe(4);
  });

  it('counts what is in flight in the broker counters, and forgets an unknown id', () => {
    const counters = new Counters();
    const window = new InflightWindow<QueuedDelivery>(counters);
    const first = delivery(1, 1);
    window.add(first);
    window.add(delivery(2, 2));
    expect([window.size, counters.inflight]).toEqual([2, 2]);
    expect(window.remove(7)).toBeUndefined();
    expect(window.remove(1)).toBe(first);
    expect([window.size, counters.inflight, window.get(1)]).toEqual([1, 1, undefined]);
    window.clear();
    expect([window.size, counters.inflight, [...window.entries()]]).toEqual([0, 0, []]);
  });
});
