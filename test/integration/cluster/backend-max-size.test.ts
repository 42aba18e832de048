/**
 * `persistence.maxSize` on the Redis backend (issue 15: "maxSize is enforced on the backend's
 * usage"): the standalone broker's full behaviour (test/integration/storage/level-quota.test.ts)
 * reproduced across in-process frontends on a real 3 × 1 Redis Cluster. The limit is on the
 * masters' `used_memory_dataset`, read every 100 ms here (backend-usage.ts).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { IPubackPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { startInProcessCluster, type InProcessCluster } from '../../helpers/cluster-in-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { until } from '../../helpers/session-helpers.js';

/** 4 MiB (an empty 3-master cluster with 3 frontends holds about 1.2 MB): about 60 messages of 2 KB to each of {@link SUBSCRIBERS} sessions (each under its 1/16 share). */
const LIMIT = 4 * 1024 * 1024;
const SUBSCRIBERS = 24;

let cluster: InProcessCluster;
const raws: RawClient[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3, maxSizeBytes: LIMIT, usageRefreshMs: 100 });
}, 60_000);

afterAll(async () => {
  for (const c of raws) c.destroy();
  for (const c of clients) c.end(true);
  await cluster?.stop();
});

async function raw(frontend: number, version: 4 | 5 = 5): Promise<RawClient> {
  const client = await RawClient.open(cluster.frontends[frontend]!.port, version);
  raws.push(client);
  return client;
}

async function connect(frontend: number, clientId: string, onMessage?: (payload: string) => void): Promise<MqttClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: cluster.frontends[frontend]!.port,
    protocolVersion: 5,
    reconnectPeriod: 0,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  });
  clients.push(client);
  if (onMessage !== undefined) client.on('message', (_topic, payload) => onMessage(payload.toString()));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

describe('persistence.maxSize on the Redis backend', () => {
  it('a full backend refuses with 0x97 on every frontend (3.1.1: closed), stats show it, and the acknowledged messages all reach the subscribers', async () => {
    const [a, b, c] = cluster.frontends as [(typeof cluster.frontends)[0], (typeof cluster.frontends)[0], (typeof cluster.frontends)[0]];
    const empty = a.store.usage();
    expect(empty.limitBytes).toBe(LIMIT);
    expect(empty.usedBytes).toBeGreaterThan(0);
    expect(empty.usedBytes).toBeLessThan(LIMIT / 2);
    expect(empty.full).toBe(false);

    // Persistent subscribers on B, offline; then a probe subscriber on B: once A routes to it, it routes to them.
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const sub = await connect(1, `full-sub-${i}`);
      await sub.subscribeAsync('full/#', { qos: 1 });
      await sub.endAsync();
    }
    const probe = await connect(1, 'full-probe');
    let probes = 0;
    probe.on('message', () => probes++);
    await probe.subscribeAsync('probe/#', { qos: 0 });

    const pub = await raw(0);
    await pub.connect({ clientId: 'full-pub' });
    await until(() => {
      pub.send({ cmd: 'publish', topic: 'probe/x', payload: 'p', qos: 0, retain: false, dup: false });
      return probes > 0;
    }, 10_000, 'the subscribers routed from A');

    const acknowledged: string[] = [];
    let refusedInARow = 0;
    let refused = 0;
    for (let id = 1; refusedInARow < 3 && id < 2000; id++) {
      const payload = `m-${id}-${randomBytes(1000).toString('hex')}`;
      pub.send({ cmd: 'publish', topic: 'full/x', payload, qos: 1, messageId: id, retain: false, dup: false });
      const ack = (await pub.nextOf('puback')) as IPubackPacket;
      expect(ack.messageId).toBe(id);
      if (ack.reasonCode === ReasonCode.Success || ack.reasonCode === undefined) {
        acknowledged.push(payload);
        refusedInARow = 0;
      } else {
        expect(ack.reasonCode).toBe(ReasonCode.QuotaExceeded);
        refused++;
        refusedInARow++;
      }
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(refusedInARow).toBe(3);
    console.log(`maxSize: ${acknowledged.length} acknowledged, ${refused} refused; empty ${empty.usedBytes} B, limit ${LIMIT} B, full at ${a.store.usage().usedBytes} B`);

    // The figure is cluster-wide: full on every frontend, and in the stats.
    for (const f of [a, b, c]) await f.store.refreshUsage();
    for (const f of [a, b, c]) {
      const usage = f.broker.storeUsage();
      expect(usage?.full).toBe(true);
      expect(usage?.limitBytes).toBe(LIMIT);
      expect(usage?.usedBytes).toBeGreaterThanOrEqual(LIMIT);
      expect(usage?.records).toBeGreaterThan(SUBSCRIBERS);
    }
    expect(a.broker.storeUsage()?.refusedWrites).toBe(refused);

    // A retained message is data too: refused; a v5 publisher on C: 0x97; a 3.1.1 one on C: closed, never acknowledged.
    const onC = await raw(2);
    await onC.connect({ clientId: 'full-pub-c' });
    onC.send({ cmd: 'publish', topic: 'full/c', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
    expect(((await onC.nextOf('puback')) as IPubackPacket).reasonCode).toBe(ReasonCode.QuotaExceeded);
    onC.send({ cmd: 'publish', topic: 'keep/r', payload: 'retained', qos: 1, messageId: 2, retain: true, dup: false });
    expect(((await onC.nextOf('puback')) as IPubackPacket).reasonCode).toBe(ReasonCode.QuotaExceeded);
    const legacy = await raw(2, 4);
    await legacy.connect({ clientId: 'full-legacy', protocolVersion: 4 });
    legacy.send({ cmd: 'publish', topic: 'full/y', payload: randomBytes(100), qos: 1, messageId: 1, retain: false, dup: false });
    expect(await legacy.nextOf('puback')).toBeUndefined();
    expect(legacy.isClosed).toBe(true);

    // The subscribers resume on C (a third frontend): each gets exactly the acknowledged messages, in order.
    const received = new Map<number, string[]>();
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const got: string[] = [];
      received.set(i, got);
      await connect(2, `full-sub-${i}`, (payload) => got.push(payload));
    }
    await until(() => [...received.values()].every((got) => got.length >= acknowledged.length), 20_000, 'every acknowledged message delivered');
    for (const got of received.values()) expect(got).toEqual(acknowledged);

    // Delivered and acknowledged, the queues are deleted: the backend has room again.
    await until(() => cluster.frontends.every((f) => !f.store.isFull()), 10_000, 'room again');
    pub.send({ cmd: 'publish', topic: 'full/x', payload: 'after', qos: 1, messageId: 5000, retain: false, dup: false });
    expect(((await pub.nextOf('puback')) as IPubackPacket).reasonCode ?? 0).toBe(ReasonCode.Success);
    expect(b.broker.stats().messages.dropped).toBe(0); // nothing acknowledged was dropped on the receiving frontend
  }, 60_000);
});
