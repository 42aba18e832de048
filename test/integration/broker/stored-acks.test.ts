import { randomBytes } from 'node:crypto';
import type { IPublishPacket, IPubackPacket } from 'mqtt-packet';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { levelStoreFixture } from '../../helpers/level-store-fixture.js';
import { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { useBroker } from '../../helpers/start-broker.js';

/*
 * PUBACKs of messages that wait for the store are sent per group-commit batch (one handler per
 * batch and connection, handlers/publish.ts). [MQTT-4.6.0-2]: they must still leave in the order
 * the PUBLISHes arrived, within a batch and across batches in flight one after another.
 */

const fixture = levelStoreFixture('ops-stored-acks-');
const clients: RawClient[] = [];

// After-hooks run in reverse: the clients close, then the brokers stop, then their store folders go.
afterEach(() => fixture.cleanup());
const brokers = useBroker();
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

async function raw(port: number, version: 4 | 5): Promise<RawClient> {
  const client = await RawClient.open(port, version);
  clients.push(client);
  return client;
}

const SUBSCRIBER = { clientId: 'acks-sub', clean: false, properties: { sessionExpiryInterval: 300 } };
const CHUNKS = 6;
const PER_CHUNK = 50;

function publishBytes(id: number, version: 4 | 5): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic: `q/v${version}`, payload: Buffer.from(`v${version}-${id}`), qos: 1, messageId: id, retain: false, dup: false }, { protocolVersion: version });
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('PUBACKs of persisted messages', () => {
  it('leave in arrival order, within and across store batches, for 3.1.1 and v5 publishers; every acknowledged message is delivered', async () => {
    const store = await fixture.open({ path: await fixture.freshDir(), encryptionKey: randomBytes(32) });
    const running = await brokers.start({ store, sysIntervalSeconds: 0 });
    const sub = await raw(running.port, 5);
    await sub.connect(SUBSCRIBER);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/+', qos: 1 }] });
    expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
    sub.send({ cmd: 'disconnect' });
    await sub.closed;

    const expected: string[] = [];
    for (const version of [4, 5] as const) {
      const pub = await raw(running.port, version);
      await pub.connect({ clientId: `acks-pub-${version}`, protocolVersion: version });
      const batchesBefore = store.commitStats.batches;
      let id = 0;
      for (let chunk = 0; chunk < CHUNKS; chunk++) {
        const bytes: Buffer[] = [];
        for (let i = 0; i < PER_CHUNK; i++) {
          bytes.push(publishBytes(++id, version));
          expected.push(`v${version}-${id}`);
        }
        pub.sendBytes(Buffer.concat(bytes)); // one read: joins the batch being collected
        await nextTurn(); // the previous batch may be in flight while the next chunk arrives
      }
      const acked: number[] = [];
      for (let i = 0; i < CHUNKS * PER_CHUNK; i++) {
        const ack = (await pub.nextOf('puback')) as IPubackPacket | undefined;
        if (ack === undefined) throw new Error(`closed after ${i} PUBACKs`);
        if (version === 5) expect(ack.reasonCode).toBe(ReasonCode.Success);
        acked.push(ack.messageId as number);
      }
      expect(acked).toEqual(Array.from({ length: CHUNKS * PER_CHUNK }, (_, i) => i + 1));
      expect(store.commitStats.batches - batchesBefore).toBeGreaterThanOrEqual(1);
    }

    const again = await raw(running.port, 5);
    expect((await again.connect(SUBSCRIBER)).sessionPresent).toBe(true);
    const delivered: string[] = [];
    while (delivered.length < expected.length) {
      const packet = (await again.nextOf('publish')) as IPublishPacket | undefined;
      if (packet === undefined) throw new Error(`closed after ${delivered.length} messages`);
      delivered.push(packet.payload.toString());
      again.send({ cmd: 'puback', messageId: packet.messageId as number, reasonCode: 0 });
    }
    expect(delivered).toEqual(expected);
    expect(await drainUntilPong(again)).toEqual([]);
  });
});
