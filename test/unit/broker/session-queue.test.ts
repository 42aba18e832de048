import { describe, expect, it } from 'vitest';
import { Counters } from '../../../src/broker/counters.js';
import type { QueuedDelivery } from '../../../src/broker/delivery.js';
import { Message } from '../../../src/broker/message.js';
import { QUEUED_DELIVERY_OVERHEAD_BYTES } from '../../../src/broker/broker-options.js';
import { SessionQueue, type DropSink } from '../../../src/broker/session-queue.js';

/** A delivery whose queued cost is `bytes` (payload + overhead). */
function delivery(seq: number, bytes = QUEUED_DELIVERY_OVERHEAD_BYTES + 100): QueuedDelivery {
  const payload = Buffer.alloc(bytes - QUEUED_DELIVERY_OVERHEAD_BYTES);
  return { seq, message: new Message({ topic: 't', payload, qos: 1, retain: false }), qos: 1, retain: false, subscriptionIds: undefined, packetId: 0, released: false, stored: false };
}

/** Records what the bound dropped. */
class Drops implements DropSink<QueuedDelivery> {
  readonly seen: string[] = [];
  dropped(d: QueuedDelivery | undefined, which: 'oldest' | 'new' | 'cancelled'): void {
    this.seen.push(`${which}:${d?.seq ?? '-'}`);
  }
}

const COST = QUEUED_DELIVERY_OVERHEAD_BYTES + 100;

describe('SessionQueue', () => {
  it('keeps the broker counters of queued messages and bytes in step with what waits', () => {
    const counters = new Counters();
    const queue = new SessionQueue<QueuedDelivery>(counters);
    for (let seq = 1; seq <= 4; seq++) queue.add(delivery(seq));
    expect([queue.length, queue.bytes, counters.queued, counters.queuedBytes]).toEqual([4, 4 * COST, 4, 4 * COST]);
    expect(queue.shift().seq).toBe(1);
    expect(queue.removeWhere((d) => d.seq === 3).map((d) => d.seq)).toEqual([3]);
    expect(queue.pop().seq).toBe(4);
    expect([queue.length, counters.queued, counters.queuedBytes]).toEqual([1, 1, COST]);
    queue.clear();
    expect([queue.length, queue.bytes, counters.queued, counters.queuedBytes]).toEqual([0, 0, 0, 0]);
  });

  it('DropOldest drops from the head until a new message fits; None drops the new one; an empty queue always takes one', () => {
    const drops = new Drops();
    const queue = new SessionQueue<QueuedDelivery>(new Counters());
    expect(queue.makeRoom(10 * COST, COST, 1, false, drops)).toBe(true); // empty: fits whatever its size
    for (let seq = 1; seq <= 3; seq++) queue.add(delivery(seq));
    expect(queue.makeRoom(COST, 4 * COST, 3, true, drops)).toBe(true); // at 3 messages: the oldest goes
    expect(drops.seen).toEqual(['oldest:1']);
    expect(queue.makeRoom(COST, 2 * COST, Number.POSITIVE_INFINITY, false, drops)).toBe(false); // None: two wait, a third is over the bytes
    expect(drops.seen).toEqual(['oldest:1', 'new:-']);
    const cancelled = delivery(4);
    cancelled.cancelled = true;
    const fresh = new SessionQueue<QueuedDelivery>(new Counters());
    fresh.add(cancelled);
    fresh.add(delivery(5));
    fresh.makeRoom(COST, 2 * COST, 2, true, drops);
    expect(drops.seen.at(-1)).toBe('cancelled:4'); // its write failed: counted then, not as a drop
  });

  it('trims a restored queue over its bound: DropOldest from the head, None from the tail', () => {
    for (const [dropOldest, expected] of [
      [true, ['oldest:1', 'oldest:2']],
      [false, ['new:5', 'new:4']],
    ] as const) {
      const drops = new Drops();
      const queue = new SessionQueue<QueuedDelivery>(new Counters());
      for (let seq = 1; seq <= 5; seq++) queue.add(delivery(seq));
      queue.trim(3 * COST, Number.POSITIVE_INFINITY, dropOldest, drops);
      expect(drops.seen).toEqual(expected);
      expect(queue.length).toBe(3);
    }
  });
});
