import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterClient } from '../../../src/storage/redis/cluster-client.js';
import { RedisErrorReply, type RedisReply } from '../../../src/storage/redis/cluster-commands.js';
import { hashSlot, SLOT_COUNT } from '../../../src/storage/redis/hash-slot.js';
import { NodeConnection } from '../../../src/storage/redis/node-connection.js';
import { infoFields, redisCli, startRedisCluster, waitUntil, type RedisTestCluster } from '../../helpers/redis-cluster.js';
import { tagsBySlot } from '../../helpers/redis-keys.js';
import { RedisBrokerStore } from '../../../src/storage/redis/redis-broker-store.js';
import { bucketOf, retainedKey } from '../../../src/storage/redis/redis-keys.js';

let cluster: RedisTestCluster;
const clients: RedisClusterClient[] = [];

async function client(options: Partial<Parameters<typeof RedisClusterClient.connect>[0]> = {}): Promise<RedisClusterClient> {
  const opened = await RedisClusterClient.connect({ seeds: cluster.seeds, replicas: 1, waitTimeoutMs: 500, ...options });
  clients.push(opened);
  return opened;
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));
const text = (reply: RedisReply | undefined): string | undefined => (Buffer.isBuffer(reply) ? reply.toString() : undefined);

/** The node id and the replica ports of the master on `port`. */
async function nodeInfo(port: number): Promise<{ id: string; replicaPorts: number[] }> {
  const nodes = (await redisCli(port, 'CLUSTER', 'NODES')).trim().split('\n').map((line) => line.split(' '));
  const self = nodes.find((fields) => fields[2]?.includes('myself'));
  const id = self?.[0] ?? '';
  const replicaPorts = nodes.filter((fields) => fields[3] === id).map((fields) => Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]));
  return { id, replicaPorts };
}

/** GET `key` on a replica (READONLY). */
async function readOnReplica(port: number, key: string): Promise<string | undefined> {
  const connection = await NodeConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: 1000 });
  try {
    const [, value] = await connection.send([['READONLY'], ['GET', key]], 2000);
    return text(value);
  } finally {
    connection.close();
  }
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
});

afterAll(async () => {
  for (const opened of clients) await opened.close();
  await cluster?.stop();
});

describe('RedisClusterClient on a 3 × 1 Redis Cluster', () => {
  it('reads the topology: 3 masters cover every slot', async () => {
    const redis = await client();
    expect(redis.masters).toHaveLength(3);
    for (let slot = 0; slot < SLOT_COUNT; slot++) expect(redis.masterOf(slot)).toBeDefined();
  });

  it('writes and reads a key in every one of the 16384 slots, each on its own master', async () => {
    const redis = await client();
    await redis.execOnMasters(['FLUSHALL']);
    const tags = tagsBySlot();
    const written = await Promise.all(tags.map((tag, slot) => redis.exec(tag, [['SET', `k${tag}`, String(slot)], ['GET', `k${tag}`]])));
    written.forEach((replies, slot) => expect(replies.map(text)).toEqual(['OK', String(slot)]));
    const sizes = await redis.execOnMasters(['DBSIZE']);
    expect(sizes).toHaveLength(3);
    expect(sizes.reduce<number>((sum, size) => sum + (typeof size === 'number' ? size : NaN), 0)).toBe(SLOT_COUNT);
    // each master holds exactly the keys of its own slots (nothing went through a redirection)
    for (const address of redis.masters) {
      const own = tags.filter((_, slot) => redis.masterOf(slot) === address).length;
      expect(Number((await redisCli(portOf(address), 'DBSIZE')).trim())).toBe(own);
    }
  });

  it('keeps the order of the calls of one tick and of the commands of one call; error replies in place', async () => {
    const redis = await client();
    const calls = Array.from({ length: 500 }, (_, i) => redis.exec('{order}', [['RPUSH', '{order}:list', String(i)], ['INCR', '{order}:n']]));
    const replies = await Promise.all(calls);
    replies.forEach((pair, i) => expect(pair).toEqual([i + 1, i + 1]));
    const [list] = await redis.exec('{order}', [['LRANGE', '{order}:list', 0, -1]]);
    expect(Array.isArray(list) && list.map(text)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    const mixed = await redis.exec('{err}', [['SET', '{err}k', 'x'], ['INCR', '{err}k'], ['GET', '{err}k']]);
    expect(text(mixed[0])).toBe('OK');
    expect(mixed[1]).toBeInstanceOf(RedisErrorReply);
    expect((mixed[1] as RedisErrorReply).message).toMatch(/not an integer/);
    expect(text(mixed[2])).toBe('x');
  });

  it('a durable call resolves after WAIT confirmed the replica; with the replica stopped it is not acknowledged, a plain call of the same tick is', async () => {
    const redis = await client({ waitTimeoutMs: 300 });
    const key = '{durable}k';
    const master = portOf(redis.masterOf(hashSlot(key)) ?? '');
    const [replicaPort] = (await nodeInfo(master)).replicaPorts;
    expect(replicaPort).toBeDefined();
    await redis.exec(key, [['SET', key, 'one']], { durable: true });
    expect(await readOnReplica(replicaPort as number, key)).toBe('one');

    const replica = cluster.nodes.find((node) => node.port === replicaPort);
    process.kill(replica?.pid ?? -1, 'SIGSTOP');
    try {
      const started = Date.now();
      const durable = redis.exec(key, [['SET', key, 'two']], { durable: true });
      const plain = redis.exec(key, [['GET', key]]);
      await expect(durable).rejects.toMatchObject({ code: 'STO_BACKEND_NOT_ACKNOWLEDGED' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290); // it waited for WAIT's timeout
      expect((await plain).map(text)).toEqual(['two']);
    } finally {
      process.kill(replica?.pid ?? -1, 'SIGCONT');
    }
    await waitUntil('the replica to be in sync again', async () => infoFields(await redisCli(replicaPort as number, 'INFO', 'replication')).get('master_link_status') === 'up');
    await redis.exec(key, [['SET', key, 'three']], { durable: true });
    expect(await readOnReplica(replicaPort as number, key)).toBe('three');
  });

  it('a WAIT short of `replicas` rejects the durable calls, unless the degraded-mode hook accepts it', async () => {
    const strict = await client({ replicas: 2, waitTimeoutMs: 100 });
    await expect(strict.exec('{w}', [['SET', '{w}k', '1']], { durable: true })).rejects.toMatchObject({ code: 'STO_BACKEND_NOT_ACKNOWLEDGED' });
    const seen: { acknowledged: number; wanted: number }[] = [];
    const lenient = await client({ replicas: 2, waitTimeoutMs: 100, acceptShortWait: (wait) => seen.push(wait) > 0 });
    expect((await lenient.exec('{w}', [['SET', '{w}k', '2']], { durable: true })).map(text)).toEqual(['OK']);
    expect(seen).toMatchObject([{ acknowledged: 1, wanted: 2 }]);
  });

  it('MOVED after a manual failover: the call is sent again to the new master, the topology follows', async () => {
    const redis = await client();
    const key = '{moved}k';
    const slot = hashSlot(key);
    const oldMaster = portOf(redis.masterOf(slot) ?? '');
    const [replicaPort] = (await nodeInfo(oldMaster)).replicaPorts;
    await redisCli(replicaPort as number, 'CLUSTER', 'FAILOVER');
    await waitUntil('the replica to become master', async () => infoFields(await redisCli(replicaPort as number, 'INFO', 'replication')).get('role') === 'master');
    await waitUntil('the old master to answer MOVED', async () => (await redisCli(oldMaster, 'GET', key)).startsWith('MOVED'));
    expect(redis.masterOf(slot)).toBe(`127.0.0.1:${oldMaster}`); // the client has not noticed yet
    expect((await redis.exec(key, [['SET', key, 'v'], ['GET', key]], { durable: true })).map(text)).toEqual(['OK', 'v']);
    expect(redis.masterOf(slot)).toBe(`127.0.0.1:${replicaPort}`);
  });

  it('ASK during a slot migration and MOVED after it: calls follow the slot', async () => {
    const redis = await client();
    const key = '{ask}k';
    const slot = hashSlot(key);
    const source = portOf(redis.masterOf(slot) ?? '');
    const target = portOf(redis.masters.find((address) => portOf(address) !== source) ?? '');
    const sourceId = (await nodeInfo(source)).id;
    const targetId = (await nodeInfo(target)).id;
    await redis.exec(key, [['DEL', key]]);
    await redisCli(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
    await redisCli(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
    // the key is not on the source: ASK to the target, which accepts it after ASKING
    expect((await redis.exec(key, [['SET', key, 'asked']])).map(text)).toEqual(['OK']);
    expect((await redisCli(target, 'DBSIZE')).trim()).not.toBe('0');
    expect(redis.masterOf(slot)).toBe(`127.0.0.1:${source}`); // ASK does not move the slot
    for (const port of [target, source]) await redisCli(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
    expect((await redis.exec(key, [['GET', key]])).map(text)).toEqual(['asked']);
    expect(redis.masterOf(slot)).toBe(`127.0.0.1:${target}`);
  });

  it('a master that stops answering (SIGSTOP): the call rejects after the command timeout, the client recovers when it answers again', async () => {
    const redis = await client({ commandTimeoutMs: 200 });
    const key = '{frozen}k';
    const master = portOf(redis.masterOf(hashSlot(key)) ?? '');
    const pid = cluster.nodes.find((node) => node.port === master)?.pid ?? -1;
    process.kill(pid, 'SIGSTOP'); // shorter than cluster-node-timeout: no failover
    const started = Date.now();
    try {
      await expect(redis.exec(key, [['SET', key, 'x']])).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE', message: expect.stringMatching(/no reply within 200 ms/) });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(Date.now() - started).toBeLessThan(900);
    await waitUntil('the master to answer again', async () => (await redis.exec(key, [['SET', key, 'y']])).length === 1);
    expect(redis.masterOf(hashSlot(key))).toBe(`127.0.0.1:${master}`);
  });

  it('caps the calls waiting for a master whose batch is in flight: beyond the limits they are refused at once (not acknowledged; STO_WRITE_FAILED through the store), the others complete', async () => {
    const redis = await client({ maxQueuedCalls: 50 });
    const bytesCapped = await client({ maxQueuedBytes: 1000 });
    const key = '{capped}k';
    const master = `127.0.0.1:${portOf(redis.masterOf(hashSlot(key)) ?? '')}`;
    const pid = cluster.nodes.find((node) => `127.0.0.1:${node.port}` === master)?.pid ?? -1;
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const codes = (results: PromiseSettledResult<unknown>[]): (string | undefined)[] => results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'));
    // A store on a client whose queues hold 5 calls; 11 retained topics whose bucket is on that master.
    const store = await RedisBrokerStore.open({ commands: await client({ maxQueuedCalls: 5 }), name: 'capped' });
    const topics: string[] = [];
    for (let n = 0; topics.length < 11; n++) if (redis.masterOf(hashSlot(retainedKey(bucketOf(Buffer.from(`t/${n}`))))) === master) topics.push(`t/${n}`);
    const retained = (topic: string): Promise<void> => store.putRetained({ topic, payload: Buffer.from('v'), qos: 0, retain: true });

    process.kill(pid, 'SIGSTOP'); // shorter than cluster-node-timeout: no failover
    let inFlight: Promise<unknown>[] = [];
    let waiting: Promise<unknown>[] = [];
    const refused: PromiseSettledResult<unknown>[][] = [];
    const settled: string[] = [];
    try {
      inFlight = [redis.exec(key, [['SET', key, 'in flight']]), bytesCapped.exec(key, [['SET', key, 'in flight']]), retained(topics[0] as string)];
      await tick(); // sent: each client's batch is in flight until the master answers
      waiting = [
        ...Array.from({ length: 50 }, (_, i) => redis.exec(key, [['SET', `${key}${i}`, 'v']]).then(() => settled.push('ok'))),
        bytesCapped.exec(key, [['SET', key, Buffer.alloc(600)]]),
        ...topics.slice(1, 6).map(retained),
      ];
      refused.push(await Promise.allSettled(Array.from({ length: 10 }, () => redis.exec(key, [['SET', key, 'refused']]))));
      refused.push(await Promise.allSettled([bytesCapped.exec(key, [['SET', key, Buffer.alloc(600)]])]));
      refused.push(await Promise.allSettled(topics.slice(6).map(retained)));
      expect(settled).toEqual([]); // refused at once, while the others still wait
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(codes(refused[0] ?? [])).toEqual(Array(10).fill('STO_BACKEND_NOT_ACKNOWLEDGED'));
    expect(redis.refusedCalls).toBe(10);
    expect(codes(refused[1] ?? [])).toEqual(['STO_BACKEND_NOT_ACKNOWLEDGED']); // 1,200 bytes > 1,000
    expect(codes(refused[2] ?? [])).toEqual(Array(5).fill('STO_WRITE_FAILED'));
    await Promise.all([...inFlight, ...waiting]);
    expect(settled).toHaveLength(50);
    await store.close();
  });

  it('reads the topology from the first seed that answers', async () => {
    const redis = await client({ seeds: ['127.0.0.1:1', 'not-an-address', ...cluster.seeds.slice(-1)] });
    expect(redis.masters).toHaveLength(3);
    expect((await redis.exec('{seed}', [['PING']])).map(text)).toEqual(['PONG']);
  });

  it('rejects every call after close, and a cluster nobody answers for at connect', async () => {
    const redis = await client();
    await redis.close();
    await expect(redis.exec('x', [['PING']])).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE' });
    await expect(RedisClusterClient.connect({ seeds: ['127.0.0.1:1'], replicas: 1 })).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE' });
  });
});
