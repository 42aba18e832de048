// A local Redis Cluster for the cluster scenarios (i, j, k): `masters` x (1 + `replicas`)
// `redis-server` processes in a temp dir, on free ports in 10000-21999 (below 32768; a node's
// cluster bus is port + 10000), formed with `redis-cli --cluster create`. The same logic as
// test/helpers/redis-cluster.ts, in plain .mjs (the bench does not load the TS test helpers).
// Every process is registered with proc.mjs, so the harness kills it whatever happens.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sleep, spawnTracked, trackTemp } from './proc.mjs';

const run = promisify(execFile);

/** `redis-cli -p port args...` -> stdout (throws when it fails). */
export async function redisCli(port, ...args) {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout;
}

function infoFields(text) {
  const fields = new Map();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** Resolves once `condition()` is true, rejects naming `what` after `timeoutMs`. */
export async function waitUntil(what, condition, timeoutMs = 20000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePorts(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (12000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const checks = await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10000)]));
    if (checks.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found in 10000-21999`);
}

async function clusterHealthy(ports, replicas) {
  for (const port of ports) {
    const info = infoFields(await redisCli(port, 'CLUSTER', 'INFO'));
    if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== '16384') return false;
    if (info.get('cluster_known_nodes') !== String(ports.length)) return false;
    const repl = infoFields(await redisCli(port, 'INFO', 'replication'));
    if (repl.get('role') === 'master') {
      const online = [...repl].filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length;
      if (online < replicas) return false;
    } else if (repl.get('master_link_status') !== 'up') return false;
  }
  return true;
}

/** The role (`master` / `slave`) of the node on `port`, or null when it does not answer. */
export async function roleOf(port) {
  try {
    return infoFields(await redisCli(port, 'INFO', 'replication')).get('role') ?? null;
  } catch {
    return null;
  }
}

/**
 * Starts and forms a cluster. `opts.appendfsync`: `everysec` (Redis' default, what the tests use)
 * or `always`. Returns { ports, seeds, pids(), masters(), killNode(port), stop() }.
 */
export async function startRedisCluster({ masters = 3, replicas = 1, appendfsync = 'everysec' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-redis-'));
  trackTemp(dir);
  const ports = await freePorts(masters * (1 + replicas));
  const children = new Map();
  const startNode = async (port) => {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir, { recursive: true });
    const child = spawnTracked(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--logfile', path.join(nodeDir, 'redis.log'),
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000',
        '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', '', '--daemonize', 'no', '--repl-diskless-sync-delay', '0',
      ],
      { stdio: 'ignore' },
    );
    child.exitInfo = null;
    child.once('exit', (code, signal) => (child.exitInfo = { code, signal }));
    children.set(port, child);
    await waitUntil(`redis-server on port ${port} to answer PING`, async () => {
      if (child.exitInfo) throw new Error('exited');
      return (await redisCli(port, 'PING')).trim() === 'PONG';
    }, 10000);
  };
  const killNode = async (port) => {
    const child = children.get(port);
    if (!child || child.exitInfo) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  const stop = async () => {
    await Promise.all([...children.keys()].map(killNode));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map(startNode));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 20000 });
    await waitUntil('the cluster to be formed (state ok, every slot covered, replicas in sync)', () => clusterHealthy(ports, replicas));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    ports,
    seeds: ports.map((p) => `127.0.0.1:${p}`),
    /** pids of the running nodes. */
    pids: () => [...children.values()].filter((c) => !c.exitInfo).map((c) => c.pid),
    /** [port, pid] of the running nodes. */
    pidByPort: () => [...children].filter(([, c]) => !c.exitInfo).map(([port, c]) => [port, c.pid]),
    /** Ports of the nodes that are masters now. */
    masters: async () => {
      const out = [];
      for (const p of ports) if ((await roleOf(p)) === 'master') out.push(p);
      return out;
    },
    killNode,
    /** Starts a killed node again on its dir (nodes.conf, AOF): it rejoins the cluster (as a replica once its slots failed over). */
    restartNode: startNode,
    stop,
    get exitInfo() {
      return null;
    },
  };
}

/**
 * One plain (non-cluster) redis-server with the nodes' persistence settings (AOF, `appendfsync`
 * everysec), for aedes' recipe on a single Redis (BENCH_AEDES_REDIS=single). Same shape as a cluster.
 */
export async function startRedisSingle({ appendfsync = 'everysec' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-redis-'));
  trackTemp(dir);
  const [port] = await freePorts(1);
  const child = spawnTracked(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', path.join(dir, 'redis.log'), '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', '', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  child.exitInfo = null;
  child.once('exit', (code, signal) => (child.exitInfo = { code, signal }));
  const killNode = async () => {
    if (child.exitInfo) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await waitUntil(`redis-server on port ${port} to answer PING`, async () => {
    if (child.exitInfo) throw new Error('exited');
    return (await redisCli(port, 'PING')).trim() === 'PONG';
  }, 10000);
  return {
    single: true,
    ports: [port],
    seeds: [`127.0.0.1:${port}`],
    pids: () => (child.exitInfo ? [] : [child.pid]),
    pidByPort: () => (child.exitInfo ? [] : [[port, child.pid]]),
    masters: async () => (child.exitInfo ? [] : [port]),
    killNode,
    stop: async () => {
      await killNode();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
