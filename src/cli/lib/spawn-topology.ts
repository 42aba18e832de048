/**
 * Starting and stopping the supervisor of a local topology (`bin/ops-broker-supervisor.js
 * --instance-dir DIR`), as spawn-broker.ts does for one broker: detached with output appended to
 * broker.log; start returns once the supervisor says every member answers (status.json with its
 * pid) and the topology's first plain MQTT port answers a CONNECT.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstancePaths } from '../../instance/layout.js';
import { isProcessAlive, type BrokerStatusFile } from '../../instance/status-file.js';
import { readTopologyStatus, topologyPaths } from '../../instance/topology-file.js';
import { pollUntil } from './instance.js';
import { runForegroundProcess, startDetachedProcess, stopBroker } from './spawn-broker.js';

/** The supervisor entry script. */
export const SUPERVISOR_BIN = fileURLToPath(new URL('../../../bin/ops-broker-supervisor.js', import.meta.url));

/** Milliseconds a topology start may take: at least 90 s (Redis nodes, the cluster, then the frontends). */
export function topologyStartTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const value = Number(env['OPS_START_TIMEOUT_MS']);
  return Math.max(Number.isFinite(value) && value > 0 ? value : 0, 90_000);
}

/** Whether `pid` still runs a member of a topology (a Redis node or a broker), by its command line. */
function isMemberProcess(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('redis-server') || cmdline.includes('ops-broker');
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every member topology-status.json still names as running (a supervisor that was itself
 * killed leaves its Redis nodes behind; its frontends exit with it).
 */
export async function sweepMembers(paths: InstancePaths): Promise<number> {
  const status = await readTopologyStatus(topologyPaths(paths).status);
  let killed = 0;
  for (const member of status?.members ?? []) {
    if (member.pid === null || !isMemberProcess(member.pid)) continue;
    process.kill(member.pid, 'SIGKILL');
    killed++;
  }
  if (killed > 0) await pollUntil(() => Promise.resolve((status?.members ?? []).every((m) => m.pid === null || !isProcessAlive(m.pid)) ? true : undefined), 5000);
  return killed;
}

/** Stops the supervisor `pid` (admin shutdown, then signals) and whatever member it left. */
export async function stopTopology(paths: InstancePaths, pid: number): Promise<void> {
  try {
    await stopBroker(paths, pid, 40_000);
  } finally {
    await sweepMembers(paths);
  }
}

/** Stops a supervisor that has not finished starting: SIGTERM (it stops its members), SIGKILL after 40 s, then the sweep. */
async function stopStarting(paths: InstancePaths, pid: number): Promise<void> {
  const gone = () => Promise.resolve(isProcessAlive(pid) ? undefined : true);
  if (isProcessAlive(pid)) process.kill(pid, 'SIGTERM');
  if (!(await pollUntil(gone, 40_000)) && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await pollUntil(gone, 3000);
  await sweepMembers(paths);
}

/** Starts the supervisor detached; resolves with the topology's status once every member answers. */
export function startTopologyDetached(paths: InstancePaths, timeoutMs: number, signal?: AbortSignal): Promise<BrokerStatusFile> {
  return startDetachedProcess(paths, timeoutMs, {
    args: [SUPERVISOR_BIN, '--instance-dir', paths.dir],
    ...(signal !== undefined ? { signal } : {}),
    pollMs: 100,
    stop: (pid) => stopStarting(paths, pid),
    exited: () => sweepMembers(paths),
    failedTailLines: 5,
  });
}

/** Runs the supervisor in the foreground with inherited output; resolves with its exit code. */
export function runTopologyForeground(paths: InstancePaths): Promise<number> {
  return runForegroundProcess([SUPERVISOR_BIN, '--instance-dir', paths.dir]);
}
