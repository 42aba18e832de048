/**
 * e2e helper for a local topology (`ops create --backend local`, issue 16): runs the real `ops`
 * binary in a temp OPS_HOME with a longer timeout than cli-ops.ts (a topology starts 10 processes),
 * reads `ops broker status -o json`, and cleans up: `ops delete --yes`, then SIGKILL of every pid
 * the supervisor recorded (also when the test process exits), then the folder.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { OPS_BIN, type OpsRun } from './cli-ops.js';
import { isProcessAlive } from '../../src/instance/status-file.js';

/** One member as `ops broker status -o json` lists it. */
export interface StatusMember {
  readonly kind: 'frontend' | 'backend';
  readonly name: string;
  readonly pid: number | null;
  readonly port: number;
  readonly role: 'frontend' | 'master' | 'replica';
  readonly state: 'up' | 'down' | 'starting';
  readonly restarts: number;
  readonly adminSocket?: string;
  readonly slots?: number;
}

/** `ops broker status -o json` of a topology. */
export interface TopologyStatusOutput {
  readonly running: boolean;
  readonly pid?: number;
  readonly ports: ReadonlyArray<{ listener: string; port: number }>;
  readonly members: readonly StatusMember[];
}

/** A temp OPS_HOME for topologies. */
export interface TopologyHome {
  readonly home: string;
  /** Runs `ops ARGS` (never rejects); `env` is added to the environment. */
  ops(args: readonly string[], env?: Record<string, string>): Promise<OpsRun>;
  /** `ops broker status --instance NAME -o json`. */
  status(instance?: string): Promise<TopologyStatusOutput>;
  /** The supervisor's topology-status.json (what `status` reads, without starting a CLI). */
  report(instance?: string): Promise<TopologyStatusOutput>;
  /** Writes a Broker config with this cardinality (and `extra` Broker properties) and returns its path. */
  config(frontend: { replicas: number; workers: number }, backend: { partitions: number; redundancyFactor: number }, extra?: Record<string, unknown>): Promise<string>;
  /** Deletes every instance, kills whatever a supervisor recorded, removes the folder. */
  cleanup(): Promise<void>;
}

const recorded = new Set<number>();
let hooked = false;

function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Remembers the pids of a status output, so they die with the test process at the latest. */
export function remember(status: { pid?: number; members: readonly StatusMember[] }): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => killAll(recorded));
  }
  if (status.pid !== undefined) recorded.add(status.pid);
  for (const m of status.members) if (m.pid !== null) recorded.add(m.pid);
}

/** Makes a temp OPS_HOME. */
export async function makeTopologyHome(): Promise<TopologyHome> {
  const home = await mkdtemp(join(tmpdir(), 'ops-topo-'));
  const ops = async (args: readonly string[], env: Record<string, string> = {}): Promise<OpsRun> => {
    const r = await execa(process.execPath, [OPS_BIN, ...args], { env: { OPS_HOME: home, NO_COLOR: '1', ...env }, reject: false, stdin: 'ignore', timeout: 150_000 });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const status = async (instance = 'default'): Promise<TopologyStatusOutput> => {
    const r = await ops(['broker', 'status', '--instance', instance, '-o', 'json']);
    if (r.exitCode !== 0) throw new Error(`ops broker status failed (${r.exitCode}): ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as TopologyStatusOutput;
    remember(parsed);
    return parsed;
  };
  const report = async (instance = 'default'): Promise<TopologyStatusOutput> => {
    const raw = JSON.parse(await readFile(join(home, instance, 'topology-status.json'), 'utf8')) as { pid: number; members: StatusMember[] };
    return { running: true, pid: raw.pid, ports: [], members: raw.members };
  };
  const config = async (frontend: { replicas: number; workers: number }, backend: { partitions: number; redundancyFactor: number }, extra: Record<string, unknown> = {}): Promise<string> => {
    const path = join(home, `cluster-${frontend.replicas}x${frontend.workers}-${backend.partitions}x${backend.redundancyFactor}.json`);
    const body = { cardinality: { frontend, backendChain: { ...backend, workers: 1 } }, diagnostics: { logs: { level: 'info' } }, ...extra };
    await writeFile(path, JSON.stringify(body));
    return path;
  };
  const cleanup = async (): Promise<void> => {
    const { readdir } = await import('node:fs/promises');
    for (const name of await readdir(home).catch(() => [])) {
      const text = await readFile(join(home, name, 'topology-status.json'), 'utf8').catch(() => undefined);
      if (text !== undefined) remember(JSON.parse(text) as { pid?: number; members: StatusMember[] });
      if (!name.endsWith('.json')) await ops(['delete', '--instance', name, '--yes']);
    }
    killAll([...recorded].filter((pid) => isProcessAlive(pid)));
    await rm(home, { recursive: true, force: true });
  };
  return { home, ops, status, report, config, cleanup };
}
