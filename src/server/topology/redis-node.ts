/**
 * One `redis-server` cluster node of a local topology: its arguments, its process, and waiting
 * until it answers. Its files (nodes.conf, the AOF folder, redis.log) live in its own folder.
 *
 * Durability: with persistence enabled a node writes an AOF with `appendfsync always` (Redis
 * fsyncs before it replies, batching the writes of one event loop turn). All nodes of a local
 * topology share one machine, so replicas do not survive a power loss that the masters do not:
 * only an fsync before the acknowledgement keeps the standalone store's promise that a PUBACKed
 * message survives one. Without persistence a node keeps nothing on disk but nodes.conf (no RDB,
 * no AOF, and replicas load the master's data without a temp RDB file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { askNode, replyText } from './redis-probe.js';

/** Node timeout of the local cluster: a replica takes over ~2 s after its master died. */
export const NODE_TIMEOUT_MS = 1000;

/** The `redis-server` arguments of a node at `port` keeping its files in `dir`. */
export function redisArgs(port: number, dir: string, persistence: boolean): string[] {
  const disk = persistence
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--appenddirname', 'aof']
    : ['--appendonly', 'no', '--repl-diskless-load', 'on-empty-db'];
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
    '--save', '',
    '--repl-diskless-sync', 'yes',
    '--repl-diskless-sync-delay', '0',
    ...disk,
  ];
}

/** Starts the node's process (stdio ignored: it logs to `dir`/redis.log). */
export async function spawnRedisNode(port: number, dir: string, persistence: boolean): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const child = spawn('redis-server', redisArgs(port, dir, persistence), { stdio: 'ignore' });
  child.on('error', () => undefined); // ENOENT surfaces as an exit (checked by the caller)
  return child;
}

/** Whether the node at `port` answers PING. */
export async function answersPing(port: number): Promise<boolean> {
  const replies = await askNode(port, [['PING']], 500).catch(() => undefined);
  return replyText(replies?.[0]) === 'PONG';
}

/** The last lines of the node's redis.log (why it exited), '' when unreadable. */
export async function redisLogTail(dir: string, lines = 5): Promise<string> {
  const text = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
