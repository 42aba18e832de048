/**
 * The cluster config channel (src/cluster/config-sync.ts) on a real Redis Cluster (3 masters × 1
 * replica), with an encrypted store's cipher: revisions by compare and set (a stale publisher is
 * refused and gets the newer one), tailing by other frontends, corrupt entries and refused revisions
 * skipped, a reader behind the stream's trimming adopting the hash, no plaintext settings in Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_KEY, CONFIG_STREAM_KEY, ConfigSync, type OpenedConfigSync } from '../../../src/cluster/config-sync.js';
import type { ConfigRevision } from '../../../src/cluster/config-codec.js';
import type { SharedRuntime } from '../../../src/config/shared-runtime.js';
import { silentLogger } from '../../../src/shared/log.js';
import { RedisClusterClient } from '../../../src/storage/redis/cluster-client.js';
import { hashSlot } from '../../../src/storage/redis/hash-slot.js';
import { RedisBrokerStore } from '../../../src/storage/redis/redis-broker-store.js';
import { redisCli, startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';

let redis: RedisTestCluster;
let client: RedisClusterClient;
let store: RedisBrokerStore;
const opened: OpenedConfigSync[] = [];

/** Shared settings whose authorization is named `name` (a canary for the plaintext check). */
const settings = (name: string, level: 'info' | 'debug' = 'info'): SharedRuntime => ({
  broker: { diagnostics: { logs: { level } } },
  authentications: {},
  authorizations: { [name]: { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } } },
});

/** Opens a channel whose received revisions go into `got`. */
async function open(frontendId: string, got: ConfigRevision[]): Promise<OpenedConfigSync> {
  const channel = await ConfigSync.open({ client, sealer: store, frontendId, logger: silentLogger, onRevision: async (r) => void got.push(r) });
  opened.push(channel);
  return channel;
}

const masterPort = (): number => Number((client.masterOf(hashSlot(CONFIG_KEY)) ?? '').split(':').pop());

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = await RedisClusterClient.connect({ seeds: redis.seeds, replicas: 1, waitTimeoutMs: 1000 });
  store = await RedisBrokerStore.open({ commands: client, name: 'config-test', encryptionKey: randomBytes(32) });
}, 60_000);

afterAll(async () => {
  for (const c of opened) await c.sync.close();
  await store?.close();
  await redis?.stop();
}, 30_000);

describe('cluster config channel', () => {
  it('numbers revisions by compare and set: a publisher on a stale revision is refused and reads the newer one', async () => {
    const a = await open('FrontendAAAAAAAA', []);
    expect(a.latest).toBeUndefined();
    expect(await a.sync.publish(0, settings('first'))).toBe(1);
    expect(await a.sync.publish(0, settings('stale'))).toBeUndefined();
    const latest = await a.sync.latest();
    expect(latest).toEqual({ rev: 1, origin: 'FrontendAAAAAAAA', shared: settings('first') });
    expect(await a.sync.publish(1, settings('second'))).toBe(2);
    expect(a.sync.stats().published).toBe(2);
    // The stream shares the hash's slot, and each publication added one entry.
    expect(hashSlot(CONFIG_KEY)).toBe(hashSlot(CONFIG_STREAM_KEY));
    expect(Number(await redisCli(masterPort(), 'XLEN', CONFIG_STREAM_KEY))).toBe(2);
  });

  it('another frontend opens on the latest revision and tails later ones; corrupt entries are skipped', async () => {
    const got: ConfigRevision[] = [];
    const b = await open('FrontendBBBBBBBB', got);
    expect(b.latest?.rev).toBe(2);
    b.sync.start();
    await redisCli(masterPort(), 'XADD', CONFIG_STREAM_KEY, '*', 's', 'not sealed');
    await redisCli(masterPort(), 'XADD', CONFIG_STREAM_KEY, '*', 'x', 'no state field');
    const a = opened[0]?.sync;
    expect(await a?.publish(2, settings('third', 'debug'))).toBe(3);
    await waitUntil('b to receive revision 3', async () => got.some((r) => r.rev === 3));
    expect(got.map((r) => r.rev)).toEqual([3]); // the revisions before its start came with open
    expect(got[0]?.shared).toEqual(settings('third', 'debug'));
    expect(b.sync.stats()).toMatchObject({ received: 1, badEntries: 2 });
  });

  it('a reader behind the trimmed stream adopts the hash', async () => {
    const got: ConfigRevision[] = [];
    const c = await open('FrontendCCCCCCCC', got); // position read now, tail started only after the trim
    const a = opened[0]?.sync;
    expect(await a?.publish(3, settings('fourth'))).toBe(4);
    expect(await a?.publish(4, settings('fifth'))).toBe(5);
    await redisCli(masterPort(), 'XTRIM', CONFIG_STREAM_KEY, 'MAXLEN', '0');
    c.sync.start();
    await waitUntil('c to adopt revision 5 from the hash', async () => got.some((r) => r.rev === 5));
    expect(got.map((r) => r.rev)).toEqual([5]);
  });

  it('a revision the receiver refuses is counted and logged; the tail goes on with the next', async () => {
    const seen: number[] = [];
    const d = await ConfigSync.open({
      client,
      sealer: store,
      frontendId: 'FrontendRRRRRRRR',
      logger: silentLogger,
      onRevision: async (r) => {
        seen.push(r.rev);
        if (r.rev === 6) throw new Error('refused by this frontend');
      },
    });
    opened.push(d);
    d.sync.start();
    const a = opened[0]?.sync;
    expect(await a?.publish(5, settings('sixth'))).toBe(6);
    await waitUntil('d to refuse revision 6', async () => d.sync.stats().refused === 1);
    expect(await a?.publish(6, settings('seventh'))).toBe(7);
    await waitUntil('d to receive revision 7', async () => seen.includes(7));
    expect(seen).toEqual([6, 7]);
    expect(d.sync.stats()).toMatchObject({ received: 2, refused: 1 });
  });

  it('holds no plaintext settings in Redis (sealed with the store cipher)', async () => {
    const dump = await redisCli(masterPort(), 'HGETALL', CONFIG_KEY);
    expect(dump).toContain('rev');
    expect(dump).not.toContain('seventh');
    expect(dump).not.toContain('alice');
    const stream = await redisCli(masterPort(), 'XRANGE', CONFIG_STREAM_KEY, '-', '+');
    expect(stream).not.toContain('third');
    expect(stream).not.toContain('alice');
  });

  it('a hash that is not a revision of this cluster refuses the open (STO_CORRUPT_RECORD)', async () => {
    await redisCli(masterPort(), 'HSET', CONFIG_KEY, 's', 'garbage');
    await expect(ConfigSync.open({ client, sealer: store, frontendId: 'FrontendDDDDDDDD', logger: silentLogger, onRevision: async () => undefined }))
      .rejects.toMatchObject({ code: 'STO_CORRUPT_RECORD' });
  });
});
