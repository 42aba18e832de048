// aedes' own cluster recipe, one member (scenarios i, j, k): aedes 1.x with `mqemitter-redis`
// (Redis pub/sub between the aedes processes) and `aedes-persistence-redis` (sessions, subscriptions,
// offline queues, retained in Redis). Env BENCH_REDIS_SEEDS=host:port,...; BENCH_REDIS_CLUSTER=1: the
// seeds are a Redis Cluster (ioredis `Cluster` for both; PUBLISH on a cluster reaches every node's
// subscribers), otherwise one plain Redis. Prints {"port":N} once listening; closes on SIGTERM.
import { createRequire } from 'node:module';
import { Aedes } from 'aedes';
import { serveAedes } from './aedes-serve.mjs';

const require = createRequire(import.meta.url);
const Redis = require('ioredis');
const mqemitterRedis = require('mqemitter-redis');
const aedesPersistenceRedis = require('aedes-persistence-redis');

const seeds = (process.env.BENCH_REDIS_SEEDS ?? '').split(',').filter(Boolean).map((s) => {
  const [host, port] = s.split(':');
  return { host, port: Number(port) };
});
if (seeds.length === 0) throw new Error('BENCH_REDIS_SEEDS is empty');
const cluster = process.env.BENCH_REDIS_CLUSTER === '1';

const mq = cluster
  ? mqemitterRedis({ subConn: new Redis.Cluster(seeds), pubConn: new Redis.Cluster(seeds) })
  : mqemitterRedis({ host: seeds[0].host, port: seeds[0].port });
const persistence = cluster ? aedesPersistenceRedis({ cluster: seeds }) : aedesPersistenceRedis({ host: seeds[0].host, port: seeds[0].port });

await serveAedes(await Aedes.createBroker({ mq, persistence }));
