/**
 * A cluster frontend's store: {@link RedisBrokerStore} on the Redis Cluster at `--backend`, instead
 * of the level or memory store (no disk buffer either). Writes must reach `redundancyFactor - 1`
 * replicas (`cardinality.backendChain.redundancyFactor`, `WAIT`). Encrypted with AES-256-GCM unless
 * `persistence.encryption.mode` is Disabled, with the instance's store key (`secrets/store.key`, or
 * `OPS_STORE_KEY`): every frontend of one backend must use the same key (`ops create --backend URL
 * --store-key-from <instance>` copies one), a different one is `STO_WRONG_KEY`.
 */
import { formatBackendAddress, type BackendAddress } from '../config/backend-address.js';
import type { DeploymentSettings } from '../config/split.js';
import type { InstancePaths } from '../instance/layout.js';
import { loadStoreKey, STORE_KEY_ENV } from '../instance/store-key.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { RedisClusterClient } from '../storage/redis/cluster-client.js';
import { RedisBrokerStore } from '../storage/redis/redis-broker-store.js';
import { parseQuantity } from '../config/quantity.js';
import type { PersistenceInfo } from './open-store.js';

/** AIO's default `redundancyFactor` when the deployment has no `cardinality`. */
const DEFAULT_REDUNDANCY_FACTOR = 2;

/** How long a durable write waits for its replicas (`WAIT` timeout). */
export const BACKEND_WAIT_TIMEOUT_MS = 1000;

/** An opened backend: the client (owned by the store: closing the store closes it) and the store. */
export interface BackendStore {
  readonly client: RedisClusterClient;
  readonly store: RedisBrokerStore;
  readonly info: PersistenceInfo;
}

/** Replicas a durable write must reach: `redundancyFactor - 1`. */
export function backendReplicas(deployment: DeploymentSettings): number {
  const rf = deployment.cardinality?.backendChain.redundancyFactor ?? DEFAULT_REDUNDANCY_FACTOR;
  return Math.max(0, rf - 1);
}

/** The persistence facts of a frontend: its store is durable, encrypted per the deployment. */
export function backendPersistenceInfo(deployment: DeploymentSettings): PersistenceInfo {
  const maxSize = deployment.persistence?.maxSize;
  const encrypted = deployment.persistence?.encryption?.mode !== 'Disabled';
  return { enabled: true, encryption: encrypted ? 'Enabled' : 'Disabled', maxSizeBytes: maxSize === undefined ? null : (parseQuantity(maxSize) ?? null) };
}

/**
 * Connects to the backend and opens the store. Throws (logged first) `STO_BACKEND_UNAVAILABLE`
 * naming the seeds when none answers, `STO_OPEN_FAILED` when the store cannot be opened on it,
 * `STO_WRONG_KEY` when the key is missing or not the backend's. Nothing stays open on failure.
 */
export async function openBackendStore(
  paths: InstancePaths,
  deployment: DeploymentSettings,
  backend: BackendAddress,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<BackendStore> {
  const name = formatBackendAddress(backend);
  const info = backendPersistenceInfo(deployment);
  const replicas = backendReplicas(deployment);
  try {
    const key = info.encryption === 'Enabled' ? await loadStoreKey(paths.storeKey, name, env) : undefined;
    // Degraded mode: a partition short of replicas keeps serving (flagged in the log, stats and metrics).
    const client = await RedisClusterClient.connect({ seeds: backend.seeds, replicas, waitTimeoutMs: BACKEND_WAIT_TIMEOUT_MS, degradedMode: { logger } });
    const store = await RedisBrokerStore.open({ commands: client, name, ...(key ? { encryptionKey: key.key } : {}), maxSizeBytes: info.maxSizeBytes ?? undefined, logger });
    logger.info(
      { backend: name, masters: client.masters.length, replicas, encryption: store.encryption, key: key === undefined ? 'none' : key.source === 'env' ? STORE_KEY_ENV : paths.storeKey },
      'store open',
    );
    return { client, store, info };
  } catch (err) {
    const error = err instanceof OpsError ? err : new OpsError('STO_OPEN_FAILED', { path: name, reason: reasonOf(err) }, { cause: err });
    logger.error({ code: error.code, backend: name }, error.message);
    throw error;
  }
}
