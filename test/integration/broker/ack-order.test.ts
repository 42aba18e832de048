import { randomBytes } from 'node:crypto';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistenceDecisions } from '../../../src/broker/persistence-decisions.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { drainUntilPong, RawClients } from '../../helpers/session-helpers.js';
import { useBroker, type RunningBroker } from '../../helpers/start-broker.js';

/*
 * [MQTT-4.6.0-2] PUBACKs and PUBRECs of one connection leave in the order of its PUBLISHes, also
 * when an earlier one waits for its store write (a persisted queue) and a later one needs none
 * (a topic only memory-only sessions, or nobody, subscribe to).
 */

const fixture = levelStoreFixture('ops-ack-order-');
const raws = new RawClients();

// After-hooks run in reverse: the clients close, then the brokers stop, then their store folders go.
afterEach(() => fixture.cleanup());
const brokers = useBroker();
afterEach(() => raws.destroyAll());

/** Only the queue of `disk-sub` is persisted: its topics (`p/#`) wait for the store, the others (`n/#`) do not. */
const ONLY_DISK_SUB: PersistenceDecisions = {
  persistQueue: (clientId, expiry) => expiry > 0 && clientId === 'disk-sub',
  persistRetained: () => false,
};

/** A broker on a real LevelDB store (group commit), with `disk-sub` subscribed to `p/#` and a memory-only `mem-sub` to `n/#`. */
async function brokerWithPersistedTopic(): Promise<RunningBroker> {
  const store = await fixture.open({ path: await fixture.freshDir(), encryptionKey: randomBytes(32) });
  const running = await brokers.start({ store, persistence: ONLY_DISK_SUB, sysIntervalSeconds: 0 });
  for (const [clientId, filter] of [['disk-sub', 'p/#'], ['mem-sub', 'n/#']] as const) {
    const sub = await raws.open(running.port, 5);
    await sub.connect({ clientId, clean: true, properties: { sessionExpiryInterval: 300 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 2 }] });
    expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
    sub.send({ cmd: 'disconnect' });
    await sub.closed;
  }
  return running;
}

function publishBytes(version: 4 | 5, qos: 1 | 2, messageId: number, topic: string, dup = false): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(`${topic}#${messageId}`), qos, messageId, retain: false, dup }, { protocolVersion: version });
}

/** Persisted and memory-only topics interleaved, the memory-only one often right behind a persisted one. */
const TOPICS = ['p/a', 'n/a', 'n/b', 'p/b', 'n/c', 'p/c', 'p/d', 'n/d', 'n/e', 'n/f', 'p/e', 'n/g'];
const ROUNDS = 4;

async function acksOf(raw: Awaited<ReturnType<RawClients['open']>>, kind: 'puback' | 'pubrec', count: number): Promise<Packet[]> {
  const acks: Packet[] = [];
  while (acks.length < count) {
    const packet = await raw.next();
    if (packet === undefined) throw new Error(`closed after ${acks.length} acks`);
    expect(packet.cmd).toBe(kind);
    acks.push(packet);
  }
  return acks;
}

describe('acknowledgement order with persisted and memory-only topics [MQTT-4.6.0-2]', () => {
  for (const version of [4, 5] as const) {
    for (const qos of [1, 2] as const) {
      const kind = qos === 1 ? 'puback' : 'pubrec';
      it(`v${version === 4 ? '3.1.1' : '5'} QoS ${qos}: every ${kind.toUpperCase()} leaves in arrival order, within one read and across reads`, async () => {
        const running = await brokerWithPersistedTopic();
        const pub = await raws.open(running.port, version);
        await pub.connect({ clientId: `pub-v${version}-q${qos}`, protocolVersion: version });
        let id = 0;
        for (let round = 0; round < ROUNDS; round++) {
          const bytes = TOPICS.map((topic) => publishBytes(version, qos, ++id, topic));
          pub.sendBytes(Buffer.concat(bytes)); // one read: the memory-only ones arrive while the persisted ones wait
          await new Promise((resolve) => setImmediate(resolve)); // the next read arrives while a batch is in flight
        }
        const acks = await acksOf(pub, kind, id);
        expect(acks.map((a) => a.messageId)).toEqual(Array.from({ length: id }, (_, i) => i + 1));
        if (version === 5) for (const ack of acks) expect((ack as { reasonCode?: number }).reasonCode ?? 0).toBe(ReasonCode.Success);
        expect(await drainUntilPong(pub)).toEqual([]);
      });
    }
  }

  it('a QoS 2 retransmission arriving while the original waits for the store is acknowledged in order and not routed again [MQTT-4.3.3-10]', async () => {
    const running = await brokerWithPersistedTopic();
    const pub = await raws.open(running.port, 5);
    await pub.connect({ clientId: 'pub-retransmit' });
    pub.sendBytes(Buffer.concat([publishBytes(5, 2, 7, 'p/once'), publishBytes(5, 2, 8, 'n/x'), publishBytes(5, 2, 7, 'p/once', true)]));
    const acks = await acksOf(pub, 'pubrec', 3);
    expect(acks.map((a) => a.messageId)).toEqual([7, 8, 7]);
    pub.send({ cmd: 'pubrel', messageId: 7 });
    expect((await pub.nextOf('pubcomp'))?.messageId).toBe(7);

    const disk = await raws.open(running.port, 5);
    expect((await disk.connect({ clientId: 'disk-sub', clean: false, properties: { sessionExpiryInterval: 300 } })).sessionPresent).toBe(true);
    const delivered = (await drainUntilPong(disk)).filter((p): p is IPublishPacket => p.cmd === 'publish').map((p) => p.payload.toString());
    expect(delivered).toEqual(['p/once#7']);
  });
});
