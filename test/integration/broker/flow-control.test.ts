import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { CONGESTION_HIGH_WATER, STALL_MS } from '../../../src/broker/publisher-throttle.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';

const { start, connect: raw } = useRawBroker();

async function connect(version: 4 | 5, clientId: string, properties?: { receiveMaximum?: number }): Promise<RawClient> {
  return raw(version, { clientId, ...(properties !== undefined ? { properties } : {}) });
}

/** Polls a condition with a deadline (the broker sends no packet for these state changes). */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function publishes(count: number, topic: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(`m${i}`), qos: 1, messageId: (i % 65_535) + 1, dup: false, retain: false }, { protocolVersion: 5 }));
  }
  return Buffer.concat(parts);
}

/** Reads `count` PUBLISHes, acknowledging each, and returns their payloads in order. */
async function consume(raw: RawClient, count: number): Promise<string[]> {
  const got: string[] = [];
  while (got.length < count) {
    const packet = await raw.next(10_000);
    if (packet?.cmd !== 'publish') throw new Error(`expected PUBLISH, got ${packet?.cmd ?? 'close'}`);
    got.push((packet as IPublishPacket).payload.toString());
    raw.send({ cmd: 'puback', messageId: packet.messageId as number });
  }
  return got;
}

describe('publisher flow control (QoS 1/2 end to end)', () => {
  // ~300 KB of PUBLISHes: several socket reads, so pausing between reads is observable.
  const COUNT = 20_000;

  it('pauses a publisher that outruns a consuming subscriber, then delivers everything in order', async () => {
    const running = await start();
    const broker = running.broker;
    const sub = await connect(5, 'slow-sub', { receiveMaximum: 10 });
    await rawSubscribe(sub, [{ topic: 'fc', qos: 1 }]);
    const pub = await connect(5, 'fast-pub');
    pub.sendBytes(publishes(COUNT, 'fc'));

    // The subscriber has not acknowledged anything: its queue passes the mark and the publisher is paused.
    await until(() => broker.stats().clients.throttledPublishers === 1, 'the publisher to be paused');
    const queuedWhilePaused = broker.stats().messages.queued;
    expect(queuedWhilePaused).toBeGreaterThan(CONGESTION_HIGH_WATER);
    expect(broker.stats().messages.received).toBeLessThan(COUNT);

    // Consuming drains the queue, resumes the publisher, and every message arrives once, in order.
    const payloads = await consume(sub, COUNT);
    expect(payloads).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
    let acks = 0;
    while (acks < COUNT) {
      const packet = await pub.next(10_000);
      expect(packet).toMatchObject({ cmd: 'puback' });
      acks++;
    }
    expect(broker.stats().clients.throttledPublishers).toBe(0);
    expect(broker.stats().messages.dropped).toBe(0);
  });

  it(`releases publishers held by a subscriber that stops making progress (after ${STALL_MS} ms)`, async () => {
    const running = await start();
    const broker = running.broker;
    const stuck = await connect(5, 'stuck-sub', { receiveMaximum: 10 });
    await rawSubscribe(stuck, [{ topic: 'st', qos: 1 }]);
    const pub = await connect(5, 'pub-2');
    pub.sendBytes(publishes(COUNT, 'st'));
    await until(() => broker.stats().clients.throttledPublishers === 1, 'the publisher to be paused');
    const pausedAt = Date.now();
    // Nobody acknowledges: the hold is released after the stall time and the publisher is served.
    for (let acks = 0; acks < COUNT; acks++) expect(await pub.next(10_000)).toMatchObject({ cmd: 'puback', reasonCode: ReasonCode.Success });
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(STALL_MS - 300);
    expect(broker.stats().clients.throttledPublishers).toBe(0);
    expect(broker.stats().messages.queued + broker.stats().messages.inflight).toBe(COUNT);
  });

  it('never pauses a client that consumes its own messages (no self-deadlock)', async () => {
    const running = await start();
    const broker = running.broker;
    const self = await connect(5, 'loop', { receiveMaximum: 10 });
    await rawSubscribe(self, [{ topic: 'loop', qos: 1 }]);
    self.sendBytes(publishes(COUNT, 'loop'));
    let delivered = 0;
    let acks = 0;
    while (delivered < COUNT || acks < COUNT) {
      const packet = await self.next(10_000);
      if (packet?.cmd === 'puback') acks++;
      else if (packet?.cmd === 'publish') {
        delivered++;
        self.send({ cmd: 'puback', messageId: packet.messageId as number });
      } else throw new Error(`unexpected ${packet?.cmd ?? 'close'}`);
      expect(broker.stats().clients.throttledPublishers).toBe(0);
    }
    expect(delivered).toBe(COUNT);
  });
});

describe('queued-message memory budget', () => {
  it('refuses QoS 1 with PUBACK 0x97 (Quota exceeded) once the budget is spent, without dropping acknowledged messages', async () => {
    const running = await start({ queuedBytesBudget: 4 * 1024 });
    const broker = running.broker;
    const persistent = await raw(5, { clientId: 'persist', clean: false, properties: { sessionExpiryInterval: 60 } });
    await rawSubscribe(persistent, [{ topic: 'budget', qos: 1 }]);
    persistent.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await persistent.closed;

    const pub = await connect(5, 'pub-budget');
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      pub.send({ cmd: 'publish', topic: 'budget', payload: Buffer.alloc(100, 0x61), qos: 1, messageId: i + 1, dup: false, retain: false });
      const ack = await pub.next();
      codes.push((ack as { reasonCode?: number }).reasonCode ?? 0);
    }
    const accepted = codes.filter((c) => c === ReasonCode.Success).length;
    expect(accepted).toBeGreaterThan(0);
    expect(codes.slice(accepted).every((c) => c === ReasonCode.QuotaExceeded)).toBe(true);
    expect(broker.stats().messages.queued).toBe(accepted); // every acknowledged message is kept

    const back = await raw(5, { clientId: 'persist', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(await consume(back, accepted)).toHaveLength(accepted);
  });
});
