/**
 * A local topology (`ops create --backend local`, issue 16): the plan `topology.json` written once
 * at create (the Redis ports, the frontend cardinality), and `topology-status.json` that the
 * supervisor rewrites whenever a member changes (pids, roles, states, restarts). Each frontend is a
 * normal instance folder under `members/<name>/`; each Redis node keeps its files (nodes.conf,
 * AOF, redis.log) under `backend/<name>/`.
 */
import { join } from 'node:path';
import { isRecord } from '../shared/plain-objects.js';
import { OpsError } from '../shared/errors.js';
import { readJsonFile, writeFileOnce, writeJsonAtomic } from './files.js';
import { pathsOfDir, type InstancePaths } from './layout.js';

/** Format version of topology.json and topology-status.json. */
export const TOPOLOGY_VERSION = 1;

/** One Redis node of the plan. */
export interface PlannedNode {
  /** `redis-<i>`: the first `partitions` nodes are the initial masters. */
  readonly name: string;
  /** Its client port (below 32768; its cluster bus port is port + 10000). */
  readonly port: number;
}

/** topology.json: what `ops create --backend local` planned, read at every supervisor start. */
export interface TopologyPlan {
  readonly version: typeof TOPOLOGY_VERSION;
  /** `cardinality.frontend`: replicas × workers frontend processes. */
  readonly frontend: { readonly replicas: number; readonly workers: number };
  /** `cardinality.backendChain`: partitions masters, each with redundancyFactor − 1 replicas. */
  readonly backend: { readonly partitions: number; readonly redundancyFactor: number; readonly nodes: readonly PlannedNode[] };
  /** Persistence enabled: the nodes write an AOF (appendfsync always); otherwise nothing on disk. */
  readonly persistence: boolean;
}

/** What a member is. */
export type MemberKind = 'frontend' | 'backend';
/** A frontend, or a Redis node's replication role. */
export type MemberRole = 'frontend' | 'master' | 'replica';
/** Whether a member runs. */
export type MemberState = 'up' | 'down' | 'starting';

/** One member as the supervisor last saw it. */
export interface TopologyMember {
  readonly kind: MemberKind;
  readonly name: string;
  readonly pid: number | null;
  /** The MQTT port (frontends share the listener's) or the Redis port. */
  readonly port: number;
  readonly role: MemberRole;
  readonly state: MemberState;
  /** Times the supervisor restarted it since the topology started. */
  readonly restarts: number;
  /** When the current process started (ISO time), when it runs. */
  readonly startedAt?: string;
  /** A frontend's instance folder. */
  readonly dir?: string;
  /** A frontend's admin socket and Prometheus port (each its own). */
  readonly adminSocket?: string;
  readonly metricsPort?: number | null;
  /** A Redis node's slot count (masters) and, for a replica, its master's port and link state. */
  readonly slots?: number;
  readonly masterPort?: number;
  readonly link?: 'up' | 'down';
  /** A Redis node's `used_memory` in bytes. */
  readonly memoryBytes?: number;
}

/** topology-status.json. */
export interface TopologyStatus {
  readonly version: typeof TOPOLOGY_VERSION;
  /** The supervisor's pid. */
  readonly pid: number;
  readonly state: 'starting' | 'ready' | 'stopping' | 'failed';
  /** Why a start failed (state `failed`). */
  readonly error?: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly members: readonly TopologyMember[];
}

/** The topology files of an instance. */
export interface TopologyPaths {
  readonly plan: string;
  readonly status: string;
  /** `members/`: one instance folder per frontend. */
  readonly members: string;
  /** `backend/`: one folder per Redis node. */
  readonly backend: string;
}

/** The topology files under an instance folder. */
export function topologyPaths(paths: InstancePaths): TopologyPaths {
  return { plan: join(paths.dir, 'topology.json'), status: join(paths.dir, 'topology-status.json'), members: join(paths.dir, 'members'), backend: join(paths.dir, 'backend') };
}

/** The instance paths of frontend member `name`. */
export function memberPaths(paths: InstancePaths, name: string): InstancePaths {
  return pathsOfDir(join(topologyPaths(paths).members, name), paths.home, name);
}

/** `frontend-<replica>-<worker>` for every frontend of the plan, in order. */
export function frontendNames(plan: TopologyPlan): string[] {
  const names: string[] = [];
  for (let r = 0; r < plan.frontend.replicas; r++) for (let w = 0; w < plan.frontend.workers; w++) names.push(`frontend-${r}-${w}`);
  return names;
}

/** Writes topology.json once (read-only). */
export async function writeTopologyPlan(path: string, plan: TopologyPlan): Promise<void> {
  await writeFileOnce(path, `${JSON.stringify(plan, null, 2)}\n`, 0o444);
}

const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

/** Reads topology.json: undefined when absent (not a local topology); `INST_CORRUPT` when malformed. */
export async function readTopologyPlan(path: string): Promise<TopologyPlan | undefined> {
  const raw = await readJsonFile(path);
  if (raw === undefined) return undefined;
  const bad = (reason: string): never => {
    throw new OpsError('INST_CORRUPT', { path, reason });
  };
  if (!isRecord(raw) || raw['version'] !== TOPOLOGY_VERSION) return bad(`not a topology of format ${TOPOLOGY_VERSION}`);
  const { frontend, backend, persistence } = raw;
  if (!isRecord(frontend) || !isCount(frontend['replicas'], 16) || !isCount(frontend['workers'], 16)) return bad('frontend must be { replicas, workers } of 1-16');
  if (!isRecord(backend) || !isCount(backend['partitions'], 16) || !isCount(backend['redundancyFactor'], 5)) return bad('backend must be { partitions 1-16, redundancyFactor 1-5, nodes }');
  const nodes = backend['nodes'];
  if (!Array.isArray(nodes) || nodes.length !== backend['partitions'] * backend['redundancyFactor']) return bad('backend.nodes must list partitions × redundancyFactor nodes');
  const parsed: PlannedNode[] = nodes.map((n: unknown, i) => (isRecord(n) && isPort(n['port']) && n['name'] === `redis-${i}` ? { name: n['name'], port: n['port'] } : bad(`backend.nodes[${i}] must be { name: redis-${i}, port }`)));
  if (typeof persistence !== 'boolean') return bad('persistence must be true or false');
  return {
    version: TOPOLOGY_VERSION,
    frontend: { replicas: frontend['replicas'], workers: frontend['workers'] },
    backend: { partitions: backend['partitions'], redundancyFactor: backend['redundancyFactor'], nodes: parsed },
    persistence,
  };
}

/** Writes topology-status.json atomically (readable by the CLI). */
export async function writeTopologyStatus(path: string, status: TopologyStatus): Promise<void> {
  await writeJsonAtomic(path, status, 0o644);
}

/** Reads topology-status.json; undefined when absent or not one (it is only ever a report). */
export async function readTopologyStatus(path: string): Promise<TopologyStatus | undefined> {
  const raw = await readJsonFile(path).catch(() => undefined);
  if (!isRecord(raw) || raw['version'] !== TOPOLOGY_VERSION || typeof raw['pid'] !== 'number' || !Array.isArray(raw['members'])) return undefined;
  return raw as unknown as TopologyStatus;
}
