/**
 * Cluster frontends in this process (fast, debuggable; the e2e tests use real processes through
 * test/helpers/cluster-frontends.ts): a Redis Cluster (test/helpers/redis-cluster.ts) and N engines,
 * each with its own backend client and `RedisBrokerStore`, joined with `startClusterFrontend` and
 * listening on a free port.
 */
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/broker/broker.js';
import { PERSIST_EVERYTHING, type PersistenceDecisions } from '../../src/broker/persistence-decisions.js';
import { startClusterFrontend, type ClusterFrontend } from '../../src/cluster/frontend.js';
import { newFrontendId } from '../../src/cluster/frontend-id.js';
import { silentLogger, type Logger } from '../../src/shared/log.js';
import { RedisClusterClient } from '../../src/storage/redis/cluster-client.js';
import { RedisBrokerStore } from '../../src/storage/redis/redis-broker-store.js';
import { startStateStoreLeader, type StateStoreLeader } from '../../src/server/state-store-leader.js';
import { startRedisCluster, type RedisTestCluster } from './redis-cluster.js';

/** One in-process frontend. */
export interface InProcessFrontend {
  readonly broker: Broker;
  readonly frontend: ClusterFrontend;
  readonly store: RedisBrokerStore;
  /** Its backend client (`degradedMasters()`). */
  readonly client: RedisClusterClient;
  readonly port: number;
  /** With `stateStore`: this frontend's part in the state store election. */
  readonly stateStore: StateStoreLeader | undefined;
  /** Leaves the cluster and closes the engine and its store. */
  stop(): Promise<void>;
}

/** A Redis Cluster and its in-process frontends. */
export interface InProcessCluster {
  readonly redis: RedisTestCluster;
  readonly frontends: InProcessFrontend[];
  /** Starts one more frontend on the same backend. */
  addFrontend(): Promise<InProcessFrontend>;
  stop(): Promise<void>;
}

/** What to start. */
export interface InProcessClusterOptions {
  readonly frontends?: number;
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  readonly encryptionKey?: Buffer;
  readonly logger?: Logger;
  /** The engines' persistence decisions; default PERSIST_EVERYTHING. */
  readonly persistence?: PersistenceDecisions;
  /**
   * Runs the state store election on every frontend (as `ops-broker` does), every key persisted to
   * the shared store; lease and renewal times in ms. Absent: no state store.
   */
  readonly stateStore?: { readonly leaseMs: number; readonly renewMs: number };
  /** More engine options for every frontend (authorization hooks, client limits). */
  readonly engine?: Pick<CreateBrokerOptions, 'hooks' | 'clients'>;
  /** The stores' `persistence.maxSize` in bytes (absent: no limit), and how often they read the backend's size. */
  readonly maxSizeBytes?: number;
  readonly usageRefreshMs?: number;
}

/** Starts a Redis Cluster and `frontends` (default 3) engines on it. */
export async function startInProcessCluster(options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
  const replicas = options.replicasPerMaster ?? 1;
  const redis = await startRedisCluster({ masters: options.masters ?? 3, replicasPerMaster: replicas });
  const frontends: InProcessFrontend[] = [];
  const addFrontend = async (): Promise<InProcessFrontend> => {
    const logger = options.logger ?? silentLogger;
    // Degraded mode as open-backend.ts wires it: a partition short of replicas keeps serving, flagged.
    const client = await RedisClusterClient.connect({ seeds: redis.seeds, replicas, waitTimeoutMs: 1000, degradedMode: { logger } });
    const store = await RedisBrokerStore.open({
      commands: client,
      name: 'test-backend',
      ...(options.encryptionKey ? { encryptionKey: options.encryptionKey } : {}),
      maxSizeBytes: options.maxSizeBytes,
      usageRefreshMs: options.usageRefreshMs,
    });
    const broker = createBroker({ ...options.engine, store, clusterMode: true, persistence: options.persistence ?? PERSIST_EVERYTHING, logger, sysIntervalSeconds: 0 });
    await broker.ready;
    const frontend = await startClusterFrontend({ broker, client, store, frontendId: newFrontendId(), logger });
    const ss = options.stateStore;
    const stateStore =
      ss === undefined
        ? undefined
        : startStateStoreLeader({ broker, redis: client, frontendId: frontend.id, logger, leaseMs: ss.leaseMs, renewMs: ss.renewMs, service: { persistence: { store, decide: () => true } } });
    const { port } = await broker.listen({ port: 0 });
    let stopped = false;
    const one: InProcessFrontend = {
      broker,
      frontend,
      store,
      client,
      port,
      stateStore,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stateStore?.close();
        await frontend.close();
        await broker.close();
      },
    };
    frontends.push(one);
    return one;
  };
  try {
    for (let i = 0; i < (options.frontends ?? 3); i++) await addFrontend();
  } catch (error) {
    for (const f of frontends) await f.stop().catch(() => undefined);
    await redis.stop();
    throw error;
  }
  return {
    redis,
    frontends,
    addFrontend,
    stop: async () => {
      for (const f of frontends) await f.stop().catch(() => undefined);
      await redis.stop();
    },
  };
}
