/**
 * A local Redis Cluster for tests: `masters` × (1 + `replicasPerMaster`) `redis-server` processes in
 * a temp dir, on free ports below 32768 (a node's cluster bus port is port + 10000, so ports are
 * picked in 10000-21999), formed with `redis-cli --cluster create`. Every process is SIGKILLed by
 * stop(), and at the latest when the test process exits.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One node of the test cluster. */
export interface RedisClusterNode {
  readonly port: number;
  /** The pid of its current process (a restart changes it). */
  readonly pid: number;
}

/** A running test cluster. */
export interface RedisTestCluster {
  /** Every node, in creation order (the first `masters` are the initial masters). */
  readonly nodes: readonly RedisClusterNode[];
  /** `127.0.0.1:port` of every node. */
  readonly seeds: string[];
  /** The temp dir holding each node's dir (`<dir>/<port>`). */
  readonly dir: string;
  /** SIGKILLs the node and waits for its exit. */
  killNode(port: number): Promise<void>;
  /** Starts a killed node again on its dir (nodes.conf, AOF) and waits until it answers PING. */
  restartNode(port: number): Promise<void>;
  /** Resolves once every node reports the cluster ok, every slot covered, every replica in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the dir. */
  stop(): Promise<void>;
}

/** The cluster's shape. */
export interface RedisClusterShape {
  masters?: number;
  replicasPerMaster?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Runs `redis-cli -p port args...` and returns its output (throws when it fails). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout;
}

/** The `field:value` lines of an INFO-like output. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** Resolves once `condition` is true (checked every `intervalMs`), rejects with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive ports in 10000-21999 whose ports and bus ports (+10000) are free now. */
async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (12000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const checks = await Promise.all(ports.flatMap((port) => [portFree(port), portFree(port + 10000)]));
    if (checks.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found in 10000-21999`);
}

/** Whether every node reports a healthy cluster covering every slot, and every replica is in sync. */
async function clusterHealthy(ports: readonly number[], replicasPerMaster: number): Promise<boolean> {
  for (const port of ports) {
    const info = infoFields(await redisCli(port, 'CLUSTER', 'INFO'));
    if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== '16384') return false;
    if (info.get('cluster_known_nodes') !== String(ports.length)) return false;
    const replication = infoFields(await redisCli(port, 'INFO', 'replication'));
    if (replication.get('role') === 'master') {
      const online = [...replication].filter(([key, value]) => /^slave\d+$/.test(key) && value.includes('state=online')).length;
      if (online < replicasPerMaster) return false;
    } else if (replication.get('master_link_status') !== 'up') return false;
  }
  return true;
}

/** Starts and forms a Redis Cluster (default 3 masters × 1 replica). */
export async function startRedisCluster(shape: RedisClusterShape = {}): Promise<RedisTestCluster> {
  installExitHook();
  const masters = shape.masters ?? 3;
  const replicasPerMaster = shape.replicasPerMaster ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'ops-redis-cluster-'));
  const ports = await freePorts(masters * (1 + replicasPerMaster));
  const processes = new Map<number, ChildProcess>();

  const startNode = async (port: number): Promise<void> => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--logfile', join(nodeDir, 'redis.log'),
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000',
        '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--repl-diskless-sync-delay', '0',
      ],
      { stdio: 'ignore' },
    );
    running.add(child);
    processes.set(port, child);
    child.once('exit', () => running.delete(child));
    try {
      await waitUntil(`redis-server on port ${port} to answer PING`, async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited');
        return (await redisCli(port, 'PING')).trim() === 'PONG';
      }, 10_000);
    } catch (error) {
      let log = '';
      try {
        log = readFileSync(join(nodeDir, 'redis.log'), 'utf8').slice(-2000);
      } catch {
        // no log yet
      }
      throw new Error(`redis-server on port ${port} did not start: ${String(error)}\n${log}`);
    }
  };

  const killNode = async (port: number): Promise<void> => {
    const child = processes.get(port);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };

  const stop = async (): Promise<void> => {
    await Promise.all([...processes.keys()].map(killNode));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(ports.map(startNode));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], {
      timeout: 20_000,
    });
    await waitUntil('the cluster to be formed (state ok, every slot covered, replicas in sync)', () => clusterHealthy(ports, replicasPerMaster));
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    get nodes() {
      return ports.map((port) => ({ port, pid: processes.get(port)?.pid ?? -1 }));
    },
    seeds: ports.map((port) => `127.0.0.1:${port}`),
    dir,
    killNode,
    restartNode: startNode,
    waitHealthy: (timeoutMs = 30_000) => waitUntil('the cluster to be healthy (state ok, every slot covered, replicas in sync)', () => clusterHealthy(ports, replicasPerMaster), timeoutMs),
    stop,
  };
}
