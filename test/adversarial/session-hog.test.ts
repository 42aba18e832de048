/**
 * Abuse scenario: one session that never takes its messages (offline persistent `#` subscriber, or
 * a connected one whose socket stopped reading) must not starve anyone else. Its queue stops at its
 * own bound and drops there (counted); the global queued-message budget is never reached by it, so a
 * healthy publisher/subscriber pair next to it loses nothing and every QoS 1 PUBACK is 0x00.
 */
import type { MqttClient } from 'mqtt';
import mqttPacket, { type IPubackPacket, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import type { Logger } from '../../src/shared/log.js';
import { within } from '../helpers/bad-input.js';
import { rawSubscribe } from '../helpers/pubsub.js';
import { useRawBroker } from '../helpers/raw-broker.js';
import type { RawClient } from '../helpers/raw-client.js';
import { drainUntilPong, until } from '../helpers/session-helpers.js';

const KIB = 1024;
/** The broker-wide backstop, small so that a hog without a bound of its own would fill it fast. */
const BUDGET = 512 * KIB;
/** The hog's own bound: a sixteenth of the budget. */
const SESSION_BOUND = 32 * KIB;
/** What a waiting message costs against both (payload + the per-delivery overhead). */
const OVERHEAD = 512;

const { start, connect, current } = useRawBroker();

/** A logger keeping the warn lines (message and fields). */
function warnings(lines: { message: string; fields: Readonly<Record<string, unknown>> }[]): Logger {
  const ignore = (): void => undefined;
  return { debug: ignore, info: ignore, error: ignore, warn: (fields, message) => void lines.push({ message, fields }) };
}

/** The healthy subscriber: a real `mqtt` client that reads and acknowledges everything. */
async function healthySubscriber(topic: string): Promise<{ client: MqttClient; received: string[] }> {
  const client = await current().connect({ clientId: 'healthy-sub', protocolVersion: 5 });
  const received: string[] = [];
  client.on('message', (_topic, payload) => received.push(payload.subarray(0, 12).toString()));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, received };
}

/** Sends `count` QoS 1 PUBLISHes in one write and returns the PUBACK reason codes in order. */
async function publishBurst(publisher: RawClient, topic: string, count: number, size: number): Promise<number[]> {
  const packets: Buffer[] = [];
  for (let i = 1; i <= count; i++) {
    const payload = Buffer.alloc(size, 0x61);
    payload.write(label(i));
    packets.push(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId: i, dup: false, retain: false }, { protocolVersion: 5 }));
  }
  publisher.sendBytes(Buffer.concat(packets));
  const codes: number[] = [];
  for (let i = 1; i <= count; i++) {
    const ack = (await publisher.nextOf('puback', 20_000)) as IPubackPacket | undefined;
    if (ack === undefined) throw new Error(`publisher closed after ${codes.length} PUBACKs`);
    expect(ack.messageId).toBe(i);
    codes.push(ack.reasonCode ?? 0);
  }
  return codes;
}

/** The first bytes of message `i`'s payload: how the subscribers' copies are told apart. */
function label(i: number): string {
  return `m-${String(i).padStart(10, '0')}`;
}

function labels(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(label(i));
  return out;
}

describe('one session does not starve everyone', () => {
  it('an offline persistent # subscriber stops at its own bound; the healthy pair gets every message, all PUBACKs 0x00', async () => {
    const warned: { message: string; fields: Readonly<Record<string, unknown>> }[] = [];
    const running = await start({ queuedBytesBudget: BUDGET, connectionLimits: { maxSessionQueueBytes: SESSION_BOUND }, logger: warnings(warned) });
    const hog = await connect(5, { clientId: 'hog', clean: false, properties: { sessionExpiryInterval: 600 } });
    await rawSubscribe(hog, [{ topic: '#', qos: 1 }]);
    hog.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await hog.closed;

    const healthy = await healthySubscriber('plant/line1');
    const publisher = await connect(5, { clientId: 'healthy-pub' });
    const count = 600; // 600 x 1.5 KiB: almost twice the broker-wide budget
    const codes = await publishBurst(publisher, 'plant/line1', count, KIB);
    expect(codes.filter((c) => c !== ReasonCode.Success)).toEqual([]);
    await until(() => healthy.received.length >= count, 10_000, 'every message at the healthy subscriber');
    expect(healthy.received).toEqual(labels(1, count));

    // Only-the-hog topics are not refused either: the hog drops them per its policy.
    const onlyHog = await publishBurst(publisher, 'noise/x', 50, KIB);
    expect(onlyHog.filter((c) => c !== ReasonCode.Success)).toEqual([]);

    const kept = Math.floor(SESSION_BOUND / (KIB + OVERHEAD));
    const figures = running.broker.sessionQueue('hog');
    expect(figures).toMatchObject({ messages: kept, bytes: kept * (KIB + OVERHEAD), dropped: count + 50 - kept });
    const stats = running.broker.stats().messages;
    expect(stats.queueFullDrops).toBe(count + 50 - kept);
    expect(stats.queued).toBe(kept);
    // hundreds of drops, one warning (at most one per 10 s), naming the session
    expect(warned.map((w) => w.message)).toEqual(['session queue full: message dropped for this session only']);
    expect(warned[0]?.fields).toMatchObject({ clientId: 'hog', dropped: 'new', strategy: 'None', maxSessionQueueBytes: SESSION_BOUND });

    // Strategy None keeps the oldest: the hog finds the first messages when it comes back.
    const back = await connect(5, { clientId: 'hog', clean: false, properties: { sessionExpiryInterval: 600 } });
    const got: string[] = [];
    for (let i = 0; i < kept; i++) {
      const packet = (await back.nextOf('publish')) as IPublishPacket;
      got.push(Buffer.from(packet.payload).subarray(0, 12).toString());
      back.send({ cmd: 'puback', messageId: packet.messageId as number });
    }
    expect(got).toEqual(labels(1, kept));
    expect(await drainUntilPong(back)).toEqual([]);
  });

  it('a connected subscriber whose socket stopped reading drops at its bound; the healthy pair loses nothing', async () => {
    const bound = 256 * KIB; // 30 messages of 8 KiB: room for flow control to hold the publisher back for the healthy reader
    const running = await start({
      queuedBytesBudget: 4 * bound,
      outputHighWaterMark: 1024 * KIB,
      connectionLimits: { maxSessionQueueBytes: bound },
      clients: { subscriberQueueLimit: { length: 1_000_000, strategy: 'DropOldest' } },
    });
    const hog = await connect(5, { clientId: 'stalled-hog' });
    await rawSubscribe(hog, [{ topic: '#', qos: 1 }]);
    hog.socket.pause(); // reads nothing more: the kernel buffers fill, then the broker's output, then its queue

    const healthy = await healthySubscriber('plant/line2');
    const publisher = await connect(5, { clientId: 'healthy-pub-2' });
    // 8 MiB offered: more than the loopback socket buffers and the output high-water mark absorb
    // (about 5 MiB), so the hog's queue fills its bound (and, without one, the whole budget).
    const count = 1024;
    const size = 8 * KIB;
    const codes = await publishBurst(publisher, 'plant/line2', count, size);
    expect(codes.filter((c) => c !== ReasonCode.Success)).toEqual([]);
    await until(() => healthy.received.length >= count, 15_000, 'every message at the healthy subscriber');
    expect(healthy.received).toEqual(labels(1, count));

    const figures = running.broker.sessionQueue('stalled-hog');
    expect(figures).toBeDefined();
    expect(figures?.dropped).toBeGreaterThan(0);
    expect(figures?.bytes).toBeLessThanOrEqual(bound);
    expect(running.broker.stats().messages.queueFullDrops).toBe(figures?.dropped);
    expect(hog.isClosed).toBe(false); // dropped per its strategy, not disconnected

    // Once it reads again it gets the newest messages (DropOldest), in order, and nothing is lost for anyone.
    hog.socket.resume();
    const last = await within(
      (async () => {
        let latest = '';
        while (latest !== label(count)) {
          const packet = (await hog.nextOf('publish', 10_000)) as IPublishPacket;
          latest = Buffer.from(packet.payload).subarray(0, 12).toString();
          hog.send({ cmd: 'puback', messageId: packet.messageId as number });
        }
        return latest;
      })(),
      15_000,
      'the hog catching up',
    );
    expect(last).toBe(label(count));
  });
});
