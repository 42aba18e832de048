/**
 * The frontends of a local topology: `replicas × workers` normal `ops-broker` processes (one
 * instance folder each), forked through Node's `cluster` module with the supervisor as primary.
 * Their MQTT listeners all listen on the topology's ports: the primary holds each listening socket
 * and hands every accepted connection to the next worker in turn (`SCHED_RR`), as a load balancer
 * in front of AIO's frontend pods would. Their admin sockets and Prometheus ports are their own
 * (bound `exclusive`). A frontend that exits is restarted at once (backing off while it keeps dying
 * young).
 */
import cluster, { type Worker } from 'node:cluster';
import { closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstancePaths } from '../../instance/layout.js';
import { openAppendNoFollow } from '../../instance/no-follow.js';
import { readStatusFile, type BrokerStatusFile } from '../../instance/status-file.js';
import type { TopologyMember } from '../../instance/topology-file.js';
import type { Logger } from '../../shared/log.js';
import { SPARE_READY } from './spare-protocol.js';

/** The broker entry script every frontend runs. */
const BROKER_BIN = fileURLToPath(new URL('../../../bin/ops-broker.js', import.meta.url));
/** The entry of a spare (a frontend process loaded ahead of need, see spare-main.ts). */
const SPARE_BIN = fileURLToPath(new URL('../../../bin/ops-broker-spare.js', import.meta.url));
/** A new spare is forked this long after the last one was used (not competing with the restart it serves). */
const SPARE_DELAY_MS = 2000;

/** One frontend as the supervisor tracks it. */
interface FrontendSlot {
  readonly name: string;
  readonly paths: InstancePaths;
  worker?: Worker | undefined;
  state: 'up' | 'down' | 'starting';
  restarts: number;
  startedAt?: string;
  /** Its status.json once it is ready. */
  status?: BrokerStatusFile | undefined;
  /** Exits within 5 s of a start, in a row (backs the restart off). */
  youngDeaths: number;
}

/** The frontends of one topology. */
export class FrontendWorkers {
  private readonly slots: FrontendSlot[];
  private stopping = false;
  private started = false;
  /** Why a frontend failed during the start (the start fails). */
  failure: string | undefined;
  /** Called when something changed. */
  onChange: () => void = () => undefined;
  /** The spare process, and whether it is loaded (said {@link SPARE_READY}). */
  private spare: { worker: Worker; ready: boolean; onExit: () => void } | undefined;
  private spareTimer: NodeJS.Timeout | undefined;

  constructor(
    members: readonly InstancePaths[],
    private readonly log: Logger,
  ) {
    this.slots = members.map((paths) => ({ name: paths.name, paths, state: 'down', restarts: 0, youngDeaths: 0 }));
    cluster.schedulingPolicy = cluster.SCHED_RR;
  }

  /** Forks every frontend. */
  startAll(): void {
    for (const slot of this.slots) this.fork(slot);
  }

  /** Marks the start done: from now on an exit is restarted instead of failing the start; a spare is made ready. */
  markStarted(): void {
    this.started = true;
    this.scheduleSpare(0);
  }

  /** Forks a spare after `delayMs` unless one exists (its output goes to the supervisor's log until it is assigned a member). */
  private scheduleSpare(delayMs: number): void {
    if (this.spare !== undefined || this.spareTimer !== undefined || this.stopping) return;
    this.spareTimer = setTimeout(() => {
      this.spareTimer = undefined;
      if (this.spare !== undefined || this.stopping) return;
      cluster.setupPrimary({ exec: SPARE_BIN, args: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const worker = cluster.fork({ OPS_BROKER_FRONTEND: 'spare' });
      const onExit = (): void => {
        if (this.spare?.worker !== worker) return;
        this.spare = undefined;
        this.scheduleSpare(SPARE_DELAY_MS);
      };
      const spare = { worker, ready: false, onExit };
      this.spare = spare;
      worker.on('message', (message: unknown) => {
        if (message === SPARE_READY) spare.ready = true;
      });
      worker.once('exit', onExit);
    }, delayMs);
    this.spareTimer.unref();
  }

  /** Runs `slot` on the loaded spare when there is one, else forks `ops-broker` for it. */
  private fork(slot: FrontendSlot): void {
    const spare = this.spare;
    let worker: Worker;
    if (spare !== undefined && spare.ready && !spare.worker.isDead()) {
      this.spare = undefined;
      worker = spare.worker;
      worker.off('exit', spare.onExit);
      worker.send({ instanceDir: slot.paths.dir });
      this.scheduleSpare(SPARE_DELAY_MS);
    } else {
      const fd = openAppendNoFollow(slot.paths.log, 0o600);
      try {
        cluster.setupPrimary({ exec: BROKER_BIN, args: ['--instance-dir', slot.paths.dir], stdio: ['ignore', fd, fd, 'ipc'] });
        worker = cluster.fork({ OPS_BROKER_FRONTEND: slot.name });
      } finally {
        closeSync(fd);
      }
    }
    slot.worker = worker;
    slot.state = 'starting';
    slot.status = undefined;
    slot.startedAt = new Date().toISOString();
    worker.once('exit', (code, signal) => this.exited(slot, worker, code, signal));
    this.onChange();
  }

  private exited(slot: FrontendSlot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.state = 'down';
    slot.status = undefined;
    this.onChange();
    if (this.stopping) return;
    if (!this.started) {
      this.failure ??= `frontend ${slot.name} exited during start (${signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`}; see ${slot.paths.log})`;
      return;
    }
    const young = slot.startedAt !== undefined && Date.now() - Date.parse(slot.startedAt) < 5000;
    slot.youngDeaths = young ? slot.youngDeaths + 1 : 0;
    // At once after a death from a long run; 200 ms, 400 ms ... (at most 10 s) while it keeps dying young.
    const delay = slot.youngDeaths === 0 ? 0 : Math.min(100 * 2 ** slot.youngDeaths, 10_000);
    this.log.warn({ member: slot.name, code, signal, restartInMs: delay }, 'frontend exited; restarting it');
    setTimeout(() => {
      if (this.stopping) return;
      slot.restarts++;
      this.fork(slot);
      this.log.info({ member: slot.name, pid: slot.worker?.process.pid, restarts: slot.restarts }, 'frontend restarted');
    }, delay).unref();
  }

  /** Reads each starting frontend's status.json: it is up once the file names its pid. */
  async poll(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        const pid = slot.worker?.process.pid;
        if (pid === undefined) return;
        const status = await readStatusFile(slot.paths.status);
        if (status?.pid !== pid || slot.worker?.process.pid !== pid) return;
        if (slot.state !== 'up') {
          slot.state = 'up';
          slot.status = status;
          this.onChange();
        }
      }),
    );
  }

  /** Whether every frontend is up. */
  get allUp(): boolean {
    return this.slots.every((s) => s.state === 'up');
  }

  /** The first up frontend's status (its ports are the topology's). */
  firstStatus(): BrokerStatusFile | undefined {
    return this.slots.find((s) => s.status !== undefined)?.status;
  }

  /** An up frontend's admin socket (the topology's admin socket forwards to it). */
  liveAdminSocket(): string | undefined {
    return this.slots.find((s) => s.state === 'up')?.status?.adminSocket;
  }

  /** The frontends as topology members. */
  members(): TopologyMember[] {
    return this.slots.map((s) => {
      const mqtt = s.status?.ports.find((p) => p.protocol !== 'WebSockets' && p.tls !== true) ?? s.status?.ports[0];
      return {
        kind: 'frontend',
        name: s.name,
        pid: s.worker?.process.pid ?? null,
        port: mqtt?.port ?? 0,
        role: 'frontend',
        state: s.state,
        restarts: s.restarts,
        ...(s.startedAt !== undefined && s.state !== 'down' ? { startedAt: s.startedAt } : {}),
        dir: s.paths.dir,
        ...(s.status !== undefined ? { adminSocket: s.status.adminSocket, metricsPort: s.status.metricsPort } : {}),
      };
    });
  }

  /** Stops every frontend (SIGTERM: a graceful stop; SIGKILL after 10 s) and waits until they exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.spareTimer !== undefined) clearTimeout(this.spareTimer);
    const spare = this.spare?.worker;
    this.spare = undefined;
    if (spare !== undefined && !spare.isDead()) {
      const gone = new Promise<void>((resolve) => spare.once('exit', () => resolve()));
      spare.process.kill('SIGKILL');
      await gone;
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        if (worker === undefined || worker.isDead()) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.process.kill('SIGTERM');
        const timer = setTimeout(() => worker.process.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
