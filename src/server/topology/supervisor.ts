/**
 * The supervisor of a local topology (one process per instance, `bin/ops-broker-supervisor.js`):
 * starts the Redis nodes and forms the cluster, then the frontends; writes topology-status.json
 * whenever a member changes and, once every member answers, broker.pid and status.json (the
 * instance is then "running" for every `ops` command); restarts members that die; stops them all
 * (frontends first, so they leave the cluster while it is up) on SIGTERM or an admin `shutdown`.
 */
import { rm } from 'node:fs/promises';
import type { AdminServer } from '../../admin/server.js';
import { writeFileAtomic } from '../../instance/files.js';
import type { InstancePaths } from '../../instance/layout.js';
import { clearRunFiles, writeStatusFile } from '../../instance/status-file.js';
import { frontendNames, memberPaths, topologyPaths, writeTopologyStatus, type TopologyPlan, type TopologyStatus } from '../../instance/topology-file.js';
import { OpsError, reasonOf } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { BackendNodes } from './backend-nodes.js';
import { FrontendWorkers } from './frontend-workers.js';
import { prepareMember, prepareTopologySecrets } from './member-dirs.js';
import { startTopologyAdmin } from './topology-admin.js';

/** How often frontends are polled (readiness) and the status file refreshed; Redis nodes every 5th time. */
const POLL_MS = 100;

/** A running supervisor. */
export class Supervisor {
  private readonly backend: BackendNodes;
  private readonly frontends: FrontendWorkers;
  private readonly startedAt = new Date().toISOString();
  private state: TopologyStatus['state'] = 'starting';
  private error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private ticking = false;
  private lastWritten = '';
  private writing: Promise<void> = Promise.resolve();
  private admin: AdminServer | undefined;
  private stopping: Promise<void> | undefined;
  private resolveStopped: () => void = () => undefined;
  /** Resolves once the topology has stopped. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly paths: InstancePaths,
    private readonly plan: TopologyPlan,
    private readonly log: Logger,
  ) {
    this.backend = new BackendNodes(plan, topologyPaths(paths).backend, log);
    this.frontends = new FrontendWorkers(
      frontendNames(plan).map((name) => memberPaths(paths, name)),
      log,
    );
    this.backend.onChange = () => this.changed();
    this.frontends.onChange = () => this.changed();
  }

  /** Starts every member; resolves once all answer (`INST_TOPOLOGY_FAILED` otherwise, with everything stopped again by the caller). */
  async start(timeoutMs: number): Promise<void> {
    const began = Date.now();
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    this.changed();
    await this.backend.start(timeoutMs);
    this.log.info({ ms: Date.now() - began, ports: this.backend.ports }, 'Redis cluster healthy');
    await prepareTopologySecrets(this.paths);
    for (const name of frontendNames(this.plan)) await prepareMember(this.paths, memberPaths(this.paths, name), this.backend.ports);
    this.frontends.startAll();
    while (!this.frontends.allUp) {
      if (this.frontends.failure !== undefined) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: this.frontends.failure });
      if (this.stopping !== undefined) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: 'stopped during the start' });
      if (Date.now() - began > timeoutMs) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `the frontends were not all up within ${Math.round(timeoutMs / 1000)}s` });
      await this.frontends.poll();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.frontends.markStarted();
    this.log.info({ ms: Date.now() - began }, 'frontends up');
    this.admin = await startTopologyAdmin(this.paths.socket, () => this.frontends.liveAdminSocket(), () => void this.stop('admin shutdown'), this.log);
    const first = this.frontends.firstStatus();
    await writeStatusFile(this.paths.status, { pid: process.pid, startedAt: this.startedAt, ports: first?.ports ?? [], adminSocket: this.paths.socket, metricsPort: null });
    await writeFileAtomic(this.paths.pid, `${process.pid}\n`, 0o644);
    this.state = 'ready';
    this.changed();
    await this.writing;
    this.log.info({ members: this.plan.backend.nodes.length + frontendNames(this.plan).length, ms: Date.now() - began }, 'topology ready');
  }

  /** Records a failed start (topology-status.json says why until the supervisor exits). */
  failed(err: unknown): void {
    this.state = 'failed';
    this.error = reasonOf(err);
    this.changed();
  }

  /** Frontends every tick (a restarted one is seen up within 100 ms), Redis nodes every 5th; never two ticks at once. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all([this.ticks++ % 5 === 0 ? this.backend.poll() : undefined, this.frontends.poll()]).catch(() => undefined);
      this.changed();
    } finally {
      this.ticking = false;
    }
  }

  /** Writes topology-status.json when what it says changed (writes are chained, never interleaved). */
  private changed(): void {
    const body = { version: 1 as const, pid: process.pid, state: this.state, ...(this.error !== undefined ? { error: this.error } : {}), startedAt: this.startedAt, members: [...this.backend.members(), ...this.frontends.members()] };
    const text = JSON.stringify(body);
    if (text === this.lastWritten) return;
    this.lastWritten = text;
    const status: TopologyStatus = { ...body, updatedAt: new Date().toISOString() };
    this.writing = this.writing.then(() => writeTopologyStatus(topologyPaths(this.paths).status, status)).catch((err: unknown) => this.log.warn({ err: reasonOf(err) }, 'writing topology-status.json failed'));
  }

  /** Stops every member, frontends first; removes the run files. Never rejects. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'stopping the topology');
      if (this.state !== 'failed') this.state = 'stopping';
      this.changed();
      await this.admin?.close().catch(() => undefined);
      await this.frontends.stop().catch((err: unknown) => this.log.warn({ err: reasonOf(err) }, 'stopping the frontends failed'));
      await this.backend.stop().catch((err: unknown) => this.log.warn({ err: reasonOf(err) }, 'stopping the Redis nodes failed'));
      if (this.timer !== undefined) clearInterval(this.timer);
      await this.writing;
      if (this.state !== 'failed') await rm(topologyPaths(this.paths).status, { force: true });
      await clearRunFiles(this.paths);
      this.log.info({}, 'topology stopped');
    })()
      .catch((err: unknown) => this.log.error({ err: reasonOf(err) }, 'stopping failed'))
      .finally(() => this.resolveStopped());
    return this.stopping;
  }
}
