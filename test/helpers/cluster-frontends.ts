/**
 * e2e helper for cluster mode: a Redis Cluster (test/helpers/redis-cluster.ts) and N real
 * `ops-broker` frontend processes on it, each created by the real `ops` CLI (`ops create --backend
 * redis://... --port 0 --secure-port 0`) in one temp OPS_HOME, all with the first frontend's store key
 * (`--store-key-from`). Every broker is stopped by stop(), and SIGKILLed at the latest when the test
 * process exits (they are detached, so they would outlive it); the cluster's nodes likewise.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeOpsHome, portOf, type OpsHome } from './cli-ops.js';
import { startRedisCluster, waitUntil, type RedisTestCluster } from './redis-cluster.js';
import { isProcessAlive } from '../../src/instance/status-file.js';

/** One frontend process. */
export interface FrontendProcess {
  /** Its instance name (`f1`, `f2`, ...). */
  readonly name: string;
  /** Its plain MQTT port (listener `default-insecure`). */
  readonly port: number;
  readonly pid: number;
  /** SIGKILLs the process and waits until it is gone. */
  kill9(): Promise<void>;
  /** `ops broker stop` (graceful). */
  stop(): Promise<void>;
}

/** The cluster and its frontends. */
export interface ClusterFrontends {
  readonly redis: RedisTestCluster;
  /** The OPS_HOME holding the frontends' instances (run more `ops` commands with it). */
  readonly home: OpsHome;
  /** `redis://...` of the cluster (every node as a seed). */
  readonly backend: string;
  readonly frontends: readonly FrontendProcess[];
  /** The Broker config file every frontend was created with (for more `ops create` runs). */
  readonly configFile: string;
  /** Stops every broker under the home, removes it, then stops the cluster. */
  stop(): Promise<void>;
}

/** What to start. */
export interface FrontendsOptions {
  /** Frontend processes; default 3. */
  readonly frontends?: number;
  /** Redis masters; default 3. */
  readonly masters?: number;
  /** Replicas per master, 1-4 (the deployment's redundancyFactor is this + 1); default 1. */
  readonly replicasPerMaster?: number;
  /** The Broker's `persistence` block (schema-valid), e.g. `{ maxSize: '200M', encryption: { mode: 'Disabled' } }`. */
  readonly persistence?: Record<string, unknown>;
  /** Frontend log level; default warn. */
  readonly logLevel?: 'warn' | 'info';
}

const started = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** What `ops create -o json` prints (the parts used here). */
interface Created {
  readonly pid: number;
  readonly ports: ReadonlyArray<{ listener: string; port: number }>;
}

/** Starts a Redis Cluster and `frontends` ops-broker processes on it. */
export async function startFrontends(options: FrontendsOptions = {}): Promise<ClusterFrontends> {
  installExitHook();
  const count = options.frontends ?? 3;
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (replicasPerMaster < 1 || replicasPerMaster > 4) throw new RangeError('replicasPerMaster must be 1-4 (redundancyFactor 2-5)');
  const redis = await startRedisCluster({ masters, replicasPerMaster });
  let home: OpsHome | undefined;
  const pids: number[] = [];
  try {
    home = await makeOpsHome();
    const h = home;
    const backend = `redis://${redis.seeds.join(',')}`;
    const config = {
      cardinality: {
        backendChain: { partitions: masters, redundancyFactor: replicasPerMaster + 1, workers: 1 },
        frontend: { replicas: count, workers: 1 },
      },
      diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: options.logLevel ?? 'warn' } },
      ...(options.persistence !== undefined ? { persistence: options.persistence } : {}),
    };
    const configFile = join(h.home, 'frontend-broker.json');
    await writeFile(configFile, JSON.stringify(config));
    const createFrontend = async (i: number): Promise<FrontendProcess> => {
      const name = `f${i}`;
      const keyFrom = i === 1 ? [] : ['--store-key-from', 'f1'];
      const created = await h.json<Created>('create', '--instance', name, '--port', '0', '--secure-port', '0', '--broker-config-file', configFile, '--backend', backend, ...keyFrom);
      started.add(created.pid);
      pids.push(created.pid);
      const pid = created.pid;
      return {
        name,
        port: portOf(created),
        pid,
        kill9: async () => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await waitUntil(`frontend ${name} (pid ${pid}) to exit`, () => Promise.resolve(!isProcessAlive(pid)), 10_000);
          started.delete(pid);
        },
        stop: async () => {
          const r = await h.ops('broker', 'stop', '--instance', name);
          if (r.exitCode !== 0) throw new Error(`ops broker stop --instance ${name} failed (${r.exitCode}): ${r.stderr}`);
          started.delete(pid);
        },
      };
    };
    // f1 first (it makes the store key and the store on the backend), then the others at once.
    const first = await createFrontend(1);
    const others = await Promise.all(Array.from({ length: count - 1 }, (_, k) => createFrontend(k + 2)));
    const frontends = [first, ...others];
    return {
      redis,
      home: h,
      backend,
      frontends,
      configFile,
      stop: async () => {
        await h.cleanup();
        for (const pid of pids) started.delete(pid);
        await redis.stop();
      },
    };
  } catch (error) {
    await home?.cleanup();
    await redis.stop();
    throw error;
  }
}
