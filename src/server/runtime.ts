/**
 * The running instance: owns the runtime state and applies each change request, one at a time, in
 * this order: validate (the pure change of config/changes/ makes the next state, or refuses); for a
 * change of listeners or their security, compile and install the ports' security and open and close
 * ports to match (the live steps that can fail: undone if anything after them fails); write
 * runtime.json atomically; then swap the state and apply the rest of what the change touches:
 * limits, the disconnection of clients whose port security changed, log level, persistence policy,
 * metrics port. Nothing else is recomputed (a persist update touches neither ports nor their
 * security). A refused or failed change leaves runtime.json and the live broker as they were.
 *
 * On a cluster frontend (docs/cluster.md, the config channel), a change whose cluster-wide part
 * (config/shared-runtime.ts) differs is first published as the cluster's next revision; revisions
 * from other frontends are applied through the same steps, queued with the changes, and not
 * published again.
 */
import { topologyOfMemberDir } from '../instance/topology-member.js';
import type { Duplex } from 'node:stream';
import type { AdminContext } from '../admin/methods/method-context.js';
import type { ClusterMemberStats, ClusterMemberTotals, ClusterStats, StatsResult, StatusResult } from '../admin/wire.js';
import type { DegradedMaster } from '../storage/redis/degraded-masters.js';
import type { Broker } from '../broker/broker.js';
import type { Touch } from '../config/changes/change.js';
import { applyChange, type ChangeRequest } from '../config/changes/runtime-change.js';
import type { RuntimeState } from '../config/runtime-state.js';
import { joinBrokerProperties, type DeploymentSettings } from '../config/split.js';
import type { LogLevel } from '../config/types.js';
import type { InstancePaths } from '../instance/layout.js';
import { writeRuntimeState } from '../instance/runtime-file.js';
import { writeStatusFile } from '../instance/status-file.js';
import type { PolicyHolder } from '../policy/policy-holder.js';
import type { Logger } from '../shared/log.js';
import type { StoreRepairReport } from '../shared/store-repair.js';
import type { StoreUsage } from '../storage/broker-store.js';
import { diskUsage } from './disk.js';
import { ListenerManager, type PortOrigin } from './listeners.js';
import { startMetricsServer, type MetricSample, type MetricsServer } from './metrics.js';
import type { PortSecurityTable } from './security.js';
import type { PersistenceInfo } from './open-store.js';
import type { BackendAddress } from '../config/backend-address.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { sameShared, sharedPartOf, touchesBetween, withShared, type SharedRuntime } from '../config/shared-runtime.js';
import type { ConfigRevision } from '../cluster/config-codec.js';
import { assertValid } from '../config/validate.js';

/** A logger whose level can change (pino's is a settable property). */
export interface LeveledLogger extends Logger {
  level: string;
}

/**
 * A cluster's config channel (cluster/config-sync.ts), as the runtime uses it: a change made here
 * whose shared part differs is published as the next revision before it is applied here.
 */
export interface ConfigChannel {
  /** Publishes `shared` as revision `base + 1`: the new revision, or undefined when the cluster is past `base`. */
  publish(base: number, shared: SharedRuntime): Promise<number | undefined>;
  /** The cluster's latest revision (undefined when none was published). */
  latest(): Promise<ConfigRevision | undefined>;
  /** Revisions this frontend refused, and change stream entries that were not revisions (stats). */
  stats(): { readonly refused: number; readonly badEntries: number };
}

/** A change redone on newer cluster settings this many times without publishing is refused. */
const MAX_PUBLISH_ATTEMPTS = 5;

/** Default Prometheus port, as AIO. */
export const DEFAULT_METRICS_PORT = 9600;

/** Everything the runtime is built from. */
export interface RuntimeDeps {
  readonly paths: InstancePaths;
  readonly deployment: DeploymentSettings;
  readonly state: RuntimeState;
  readonly broker: Broker;
  /** The live persistence policy (the engine's persistence decisions read it). */
  readonly policy: PolicyHolder;
  /** Whether the store is on disk, encrypted, and its size limit. */
  /** The state store served by this broker (stats: key count). */
  readonly stateStore: {
    readonly keyCount: number;
    /** Cluster mode: whether this frontend runs the cluster's state store. */
    readonly leading?: boolean;
  };
  readonly persistence: PersistenceInfo;
  /** The store was opened with `--repair`: what was found and lost (written into status.json). */
  readonly storeRepair?: StoreRepairReport;
  /** A cluster frontend: its backend, and its id (stats). */
  readonly cluster?: {
    readonly backend: BackendAddress;
    readonly frontendId: string;
    /** Backend partitions in degraded mode (the client's view). */
    readonly degraded: () => readonly DegradedMaster[];
    /** Every frontend's figures and the totals (read from the backend). */
    readonly members?: () => Promise<{ members: ClusterMemberStats[]; totals: ClusterMemberTotals }>;
  };
  readonly logger: LeveledLogger;
  /** Per-port authentication and authorization, recompiled at each change of listeners or their security. */
  readonly security: PortSecurityTable;
  readonly shutdown: () => void;
}

const levelOf = (s: RuntimeState): LogLevel => s.broker.diagnostics?.logs?.level ?? 'info';
const metricsPortOf = (s: RuntimeState): number => s.broker.diagnostics?.metrics?.prometheusPort ?? DEFAULT_METRICS_PORT;
const persistenceOf = (d: DeploymentSettings, s: RuntimeState) => joinBrokerProperties(d, s.broker).persistence;

/** The live instance; implements the admin methods' context. */
export class InstanceRuntime implements AdminContext {
  readonly instance: string;
  readonly topologyInstance?: string;
  readonly deployment: DeploymentSettings;
  readonly policy: PolicyHolder;
  readonly backend?: BackendAddress;
  readonly listeners: ListenerManager;
  readonly startedAt = new Date();
  #state: RuntimeState;
  #metrics: MetricsServer | undefined;
  #metricsError: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #channel: ConfigChannel | undefined;
  /** The cluster config revision this state is at (0: none yet, or standalone). */
  #revision = 0;

  constructor(private readonly deps: RuntimeDeps) {
    this.instance = deps.paths.name;
    const topology = topologyOfMemberDir(deps.paths.dir);
    if (topology !== undefined) this.topologyInstance = topology;
    this.deployment = deps.deployment;
    this.#state = deps.state;
    this.policy = deps.policy;
    if (deps.cluster !== undefined) this.backend = deps.cluster.backend;
    const attach = (stream: Duplex, o: PortOrigin): void => {
      const hooks = deps.security.hooksOf(o.listener, o.port);
      deps.broker.attach(stream, {
        ...(hooks !== undefined ? { hooks } : {}),
        info: {
          listener: o.listener,
          port: o.port,
          ...(o.remoteAddress !== undefined ? { remoteAddress: o.remoteAddress } : {}),
          ...(o.clientCertificate !== undefined ? { clientCertificate: o.clientCertificate } : {}),
        },
      });
    };
    this.listeners = new ListenerManager(deps.state.host, attach, deps.logger, deps.paths.secrets);
  }

  /** Opens the stored listeners and the metrics endpoint, then writes status.json. */
  async start(): Promise<void> {
    this.deps.broker.setConnectionLimits(this.#state.limits ?? {});
    this.deps.security.update(this.#state);
    await this.listeners.sync(this.#state.listeners);
    await this.#syncMetrics(metricsPortOf(this.#state));
    await this.writeStatus();
  }

  state(): RuntimeState {
    return this.#state;
  }

  change(request: ChangeRequest): Promise<RuntimeState> {
    return this.#enqueue(() => this.#apply(request));
  }

  /** Runs `step` after every change queued before it (changes and adoptions run one at a time). */
  #enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Joins the cluster's shared settings, before the listeners open: this state is at `revision` (its
   * shared part was adopted at start); when the cluster has none yet (0), this instance's are
   * published as revision 1. From then on, changes are published through `channel`.
   */
  joinClusterConfig(channel: ConfigChannel, revision: number): Promise<void> {
    this.#channel = channel;
    this.#revision = revision;
    return this.#enqueue(async () => {
      if (this.#revision > 0) return;
      const rev = await channel.publish(0, sharedPartOf(this.#state));
      if (rev !== undefined) this.#revision = rev;
      else {
        const latest = await channel.latest();
        if (latest !== undefined) await this.#adopt(latest);
      }
    });
  }

  /**
   * Applies a revision of the cluster's shared settings published by a frontend (this one's are
   * skipped: this state is at or past them), through the same steps as a change; not published again.
   */
  adoptRevision(revision: ConfigRevision): Promise<void> {
    return this.#enqueue(() => this.#adopt(revision));
  }

  /** The cluster config revision this state is at (0 on a standalone broker). */
  get configRevision(): number {
    return this.#revision;
  }

  async #adopt(revision: ConfigRevision): Promise<void> {
    if (revision.rev <= this.#revision) return;
    const prev = this.#state;
    const next = withShared(prev, revision.shared);
    // The joined Broker document, as at start and at every change (the locked half is this instance's).
    assertValid('broker', joinBrokerProperties(this.deployment, next.broker), `cluster config revision ${revision.rev}`);
    const touches = touchesBetween(prev, next);
    if (touches.size > 0) await this.#commit(prev, next, touches);
    this.#revision = revision.rev;
    if (touches.size > 0) this.deps.logger.info({ rev: revision.rev, origin: revision.origin, touches: [...touches] }, 'cluster settings applied');
  }

  /**
   * A change: made on the current state; on a cluster frontend, when its shared part differs, it is
   * published as the next revision first (a newer revision found there is applied and the change
   * made again on it), so a refused publication changes nothing anywhere.
   */
  async #apply(request: ChangeRequest): Promise<RuntimeState> {
    for (let attempt = 1; ; attempt++) {
      const prev = this.#state;
      const { state: next, touches } = applyChange(prev, request, { deployment: this.deployment, instance: this.instance });
      const channel = this.#channel;
      const shared = sharedPartOf(next);
      if (channel === undefined || sameShared(shared, sharedPartOf(prev))) {
        await this.#commit(prev, next, touches);
        return next;
      }
      const rev = await channel.publish(this.#revision, shared);
      if (rev !== undefined) {
        // Published: the other frontends apply it; here it is applied now (if that fails, the tail applies it again).
        await this.#commit(prev, next, touches);
        this.#revision = Math.max(this.#revision, rev);
        return next;
      }
      const latest = await channel.latest();
      if (latest === undefined || attempt >= MAX_PUBLISH_ATTEMPTS) {
        throw new OpsError('STO_WRITE_FAILED', { path: 'cfg:{config}', reason: 'the cluster\'s settings kept changing meanwhile; try again' });
      }
      await this.#adopt(latest);
    }
  }

  /** Makes `next` live: the steps of the module comment after validation. */
  async #commit(prev: RuntimeState, next: RuntimeState, touches: ReadonlySet<Touch>): Promise<void> {
    const changedPorts = await this.#prepare(prev, next, touches);
    this.#state = next;
    if (touches.has('limits')) this.deps.broker.setConnectionLimits(next.limits ?? {}); // open connections are not affected
    this.#dropChanged(changedPorts);
    if (touches.has('logLevel')) this.deps.logger.level = levelOf(next);
    if (touches.has('persistence')) this.#replacePolicy(prev, next);
    const metricsMoved = touches.has('metrics') && metricsPortOf(next) !== metricsPortOf(prev);
    if (metricsMoved) await this.#syncMetrics(metricsPortOf(next));
    if (touches.has('listeners') || metricsMoved) await this.writeStatus();
  }

  /**
   * The steps before the swap: the ports' security compiled first (so a port this change opens never
   * serves a client without its rules) and the ports opened and closed to match, when the change
   * touches them; then runtime.json written. Undoes its live steps when a later one fails.
   * @returns the `listener:port` keys whose security changed.
   */
  async #prepare(prev: RuntimeState, next: RuntimeState, touches: ReadonlySet<Touch>): Promise<string[]> {
    const security = touches.has('security') || touches.has('listeners');
    const changed = security ? this.deps.security.update(next) : [];
    try {
      if (touches.has('listeners')) await this.listeners.sync(next.listeners);
      try {
        await writeRuntimeState(this.deps.paths.runtime, next);
      } catch (err) {
        if (touches.has('listeners')) await this.listeners.sync(prev.listeners).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      if (security) this.deps.security.update(prev);
      throw err;
    }
    return changed;
  }

  /** Replaces the live policy when the persistence settings changed; sessions follow it at once. */
  #replacePolicy(prev: RuntimeState, next: RuntimeState): void {
    const persistence = persistenceOf(this.deployment, next);
    if (JSON.stringify(persistence) === JSON.stringify(persistenceOf(this.deployment, prev))) return;
    this.policy.replace(persistence);
    const sessionsChanged = this.deps.broker.persistencePolicyChanged();
    this.deps.logger.info({ policyVersion: this.policy.version, sessionsChanged }, 'persistence policy replaced');
  }

  /** AIO disconnects clients when their port's authorization changes: they reconnect under the new rules. */
  #dropChanged(keys: readonly string[]): void {
    for (const key of keys) {
      const at = key.lastIndexOf(':');
      const listener = key.slice(0, at);
      const port = Number(key.slice(at + 1));
      const dropped = this.listeners.dropConnections(listener, port);
      if (dropped > 0) this.deps.logger.info({ listener, port, dropped }, 'security of the port changed: clients disconnected');
    }
  }

  async #syncMetrics(port: number): Promise<void> {
    await this.#metrics?.close();
    this.#metrics = undefined;
    this.#metricsError = undefined;
    try {
      this.#metrics = await startMetricsServer(port, () => this.metricSamples());
      this.deps.logger.info({ port: this.#metrics.port }, 'metrics endpoint open');
    } catch (err) {
      this.#metricsError = metricsFailure(port, err);
      this.deps.logger.warn({ port, err: this.#metricsError }, 'metrics endpoint could not open; continuing without it');
    }
  }

  /** Rewrites status.json (ports may have changed). */
  async writeStatus(): Promise<void> {
    await writeStatusFile(this.deps.paths.status, {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      ports: this.listeners.openPorts(),
      adminSocket: this.deps.paths.socket,
      metricsPort: this.#metrics?.port ?? null,
      ...(this.#metricsError !== undefined ? { metricsError: this.#metricsError } : {}),
      ...(this.deps.storeRepair !== undefined ? { storeRepair: this.deps.storeRepair } : {}),
    });
  }

  status(): StatusResult {
    return {
      instance: this.instance,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      ports: this.listeners.openPorts(),
      skippedPorts: this.listeners.skippedPorts(),
      metricsPort: this.#metrics?.port ?? null,
      ...(this.#metricsError !== undefined ? { metricsError: this.#metricsError } : {}),
      logLevel: levelOf(this.#state),
      policyVersion: this.policy.version,
    };
  }

  async stats(): Promise<StatsResult> {
    const s = this.deps.broker.stats();
    return {
      instance: this.instance,
      uptimeSeconds: s.uptimeSeconds,
      clients: { ...s.clients },
      subscriptions: s.subscriptions,
      retained: s.retained,
      user: { subscriptions: s.subscriptions - s.system.subscriptions, retained: s.retained - s.system.retained },
      system: { ...s.system },
      internalErrors: s.internalErrors,
      messages: { ...s.messages },
      bytes: { ...s.bytes },
      limits: { ...s.limits },
      stateStore: { keys: this.deps.stateStore.keyCount },
      disk: { usedBytes: await diskUsage(this.deps.paths.data) },
      persistPolicyVersion: this.policy.version,
      persistence: { ...this.deps.persistence },
      store: storeFigures(this.deps.broker.storeUsage()),
      diskBuffer: this.deps.broker.diskBufferUsage() ?? null,
      ...(this.deps.cluster !== undefined ? { cluster: await this.#clusterStats(this.deps.cluster) } : {}),
    };
  }

  /** A frontend's cluster figures: its identity, and every frontend's figures when the backend answers. */
  async #clusterStats(cluster: NonNullable<RuntimeDeps['cluster']>): Promise<ClusterStats> {
    const config = this.#channel?.stats();
    const identity = {
      frontendId: cluster.frontendId,
      backend: [...cluster.backend.seeds],
      configRevision: this.#revision,
      configRefused: config?.refused ?? 0,
      configBadEntries: config?.badEntries ?? 0,
      stateStoreLeader: this.deps.stateStore.leading === true,
      degradedPartitions: cluster.degraded().map((d) => ({ node: d.node, since: new Date(d.since).toISOString(), replicasInSync: d.replicasInSync, wanted: d.wanted })),
    };
    const all = await cluster.members?.().catch(() => undefined);
    return all === undefined ? identity : { ...identity, members: all.members, totals: all.totals };
  }

  /** The stats as Prometheus samples. */
  async metricSamples(): Promise<MetricSample[]> {
    const s = await this.stats();
    const g = (name: string, help: string, value: number): MetricSample => ({ name: `ops_broker_${name}`, help, type: 'gauge', value });
    const c = (name: string, help: string, value: number): MetricSample => ({ name: `ops_broker_${name}_total`, help, type: 'counter', value });
    return [
      g('uptime_seconds', 'Seconds since the broker started.', s.uptimeSeconds),
      g('clients_connected', 'Connected clients.', s.clients.connected),
      g('sessions', 'Sessions (connected or not).', s.clients.sessions),
      g('sessions_disconnected', 'Sessions whose client is not connected.', s.clients.disconnectedSessions),
      c('connections', 'Connections accepted.', s.clients.totalConnections),
      c('connections_rejected', 'CONNECTs refused.', s.clients.rejectedConnections),
      c('connections_limited', 'Connections refused by the per-address limits.', s.clients.limitedConnections),
      c('authentication_failures', 'CONNECTs refused by authentication or authorization, and failed re-authentications.', s.clients.authenticationFailures),
      c('connects_oversized', 'CONNECTs over the size accepted before authentication.', s.clients.oversizedConnects),
      g('subscriptions', 'Subscriptions across all sessions.', s.subscriptions),
      c('subscriptions_refused', 'Topic filters refused because their session held the most subscriptions allowed.', s.limits.subscriptionsRefused),
      g('partial_packet_bytes', 'Bytes held for packets that started but have not arrived whole.', s.limits.partialPacketBytes),
      c('partial_packet_timeouts', 'Connections closed because a started packet did not arrive whole in time.', s.limits.partialPacketTimeouts),
      c('partial_packets_refused', 'Connections closed because their partial packet went over the broker-wide bound.', s.limits.partialPacketsRefused),
      g('retained_messages', 'Retained messages held ($SYS ones included).', s.retained),
      g('retained_messages_system', 'Of those, retained messages on $ topics (the broker\'s own, $SYS/...).', s.system.retained),
      g('subscriptions_system', 'Of the subscriptions, those of in-process services (the state store).', s.system.subscriptions),
      c('messages_received', 'PUBLISH packets received from clients.', s.messages.received),
      c('messages_sent', 'PUBLISH packets sent to clients.', s.messages.sent),
      c('messages_dropped', 'Messages dropped.', s.messages.dropped),
      c('messages_dropped_queue_full', 'Messages a session dropped at its own queue bound (also in messages_dropped).', s.messages.queueFullDrops),
      c('messages_undeliverable', 'Messages skipped because they cannot be encoded (a bad stored message).', s.messages.undeliverable),
      c('internal_errors', 'Errors inside one client\'s work that were contained (logged; at worst that client disconnected).', s.internalErrors),
      g('messages_queued', 'Messages waiting in session queues.', s.messages.queued),
      g('messages_inflight', 'QoS 1/2 messages sent and not yet acknowledged.', s.messages.inflight),
      c('bytes_received', 'Bytes received from clients.', s.bytes.received),
      c('bytes_sent', 'Bytes sent to clients.', s.bytes.sent),
      g('disk_used_bytes', 'Bytes used by the instance data folder (the store included).', s.disk.usedBytes),
      g('persist_policy_version', 'Version of the live persistence policy.', s.persistPolicyVersion),
      g('persistence_enabled', '1 when the instance stores data on disk (persistence.maxSize set at create).', s.persistence.enabled ? 1 : 0),
      g('persistence_encryption_enabled', '1 when the store is encrypted with AES-256-GCM.', s.persistence.encryption === 'Enabled' ? 1 : 0),
      g('persistence_max_size_bytes', 'persistence.maxSize in bytes (0 without persistence).', s.persistence.maxSizeBytes ?? 0),
      ...(s.cluster !== undefined
        ? [
            g('backend_degraded_partitions', 'Backend partitions (Redis masters) in degraded mode: writes acknowledged with fewer replicas than wanted.', s.cluster.degradedPartitions.length),
            g('cluster_config_revision', 'Revision of the cluster\'s shared runtime settings this frontend is at.', s.cluster.configRevision),
            c('cluster_config_refused', 'Revisions of the cluster\'s shared runtime settings this frontend refused (logged).', s.cluster.configRefused),
          ]
        : []),
    ];
  }

  shutdown(): void {
    this.deps.shutdown();
  }

  /** Closes listeners and the metrics endpoint. */
  async close(): Promise<void> {
    await this.listeners.closeAll();
    await this.#metrics?.close();
  }
}

/** Why the metrics endpoint could not open on `port`, in words a user can act on. */
export function metricsFailure(port: number, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `port ${port} is in use (another instance or program holds it)`;
  if (code === 'EACCES') return `port ${port} may not be opened by this user`;
  return `port ${port} could not be opened (${reasonOf(err)})`;
}

/** The store's size figures for stats (null for a store that reports none, e.g. in memory). */
function storeFigures(usage: StoreUsage | undefined): StatsResult['store'] {
  if (usage === undefined) return null;
  return { usedBytes: usage.usedBytes, limitBytes: usage.limitBytes ?? null, full: usage.full, refusedWrites: usage.refusedWrites };
}
