/**
 * Cluster mode, the plumbing (issue 15): frontends started by the real `ops` CLI with `--backend
 * redis://...` on one Redis Cluster (3 masters × 1 replica). Each serves MQTT on the shared Redis
 * store, `ops broker show`/`stats` report the backend, and bad addresses, an unreachable backend and
 * a frontend with another store key are refused clearly, leaving nothing behind. (Delivery between
 * frontends is the forwarding's, tested with it.)
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { startFrontends, type ClusterFrontends } from '../helpers/cluster-frontends.js';
import { redisCli, waitUntil } from '../helpers/redis-cluster.js';

let cluster: ClusterFrontends;

beforeAll(async () => {
  cluster = await startFrontends({ frontends: 3, masters: 3, replicasPerMaster: 1, logLevel: 'info', persistence: { maxSize: '200Mi' } });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A persistent-session subscriber and a publisher on `port`: one QoS 1 message there and back. */
async function roundTripOn(port: number, tag: string): Promise<string> {
  const sub = await connectClient(port, { clientId: `sub-${tag}`, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
  const pub = await connectClient(port, { clientId: `pub-${tag}` });
  try {
    const received = new Promise<string>((resolve) => sub.on('message', (_t, message) => resolve(message.toString())));
    await sub.subscribeAsync(`cluster/${tag}`, { qos: 1 });
    await pub.publishAsync(`cluster/${tag}`, `hello ${tag}`, { qos: 1 });
    return await received;
  } finally {
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  }
}

describe('frontends on a Redis Cluster backend', () => {
  it('ops broker stats on any frontend shows every frontend and the cluster totals', async () => {
    const client = await connectClient(cluster.frontends[1]!.port, { clientId: 'stats-watcher' });
    try {
      type Members = { cluster?: { frontendId: string; members?: { frontendId: string; live: boolean; connected: number }[]; totals?: { frontends: number; connected: number } } };
      const deadline = Date.now() + 20_000;
      let stats: Members = {};
      // Figures are written every 2 s: wait for the connected client to show in them.
      for (;;) {
        stats = await cluster.home.json<Members>('broker', 'stats', '--instance', 'f1');
        if ((stats.cluster?.totals?.connected ?? 0) >= 1 && stats.cluster?.totals?.frontends === 3) break;
        if (Date.now() > deadline) throw new Error(`stats never showed 3 live frontends and a client: ${JSON.stringify(stats.cluster)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(stats.cluster?.members?.filter((m) => m.live)).toHaveLength(3);
      expect(stats.cluster?.members?.some((m) => m.frontendId === stats.cluster?.frontendId)).toBe(true);
      const text = await cluster.home.ops('broker', 'stats', '--instance', 'f2');
      expect(text.stdout).toMatch(/cluster totals\s+3 frontends live/);
      expect(text.stdout).toContain('(this one)');
      expect(text.stdout).toMatch(/store\s+\d+ of 209715200 bytes\n/); // the backend's usage against persistence.maxSize
    } finally {
      await client.endAsync();
    }
  });

  it('three frontends start on one 3×1 cluster, each serves MQTT, and each is a cluster frontend in stats', async () => {
    expect(cluster.frontends).toHaveLength(3);
    for (const f of cluster.frontends) {
      expect(alive(f.pid)).toBe(true);
      expect(await roundTripOn(f.port, f.name)).toBe(`hello ${f.name}`);
    }
    const ids = new Set<string>();
    for (const f of cluster.frontends) {
      const stats = await cluster.home.json<{
        cluster?: { frontendId: string; backend: string[] };
        persistence: { enabled: boolean; encryption: string };
        store: { usedBytes: number; limitBytes: number | null; full: boolean; refusedWrites: number } | null;
      }>('broker', 'stats', '--instance', f.name);
      // persistence.maxSize is on the backend's data, the same cluster-wide figure on every frontend (backend-usage.ts).
      expect(stats.store).toMatchObject({ limitBytes: 200 * 1024 * 1024, full: false, refusedWrites: 0 });
      expect(stats.store?.usedBytes).toBeGreaterThan(0);
      expect(stats.store?.usedBytes).toBeLessThan(50 * 1024 * 1024);
      expect(stats.cluster?.backend).toEqual(cluster.redis.seeds);
      expect(stats.cluster?.frontendId).toMatch(/^[A-Za-z0-9_-]{16}$/);
      ids.add(stats.cluster?.frontendId ?? '');
      expect(stats.persistence).toMatchObject({ enabled: true, encryption: 'Enabled' });
    }
    expect(ids.size).toBe(3);
    // Each logged its joining, with its id and the backend.
    for (const f of cluster.frontends) {
      const log = readFileSync(join(cluster.home.home, f.name, 'broker.log'), 'utf8');
      const joined = log
        .split('\n')
        .filter((line) => line.includes('"cluster frontend joined"'))
        .map((line) => JSON.parse(line) as { frontendId?: string; backend?: string });
      expect(joined).toHaveLength(1);
      expect(ids.has(joined[0]?.frontendId ?? '')).toBe(true);
      expect(joined[0]?.backend).toBe(cluster.backend);
    }
    // The store is on the cluster, sealed: its format record says so (read through any node with -c).
    const port = cluster.redis.nodes[0]?.port ?? 0;
    expect((await redisCli(port, '-c', 'HGET', 'm:{meta}', 'encryption')).trim()).toBe('AES-256-GCM');
    // Neither the level store nor the disk buffer is opened by a frontend; every frontend has f1's key.
    const f1Key = readFileSync(join(cluster.home.home, 'f1', 'secrets', 'store.key'), 'utf8');
    for (const f of cluster.frontends) {
      expect(existsSync(join(cluster.home.home, f.name, 'data', 'store'))).toBe(false);
      expect(readFileSync(join(cluster.home.home, f.name, 'secrets', 'store.key'), 'utf8')).toBe(f1Key);
      expect(statSync(join(cluster.home.home, f.name, 'secrets', 'store.key')).mode & 0o777).toBe(0o600);
    }
  }, 60_000);

  it('ops broker show -o json shows the backend it runs on, and stats text names it', async () => {
    const live = await cluster.home.json<{ backend?: unknown; properties: Record<string, unknown> }>('broker', 'show', '--instance', 'f1');
    expect(live.backend).toEqual({ kind: 'redis-cluster', seeds: cluster.redis.seeds });
    expect(live.properties).not.toHaveProperty('backend');
    const text = await cluster.home.ops('broker', 'stats', '--instance', 'f1');
    expect(text.stdout).toMatch(/cluster frontend\s+\S+ on redis:\/\/127\.0\.0\.1:\d+/);
  }, 30_000);

  it.each([
    ['rediss://127.0.0.1:7000', 'TLS to the backend is not supported yet'],
    ['redis://127.0.0.1', '"127.0.0.1" has no :port'],
    ['redis://127.0.0.1:99999', 'not in 1-65535'],
    ['redis://admin:s3cret@127.0.0.1:7000', 'a user or password is not supported yet'],
    ['redis://127.0.0.1:7000/2', 'a database path, query or fragment is not supported'],
  ])('ops create --backend %s fails clearly (%s) and leaves no instance', async (value, reason) => {
    const r = await cluster.home.ops('create', '--instance', 'bad-address', '--port', '0', '--secure-port', '0', '--backend', value);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--backend');
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain('CFG_BACKEND_INVALID');
    expect(r.stderr).not.toContain('s3cret');
    expect(existsSync(join(cluster.home.home, 'bad-address'))).toBe(false);
  }, 30_000);

  it('--store-key-from needs --backend and an instance with a key', async () => {
    const alone = await cluster.home.ops('create', '--instance', 'no-backend', '--port', '0', '--secure-port', '0', '--store-key-from', 'f1');
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('--store-key-from is for a cluster frontend');
    const missing = await cluster.home.ops('create', '--instance', 'no-source', '--port', '0', '--secure-port', '0', '--backend', cluster.backend, '--store-key-from', 'nope');
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain("Instance 'nope' does not exist");
    for (const name of ['no-backend', 'no-source']) expect(existsSync(join(cluster.home.home, name))).toBe(false);
  }, 30_000);

  it('an unreachable backend fails create and start clearly, naming the seeds; the stored backend is kept', async () => {
    const port = await closedPort();
    const unreachable = `redis://127.0.0.1:${port}`;
    const r = await cluster.home.ops('create', '--instance', 'lost', '--port', '0', '--secure-port', '0', '--broker-config-file', cluster.configFile, '--backend', unreachable);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('STO_BACKEND_UNAVAILABLE');
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(existsSync(join(cluster.home.home, 'lost'))).toBe(false);

    // --backend of `ops broker start` overrides the stored one for that run only.
    const f3 = cluster.frontends[2];
    if (f3 === undefined) throw new Error('no f3');
    await f3.stop();
    const failed = await cluster.home.ops('broker', 'start', '--instance', f3.name, '--backend', unreachable);
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain('STO_BACKEND_UNAVAILABLE');
    expect(failed.stderr).toContain(`127.0.0.1:${port}`);
    const status = await cluster.home.json<{ running: boolean }>('broker', 'status', '--instance', f3.name);
    expect(status.running).toBe(false);
    // Stopped: show reads the backend stored at create (the failed override did not change it).
    const stored = await cluster.home.json<{ backend?: unknown }>('broker', 'show', '--instance', f3.name);
    expect(stored.backend).toEqual({ kind: 'redis-cluster', seeds: cluster.redis.seeds });
    const bad = await cluster.home.ops('broker', 'run', '--instance', f3.name, '--backend', 'redis://nowhere');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('CFG_BACKEND_INVALID');
    const again = await cluster.home.json<{ pid: number; ports: Array<{ listener: string; port: number }> }>('broker', 'start', '--instance', f3.name);
    const againPort = again.ports.find((p) => p.listener === 'default-insecure')?.port ?? 0;
    expect(await roundTripOn(againPort, 'f3-again')).toBe('hello f3-again');
  }, 60_000);

  it('a frontend with another store key is refused (STO_WRONG_KEY naming the backend) and leaves no instance', async () => {
    const r = await cluster.home.ops('create', '--instance', 'stranger', '--port', '0', '--secure-port', '0', '--broker-config-file', cluster.configFile, '--backend', cluster.backend);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('STO_WRONG_KEY');
    expect(r.stderr).toContain(cluster.backend);
    expect(existsSync(join(cluster.home.home, 'stranger'))).toBe(false);
  }, 30_000);

  it('a frontend with encryption Disabled on an encrypted backend is refused (STO_WRONG_KEY)', async () => {
    const config = join(cluster.home.home, 'plain-broker.json');
    writeFileSync(config, JSON.stringify({ persistence: { maxSize: '200M', encryption: { mode: 'Disabled' } } }));
    const r = await cluster.home.ops('create', '--instance', 'plaintext', '--port', '0', '--secure-port', '0', '--broker-config-file', config, '--backend', cluster.backend);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('STO_WRONG_KEY');
    expect(r.stderr).toContain(cluster.backend);
    expect(existsSync(join(cluster.home.home, 'plaintext'))).toBe(false);
  }, 30_000);

  it('degraded mode: with the replicas gone, writes go on, the partitions are flagged in stats, the stats text, metrics and the log, and clear when the replicas return', async () => {
    const replicas: number[] = [];
    for (const node of cluster.redis.nodes) if ((await redisCli(node.port, 'ROLE')).startsWith('slave')) replicas.push(node.port);
    expect(replicas).toHaveLength(3);
    for (const port of replicas) await cluster.redis.killNode(port);
    const f1 = cluster.frontends[0]!;
    // Durable writes on f1 (session, subscription directory, queue) reach masters without replica: served.
    expect(await roundTripOn(f1.port, 'degraded')).toBe('hello degraded');
    type Degraded = { cluster?: { degradedPartitions: { node: string; replicasInSync: number; wanted: number; since: string }[] } };
    const stats = await cluster.home.json<Degraded>('broker', 'stats', '--instance', f1.name);
    const flagged = stats.cluster?.degradedPartitions ?? [];
    expect(flagged.length).toBeGreaterThan(0);
    for (const d of flagged) {
      expect(d).toMatchObject({ replicasInSync: 0, wanted: 1 });
      expect(cluster.redis.seeds).toContain(d.node);
      expect(Number.isNaN(Date.parse(d.since))).toBe(false);
    }
    expect((await cluster.home.ops('broker', 'stats', '--instance', f1.name)).stdout).toMatch(/backend degraded\s+127\.0\.0\.1:\d+ \(0 of 1 replicas in sync since /);
    const status = await cluster.home.json<{ metricsPort: number | null }>('broker', 'status', '--instance', f1.name);
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${status.metricsPort ?? 0}/metrics`)).text();
    expect(await metrics()).toMatch(/^ops_broker_backend_degraded_partitions [1-3]$/m);
    const log = readFileSync(join(cluster.home.home, f1.name, 'broker.log'), 'utf8');
    expect(log).toContain('"backend partition degraded');
    expect(log).toContain(`"node":"${flagged[0]?.node ?? ''}"`);

    for (const port of replicas) await cluster.redis.restartNode(port);
    await cluster.redis.waitHealthy();
    await waitUntil('the flags to clear', async () => ((await cluster.home.json<Degraded>('broker', 'stats', '--instance', f1.name)).cluster?.degradedPartitions.length ?? -1) === 0, 20_000, 200);
    expect(await metrics()).toMatch(/^ops_broker_backend_degraded_partitions 0$/m);
    expect((await cluster.home.ops('broker', 'stats', '--instance', f1.name)).stdout).toMatch(/backend degraded\s+none/);
    expect(readFileSync(join(cluster.home.home, f1.name, 'broker.log'), 'utf8')).toContain('"backend partition recovered');
  }, 60_000);
});
