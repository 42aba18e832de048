import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisClusterClient } from '../../src/storage/redis/cluster-client.js';
import { RedisBrokerStore } from '../../src/storage/redis/redis-broker-store.js';
import { hashSlot } from '../../src/storage/redis/hash-slot.js';
import { clientTag, queueKey } from '../../src/storage/redis/redis-keys.js';
import { startRedisCluster, type RedisTestCluster } from '../helpers/redis-cluster.js';
import { runBrokerStoreContract, type StoreUnderTest } from './broker-store.contract.js';
import { runStateStoreKeysContract } from './state-store-keys.contract.js';

// The store contract on a real Redis Cluster: 3 masters x 1 replica, every write WAITed on 1 replica.
let cluster: RedisTestCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

async function open(encryptionKey?: Buffer): Promise<RedisBrokerStore> {
  const commands = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1 });
  return RedisBrokerStore.open({ commands, name: `redis://${cluster.seeds.join(',')}`, ...(encryptionKey !== undefined ? { encryptionKey } : {}) });
}

async function clusterStore(encryptionKey?: Buffer): Promise<StoreUnderTest> {
  const flush = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1 });
  await flush.execOnMasters(['FLUSHALL']);
  await flush.close();
  return { store: await open(encryptionKey), reopen: () => open(encryptionKey) };
}

runBrokerStoreContract('RedisBrokerStore (3 x 1 Redis Cluster)', () => clusterStore());
runStateStoreKeysContract('RedisBrokerStore (3 x 1 Redis Cluster)', () => clusterStore());
const key = randomBytes(32);
runBrokerStoreContract('RedisBrokerStore (3 x 1 Redis Cluster, AES-256-GCM)', () => clusterStore(key));

it('spreads the buckets over the 3 masters and reloads 2,000 sessions and a 5,000-entry queue', async () => {
  const { store } = await clusterStore();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 2000 }, (_, i) => store.saveSession({ clientId: `c${i}`, protocolVersion: 5, expiryIntervalSeconds: 60, subscriptions: [] })));
  const t1 = performance.now();
  const message = { topic: 't', payload: Buffer.alloc(100), qos: 1 as const, retain: false };
  await Promise.all(Array.from({ length: 5000 }, (_, i) => store.putQueueEntries('c0', [{ seq: i + 1, message, qos: 1, retain: false }])));
  const t2 = performance.now();
  expect((await store.loadSessions()).length).toBe(2000);
  const t3 = performance.now();
  expect((await store.loadQueue('c0')).map((e) => e.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  const t4 = performance.now();
  console.log(`saveSession x2000 ${(t1 - t0).toFixed(0)} ms; putQueueEntries x5000 (1 entry each, durable) ${(t2 - t1).toFixed(0)} ms = ${(5000 / ((t2 - t1) / 1000)).toFixed(0)}/s; loadSessions ${(t3 - t2).toFixed(0)} ms; loadQueue(5000) ${(t4 - t3).toFixed(0)} ms`);
  await store.close();
}, 60_000);

it('kill -9 of the master holding a queue mid-load (short WAITs accepted: degraded mode): every acknowledged entry is there after the failover, and writes resume', async () => {
  const { store } = await clusterStore();
  await store.close();
  const commands = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1, waitTimeoutMs: 200, acceptShortWait: () => true });
  const writer = await RedisBrokerStore.open({ commands, name: 'cluster' });
  const master = commands.masterOf(hashSlot(queueKey(clientTag(Buffer.from('k')))));
  if (master === undefined) throw new Error('no master for the queue');
  const message = { topic: 't', payload: Buffer.alloc(64), qos: 1 as const, retain: false };
  const acked: number[] = [];
  let refused = 0;
  let seq = 0;
  let killedAt = 0;
  const ackTimes: number[] = [];
  const one = async (): Promise<void> => {
    const s = ++seq;
    try {
      await writer.putQueueEntries('k', [{ seq: s, message, qos: 1, retain: false }]);
      acked.push(s);
      ackTimes.push(performance.now());
    } catch {
      refused++;
    }
  };
  const loop = async (): Promise<void> => {
    while (acked.length < 1500 && performance.now() - (killedAt || performance.now()) < 20_000) {
      await one();
      if (killedAt === 0 && acked.length >= 1000) {
        killedAt = performance.now();
        await cluster.killNode(Number(master.slice(master.lastIndexOf(':') + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: 20 }, loop));
  const reader = await open();
  const stored = new Set((await reader.loadQueue('k')).map((e) => e.seq));
  const lost = acked.filter((s) => !stored.has(s));
  expect(ackTimes.length).toBeGreaterThan(1); // else the stall below would be -Infinity and pass
  const stall = Math.max(...ackTimes.slice(1).map((t, i) => t - (ackTimes[i] ?? t)));
  console.log(`acked ${acked.length}, refused ${refused}, longest stall ${stall.toFixed(0)} ms, lost ${lost.length}`);
  expect(lost).toEqual([]);
  expect(acked.length).toBe(1500);
  expect(refused).toBeGreaterThan(0); // the kill did hit the writes
  expect(stall).toBeLessThan(5_000);
  await reader.close();
  await writer.close();
}, 60_000);
