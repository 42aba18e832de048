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
import { diskBufferFolder, openDiskBuffer, openInstanceStore } from './open-store.js';
import { startStateStore } from '../services/state-store/state-store-service.js';

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
}

/** Starts the broker of the instance at `paths`; `logger` defaults to JSON lines on stdout. */
export async function startInstance(paths: InstancePaths, logger?: LeveledLogger, options: StartOptions = {}): Promise<RunningBroker> {
  assertAdminSocketFits(paths);
  const pid = await readPidFile(paths.pid);
  if (pid !== undefined && pid !== process.pid && isBrokerProcess(pid)) throw new OpsError('INST_RUNNING', { name: paths.name, pid });
  const lock = await readDeploymentLock(paths.lock);
  const deployment = lock.settings as DeploymentSettings;
  const state = await readRuntimeState(paths.runtime);
  const props = assertValid('broker', joinBrokerProperties(deployment, state.broker), paths.lock);
  const connectionLimits = state.limits ?? {};
  const log: LeveledLogger =
    logger ?? pino({ level: props.diagnostics?.logs?.level ?? 'info', base: { instance: paths.name, pid: process.pid } });
  // data/ and the stores in it are never reached through a symbolic link (INST_UNSAFE_PATH)
  for (const folder of [paths.data, paths.store, diskBufferFolder(paths)]) await assertRealFolder(folder);
  await mkdir(paths.data, { recursive: true });

  // The live policy decides, at every decision, what goes to the store (memory store: no effect on durability).
  const policy = new PolicyHolder(props.persistence);
  const { store, info, repair } = await openInstanceStore(paths, deployment, log, process.env, options.repair === true);
  const diskBuffer = await openDiskBuffer(paths, deployment, log);
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
  const stateStore = startStateStore(broker, {
    logger: log,
    persistence: { store, decide: persistStateStoreKey },
    authorize: security.directory.stateStoreAuthorizer((clientId) => broker.identityOf(clientId)),
  });
  // Persisted keys restored before listeners open; a damaged record refuses to start, as above.
  await stateStore.ready.catch(async (err: unknown) => {
    stateStore.stop();
    await broker.close().catch(() => undefined);
    throw err;
  });
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
      stateStore.stop();
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
