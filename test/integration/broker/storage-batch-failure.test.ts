import type { IPublishPacket, IPubackPacket } from 'mqtt-packet';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { OpsError } from '../../../src/shared/errors.js';
import type { Completion, QueueEntryRecord } from '../../../src/storage/broker-store.js';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';
import { useBroker } from '../../helpers/start-broker.js';

/**
 * A store whose queue writes can fail the way a level store's batch does: every write submitted
 * in the same event-loop turn shares one promise, rejected together.
 */
class FailingBatchStore extends MemoryBrokerStore {
  failing = false;
  #batch: Promise<void> | undefined;

  override putQueueEntries(clientId: string, entries: readonly QueueEntryRecord[]): Completion {
    if (!this.failing) return super.putQueueEntries(clientId, entries);
    if (this.#batch === undefined) {
      const batch = new Promise<void>((_resolve, reject) => {
        setImmediate(() => {
          this.#batch = undefined;
          reject(new OpsError('STO_WRITE_FAILED', { path: 'test-store', reason: 'disk gone' }));
        });
      });
      batch.catch(() => undefined);
      this.#batch = batch;
    }
    return this.#batch;
  }
}

const brokers = useBroker();
const clients: RawClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

async function raw(port: number, version: 4 | 5 = 5): Promise<RawClient> {
  const client = await RawClient.open(port, version);
  clients.push(client);
  return client;
}

const SUBSCRIBER = { clientId: 'batch-sub', clean: false, properties: { sessionExpiryInterval: 300 } };

function publish(id: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic: 'q/x', payload: Buffer.from(`m-${id}`), qos: 1, messageId: id, retain: false, dup: false }, { protocolVersion: 5 });
}

/** The persistent subscriber of these tests: subscribes `q/+` at QoS 1, then goes offline (its queue persists). */
async function leaveSubscriberOffline(port: number): Promise<void> {
  const sub = await raw(port);
  await sub.connect(SUBSCRIBER);
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/+', qos: 1 }] });
  expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
  sub.send({ cmd: 'disconnect' });
  await sub.closed;
}

describe('store writes sharing one failed batch', () => {
  it('every message of the failed batch is refused to its publisher and never delivered', async () => {
    const store = new FailingBatchStore();
    const running = await brokers.start({ store, sysIntervalSeconds: 0 });
    await leaveSubscriberOffline(running.port);

    const pub = await raw(running.port);
    await pub.connect({ clientId: 'batch-pub' });
    store.failing = true;
    pub.sendBytes(Buffer.concat([publish(1), publish(2), publish(3)])); // one read: one batch
    const refused: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ack = (await pub.nextOf('puback')) as IPubackPacket;
      expect(ack.reasonCode).toBe(ReasonCode.UnspecifiedError);
      refused.push(ack.messageId as number);
    }
    expect(refused).toEqual([1, 2, 3]);
    store.failing = false;
    pub.sendBytes(publish(4));
    expect(((await pub.nextOf('puback')) as IPubackPacket).reasonCode).toBe(ReasonCode.Success);

    const again = await raw(running.port);
    expect((await again.connect(SUBSCRIBER)).sessionPresent).toBe(true);
    const delivered = (await again.nextOf('publish')) as IPublishPacket;
    expect(delivered.payload.toString()).toBe('m-4');
    again.send({ cmd: 'puback', messageId: delivered.messageId as number, reasonCode: 0 });
    expect(await drainUntilPong(again)).toEqual([]); // none of the refused ones
  });

  it('a QoS 2 packet id of a failed batch is free again: the PUBLISH sent again is routed (v5 after PUBREC 0x80, 3.1.1 after the close)', async () => {
    const store = new FailingBatchStore();
    const running = await brokers.start({ store, sysIntervalSeconds: 0 });
    await leaveSubscriberOffline(running.port);

    for (const version of [5, 4] as const) {
      const qos2 = (dup: boolean): Buffer =>
        mqttPacket.generate({ cmd: 'publish', topic: 'q/x', payload: Buffer.from(`v${version}`), qos: 2, messageId: 9, retain: false, dup }, { protocolVersion: version });
      let pub = await raw(running.port, version);
      await pub.connect({ clientId: `batch-pub-v${version}`, protocolVersion: version, clean: false });
      store.failing = true;
      pub.sendBytes(qos2(false));
      if (version === 5) expect(((await pub.nextOf('pubrec')) as { reasonCode?: number }).reasonCode).toBe(ReasonCode.UnspecifiedError);
      else {
        expect(await pub.next()).toBeUndefined(); // 3.1.1 has no negative PUBREC: closed
        pub = await raw(running.port, version);
        await pub.connect({ clientId: `batch-pub-v${version}`, protocolVersion: version, clean: false });
      }
      store.failing = false;
      pub.sendBytes(qos2(version === 4)); // 3.1.1 retransmits with DUP 1 after reconnecting
      expect((await pub.nextOf('pubrec'))?.messageId).toBe(9);
      pub.send({ cmd: 'pubrel', messageId: 9 });
      expect((await pub.nextOf('pubcomp'))?.messageId).toBe(9);
    }

    const again = await raw(running.port);
    expect((await again.connect(SUBSCRIBER)).sessionPresent).toBe(true);
    const delivered = (await drainUntilPong(again)).map((p) => (p as IPublishPacket).payload.toString());
    expect(delivered).toEqual(['v5', 'v4']);
  });
});
