/**
 * Starts a broker for an instance folder: verify the deployment lock, re-validate everything,
 * build the engine, open the admin socket, the listeners and metrics, then write broker.pid and
 * status.json. Returns a handle whose `stop` shuts down in order.
 */
import { mkdir } from 'node:fs/promises';
import { pino } from 'pino';
import { adminMethods } from '../admin/methods/index.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { createBroker, type Broker } from '../broker/broker.js';
import type { ClientLimits, MemoryProfile } from '../broker/broker-options.js';
import { joinBrokerProperties, type DeploymentSettings } from '../config/split.js';
import type { ClientSettings } from '../config/types.js';
import { assertValid } from '../config/validate.js';
import { readDeploymentLock } from '../instance/deployment-lock.js';
import { writeFileAtomic } from '../instance/files.js';
import { assertRealFolder } from '../instance/no-follow.js';
import { readRuntimeState } from '../instance/runtime-file.js';
import { clearRunFiles, isBrokerProcess, readPidFile } from '../instance/status-file.js';
import { persistenceDecisions, stateStoreDecisions } from '../policy/engine-decisions.js';
import { PolicyHolder } from '../policy/policy-holder.js';
import { assertAdminSocketFits, type InstancePaths } from '../instance/layout.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { InstanceRuntime, type LeveledLogger } from './runtime.js';
import { PortSecurityTable } from './security.js';
import type { RemoteSender } from '../broker/hooks.js';
import { diskBufferFolder, openDiskBuffer, openInstanceStore, type InstanceStore } from './open-store.js';
import { startStateStore } from '../services/state-store/state-store-service.js';
import { startStateStoreLeader } from './state-store-leader.js';
import { formatBackendAddress, type BackendAddress } from '../config/backend-address.js';
import { readBackendFile } from '../instance/backend-file.js';
import { startClusterFrontend, type ClusterFrontend } from '../cluster/frontend.js';
import { newFrontendId } from '../cluster/frontend-id.js';
import { ConfigSync, type OpenedConfigSync } from '../cluster/config-sync.js';
import { adoptClusterSettings } from './cluster-settings.js';
import type { Logger } from '../shared/log.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import { openBackendStore, type BackendStore } from './open-backend.js';

/** A started broker process. */
export interface RunningBroker {
  readonly runtime: InstanceRuntime;
  readonly broker: Broker;
  /** Resolves when the broker has fully stopped. */
  readonly stopped: Promise<void>;
  /** Ordered stop: engine (DISCONNECT 0x8B to clients, store closed), listeners and metrics, admin socket, run files. */
  stop(reason: string): Promise<void>;
}

/** Maps `advanced.clients` onto the engine's client limits. */
export function toClientLimits(clients: ClientSettings | undefined): ClientLimits | undefined {
  if (!clients) return undefined;
  const { subscriberQueueLimit, ...rest } = clients;
  const limits: ClientLimits = { ...rest };
  if (subscriberQueueLimit?.length !== undefined) {
    limits.subscriberQueueLimit = { length: subscriberQueueLimit.length, ...(subscriberQueueLimit.strategy ? { strategy: subscriberQueueLimit.strategy } : {}) };
  }
  return limits;
}

/** How the broker process starts. */
export interface StartOptions {
  /** Start on a store whose write-ahead log is damaged with what survived (`--repair`), reporting the loss. */
  readonly repair?: boolean;
  /** `--backend`: run as a cluster frontend on this backend (instead of the instance's backend.json, if any). */
  readonly backend?: BackendAddress;
}

/** The store of a start: the instance's own (level or memory) or, with a backend, the Redis one. */
type OpenedStore = (InstanceStore & { readonly backend?: undefined }) | (BackendStore & { readonly backend: BackendAddress; readonly repair?: undefined });

async function openStore(paths: InstancePaths, deployment: DeploymentSettings, log: Logger, options: StartOptions): Promise<OpenedStore> {
  const backend = options.backend ?? (await readBackendFile(paths.backend));
  if (backend === undefined) return openInstanceStore(paths, deployment, log, process.env, options.repair === true);
  if (options.repair === true) {
    throw new OpsError('CLI_USAGE', { message: '--repair is for the write-ahead log of a standalone store; a cluster frontend (--backend) has none' });
  }
  return { ...(await openBackendStore(paths, deployment, backend, log)), backend };
}

/** Joins the cluster as a frontend; on failure the engine is closed (its store and client with it). */
async function joinCluster(
  broker: Broker,
  opened: BackendStore & { backend: BackendAddress },
  frontendId: string,
  log: Logger,
  security: PortSecurityTable,
): Promise<ClusterFrontend> {
  // A client's identity and port authorization go with its requests to the state store leader.
  const senderOf = (clientId: string): RemoteSender | undefined => {
    const identity = broker.identityOf(clientId);
    return identity === undefined ? undefined : { identity, authorization: security.directory.authorizationOf(identity) };
  };
  try {
    const frontend = await startClusterFrontend({ broker, client: opened.client, store: opened.store, frontendId, logger: log, senderOf });
    log.info({ frontendId, backend: formatBackendAddress(opened.backend) }, 'cluster frontend joined');
    return frontend;
  } catch (err) {
    const code = err instanceof OpsError ? err.code : 'STO_OPEN_FAILED';
    log.error({ code, frontendId, backend: formatBackendAddress(opened.backend) }, `joining the cluster failed: ${reasonOf(err)}`);
    throw err;
  }
}

/** Starts the broker of the instance at `paths`; `logger` defaults to JSON lines on stdout. */
export async function startInstance(paths: InstancePaths, logger?: LeveledLogger, options: StartOptions = {}): Promise<RunningBroker> {
  assertAdminSocketFits(paths);
  const pid = await readPidFile(paths.pid);
  if (pid !== undefined && pid !== process.pid && isBrokerProcess(pid)) throw new OpsError('INST_RUNNING', { name: paths.name, pid });
  const lock = await readDeploymentLock(paths.lock);
  const deployment = lock.settings as DeploymentSettings;
  const stored = await readRuntimeState(paths.runtime);
  const storedProps = assertValid('broker', joinBrokerProperties(deployment, stored.broker), paths.lock);
  const log: LeveledLogger =
    logger ?? pino({ level: storedProps.diagnostics?.logs?.level ?? 'info', base: { instance: paths.name, pid: process.pid } });
  // data/ and the stores in it are never reached through a symbolic link (INST_UNSAFE_PATH)
  for (const folder of [paths.data, paths.store, diskBufferFolder(paths)]) await assertRealFolder(folder);
  await mkdir(paths.data, { recursive: true });

  const opened = await openStore(paths, deployment, log, options);
  const { store, info, repair } = opened;
  // A cluster frontend starts on the cluster's shared runtime settings, before anything reads them
  // (the policy in force decides what the engine restores, and deletes, from the shared store).
  const frontendId = newFrontendId();
  let config: OpenedConfigSync | undefined;
  let state = stored;
  if (opened.backend !== undefined) {
    try {
      config = await ConfigSync.open({ client: opened.client, sealer: opened.store, frontendId, logger: log, onRevision: (revision) => runtime.adoptRevision(revision) });
      state = await adoptClusterSettings(paths, deployment, stored, config.latest, log);
    } catch (err) {
      log.error({ code: err instanceof OpsError ? err.code : 'STO_READ_FAILED', frontendId }, `reading the cluster's runtime settings failed: ${reasonOf(err)}`);
      await store.close().catch(() => undefined);
      throw err;
    }
  }
  const props = state === stored ? storedProps : assertValid('broker', joinBrokerProperties(deployment, state.broker), paths.lock);
  if (state !== stored) log.level = props.diagnostics?.logs?.level ?? 'info';
  const connectionLimits = state.limits ?? {};
  // The live policy decides, at every decision, what goes to the store (memory store: no effect on durability).
  const policy = new PolicyHolder(props.persistence);
  // A cluster frontend keeps no local data: no disk buffer (and no level store).
  let diskBuffer: SpillBuffer | undefined;
  try {
    diskBuffer = opened.backend === undefined ? await openDiskBuffer(paths, deployment, log) : undefined;
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  const clients = toClientLimits(props.advanced?.clients);
  const broker = createBroker({
    name: `ops-broker/${paths.name}`,
    memoryProfile: (props.memoryProfile ?? 'Medium') as MemoryProfile,
    ...(clients ? { clients } : {}),
    connectionLimits,
    logger: log,
    store,
    persistence: persistenceDecisions(policy),
    ...(diskBuffer !== undefined ? { diskBuffer } : {}),
    ...(opened.backend !== undefined ? { clusterMode: true } : {}),
  });
  try {
    await broker.ready; // restore from the store: a damaged record refuses to start (STO_CORRUPT_RECORD)
  } catch (err) {
    const code = err instanceof OpsError ? err.code : 'STO_READ_FAILED';
    log.error({ code, path: paths.store }, reasonOf(err));
    await broker.close().catch(() => undefined);
    throw err;
  }
  // The AIO state store (key-value over MQTT v5 RPC), served by the broker itself.
  const { persistStateStoreKey } = stateStoreDecisions(policy);
  const security = new PortSecurityTable(paths.passwd, log);
  const stateStoreOptions = {
    persistence: { store, decide: persistStateStoreKey },
    authorize: security.directory.stateStoreAuthorizer((clientId) => broker.identityOf(clientId)),
    remoteAuthorizer: (authorization: string) => security.authorizerNamed(authorization),
  };
  let stateStore: { readonly keyCount: number; readonly leading?: boolean; stop(): Promise<void> | void };
  // A cluster frontend joins before its listeners open: a client it accepts is routed cluster-wide.
  let frontend: ClusterFrontend | undefined;
  if (opened.backend === undefined) {
    const service = startStateStore(broker, { logger: log, ...stateStoreOptions });
    stateStore = service;
    // Persisted keys restored before listeners open; a damaged record refuses to start, as above.
    await service.ready.catch(async (err: unknown) => {
      service.stop();
      await broker.close().catch(() => undefined);
      throw err;
    });
  } else {
    const joined = await joinCluster(broker, opened, frontendId, log, security).catch(async (err: unknown) => {
      await broker.close().catch(() => undefined);
      throw err;
    });
    frontend = joined;
    // One state store per cluster: this frontend runs it while it holds the leader lease.
    const leader = startStateStoreLeader({ broker, redis: opened.client, frontendId: joined.id, logger: log, service: stateStoreOptions });
    stateStore = {
      get keyCount() {
        return leader.keyCount;
      },
      get leading() {
        return leader.leading;
      },
      stop: () => leader.close(),
    };
  }
  const joined = frontend;
  const cluster =
    joined !== undefined && opened.backend !== undefined
      ? { frontendId: joined.id, backend: opened.backend, degraded: () => opened.client.degradedMasters(), members: () => joined.members() }
      : undefined;
  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let admin: AdminServer | undefined;
  const runtime: InstanceRuntime = new InstanceRuntime({
    paths,
    deployment,
    state,
    broker,
    policy,
    persistence: info,
    ...(repair !== undefined ? { storeRepair: repair } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    stateStore,
    logger: log,
    security,
    shutdown: () => void stop('admin shutdown'),
  });
  // Called from signals and the admin `shutdown` (fire and forget): it never rejects, and always
  // ends with `stopped` resolved, so a failing step cannot become an unhandled rejection.
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      // The state store first (in cluster mode: the leader lease is given up, another frontend takes over).
      await Promise.resolve(stateStore.stop()).catch((err: unknown) => log.warn({ err: reasonOf(err) }, 'stopping the state store failed'));
      await config?.sync.close().catch(() => undefined);
      // The frontend leaves the cluster first (forwarding, inbox, lease); the store and its client close with the engine.
      await frontend?.close().catch((err: unknown) => log.warn({ err: reasonOf(err) }, 'leaving the cluster failed'));
      // The engine first: DISCONNECT 0x8B to every v5 client [MQTT-3.14.2-1] while its socket is open;
      // then the listeners, which let those sockets flush before destroying them.
      await broker.close().catch(() => undefined);
      await runtime.close().catch(() => undefined);
      await admin?.close().catch(() => undefined);
      await clearRunFiles(paths);
      log.info({}, 'stopped');
    })()
      .catch((err: unknown) => log.error({ err: reasonOf(err) }, 'stopping failed'))
      .finally(() => resolveStopped());
    return stopping;
  };
  try {
    if (config !== undefined) {
      // Revisions published since the start come from the change stream (a cluster without settings yet gets this frontend's).
      await runtime.joinClusterConfig(config.sync, config.latest?.rev ?? 0);
      config.sync.start();
    }
    admin = await startAdminServer(paths.socket, adminMethods(runtime), log);
    await runtime.start();
    await writeFileAtomic(paths.pid, `${process.pid}\n`, 0o644); // replaces, never writes through, a link
  } catch (err) {
    await stop('start failed');
    throw err;
  }
  log.info({ ports: runtime.listeners.openPorts(), socket: paths.socket }, 'ready');
  return { runtime, broker, stopped, stop };
}
