/**
 * The Redis nodes of a local topology: started, formed into a cluster the first time (by hand,
 * see `form`; later starts reuse nodes.conf), watched
 * (role, slots, replication link, memory) and restarted when one dies. A master that died is only
 * restarted once the cluster no longer gives it slots (a replica took over), so it rejoins as a
 * replica: restarted first, a master without persistence would come back empty and still owning its
 * slots.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopologyMember, TopologyPlan } from '../../instance/topology-file.js';
import { OpsError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { RedisErrorReply } from '../../storage/redis/cluster-commands.js';
import { askNode, replyText, reportOf, type NodeReport } from './redis-probe.js';
import { answersPing, redisLogTail, spawnRedisNode } from './redis-node.js';

/** One node as the supervisor tracks it. */
interface NodeSlot {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  child?: ChildProcess | undefined;
  state: 'up' | 'down' | 'starting';
  restarts: number;
  startedAt?: string;
  report?: NodeReport;
  /** Its cluster node id, once known (to follow its failover while it is down). */
  id?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until true; false after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** The Redis nodes of one topology. */
export class BackendNodes {
  private readonly slots: NodeSlot[];
  private stopping = false;
  private started = false;
  /** Called when something changed (a member's state or role). */
  onChange: () => void = () => undefined;

  constructor(
    private readonly plan: TopologyPlan,
    private readonly folder: string,
    private readonly log: Logger,
  ) {
    this.slots = plan.backend.nodes.map((n) => ({ name: n.name, port: n.port, dir: join(folder, n.name), state: 'down', restarts: 0 }));
  }

  /** The nodes' ports. */
  get ports(): number[] {
    return this.slots.map((s) => s.port);
  }

  /** Starts every node, forms the cluster the first time, and waits until it is healthy. */
  async start(timeoutMs: number): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.spawn(slot)));
    this.log.info({ nodes: this.slots.length }, 'Redis nodes answer');
    const formed = join(this.folder, 'formed');
    if (!existsSync(formed)) {
      await this.form();
      await writeFile(formed, `${new Date().toISOString()}\n`);
    }
    if (!(await until(() => this.healthy(), timeoutMs, 100))) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `the Redis cluster was not healthy within ${Math.round(timeoutMs / 1000)}s (see ${this.folder}/*/redis.log)` });
    this.started = true;
  }

  /** Starts `slot`'s process and waits until it answers PING; a node that exits first fails the start. */
  private async spawn(slot: NodeSlot): Promise<void> {
    slot.state = 'starting';
    const child = await spawnRedisNode(slot.port, slot.dir, this.plan.persistence);
    slot.child = child;
    slot.startedAt = new Date().toISOString();
    let exited = false;
    child.once('exit', (code, signal) => {
      exited = true;
      this.exited(slot, child, code, signal);
    });
    const deadline = Date.now() + 10_000;
    let up = false;
    while (!up && !exited && Date.now() < deadline) {
      up = await answersPing(slot.port);
      if (!up) await sleep(50);
    }
    if (!up) {
      const why = (await redisLogTail(slot.dir, 3)).split('\n').filter((l) => l.includes('#') || l.includes('rror')).pop() ?? 'it did not answer PING';
      throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `Redis node ${slot.name} (port ${slot.port}) did not start: ${why.replace(/^\d+:[A-Z] [^*#]*[*#] /, '')}` });
    }
    slot.state = 'up';
    this.onChange();
  }

  /**
   * Forms the cluster by hand: unique config epochs, the first `partitions` nodes get equal slot
   * ranges, every node meets the first, then each other node replicates master `i % partitions`.
   * (`redis-cli --cluster create` refuses fewer than 3 masters; AIO's default is 2 partitions.)
   */
  private async form(): Promise<void> {
    const partitions = this.plan.backend.partitions;
    const ids: string[] = [];
    for (const [i, slot] of this.slots.entries()) {
      const [id] = await askNode(slot.port, [['CLUSTER', 'MYID']]);
      const text = replyText(id);
      if (text === undefined || !/^[0-9a-f]{40}$/.test(text)) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `Redis node ${slot.name} gave no node id` });
      ids.push(text);
      slot.id = text;
      await this.must(slot, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
      if (i < partitions) {
        const first = Math.floor((16384 * i) / partitions);
        const last = Math.floor((16384 * (i + 1)) / partitions) - 1;
        await this.must(slot, ['CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)]);
      }
    }
    const [head] = this.slots;
    if (head === undefined) return;
    for (const other of this.slots.slice(1)) await this.must(head, ['CLUSTER', 'MEET', '127.0.0.1', String(other.port)]);
    const n = this.slots.length;
    const met = await until(async () => (await Promise.all(this.slots.map((s) => reportOf(s.port)))).every((r) => r.knownNodes === n && r.nodes.every((l) => !l.flags.includes('handshake'))), 15_000);
    if (!met) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: 'the Redis nodes did not all meet within 15 s' });
    for (const [i, slot] of this.slots.entries()) {
      if (i < partitions) continue;
      const master = ids[i % partitions] ?? '';
      const done = await until(async () => {
        await this.must(slot, ['CLUSTER', 'REPLICATE', master]);
        return true;
      }, 10_000, 200);
      if (!done) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `Redis node ${slot.name} could not replicate ${this.slots[i % partitions]?.name ?? '?'}` });
    }
  }

  /** Runs one command on `slot`; an error reply rejects. */
  private async must(slot: NodeSlot, command: readonly string[]): Promise<void> {
    const [reply] = await askNode(slot.port, [command], 5000);
    if (reply instanceof RedisErrorReply) throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `Redis node ${slot.name}: ${command.slice(0, 2).join(' ')}: ${reply.message}` });
  }

  /** Every node sees the cluster ok, all slots, all nodes; masters have their replicas online, replicas their link up. */
  async healthy(): Promise<boolean> {
    const reports = await Promise.all(this.slots.map((s) => reportOf(s.port)));
    const n = this.slots.length;
    const wanted = this.plan.backend.redundancyFactor - 1;
    reports.forEach((r, i) => this.record(this.slots[i], r));
    return reports.every((r) => r.clusterOk && r.slotsOk === 16384 && r.knownNodes === n && (r.role === 'master' ? r.slots === 0 || r.replicasOnline >= wanted : r.link === 'up'));
  }

  private record(slot: NodeSlot | undefined, report: NodeReport): void {
    if (slot === undefined) return;
    slot.report = report;
    if (report.id !== '') slot.id = report.id;
  }

  /** Refreshes every running node's report (roles change on failover). */
  async poll(): Promise<void> {
    await Promise.all(
      this.slots
        .filter((s) => s.state === 'up')
        .map(async (s) => {
          const report = await reportOf(s.port).catch(() => undefined);
          if (report !== undefined) this.record(s, report);
        }),
    );
  }

  private exited(slot: NodeSlot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    slot.state = 'down';
    this.onChange();
    if (this.stopping || !this.started) return;
    this.log.warn({ member: slot.name, port: slot.port, code, signal, role: slot.report?.role }, 'Redis node exited; restarting it');
    void this.restart(slot);
  }

  /** Restarts `slot` (a former master once its slots moved to a replica, at most 15 s later). */
  private async restart(slot: NodeSlot): Promise<void> {
    if (slot.report?.role === 'master' && (slot.report.slots > 0) && this.plan.backend.redundancyFactor > 1) {
      const moved = await until(() => this.slotsMovedFrom(slot), 15_000, 200);
      if (this.stopping) return;
      if (!moved) this.log.warn({ member: slot.name }, 'no replica took over the master within 15 s; restarting it anyway');
    }
    if (this.stopping) return;
    slot.restarts++;
    await this.spawn(slot).then(
      () => this.log.info({ member: slot.name, port: slot.port, pid: slot.child?.pid, restarts: slot.restarts }, 'Redis node restarted'),
      (err: unknown) => {
        this.log.error({ member: slot.name, err: err instanceof Error ? err.message : String(err) }, 'restarting the Redis node failed; retrying in 1 s');
        if (!this.stopping && slot.child === undefined) setTimeout(() => void this.restart(slot), 1000);
      },
    );
  }

  /** Whether a live node sees `slot` without slots (its partition failed over). */
  private async slotsMovedFrom(slot: NodeSlot): Promise<boolean> {
    const live = this.slots.find((s) => s !== slot && s.state === 'up');
    if (live === undefined || slot.id === undefined) return false;
    const report = await reportOf(live.port);
    const line = report.nodes.find((n) => n.id === slot.id);
    return line !== undefined && line.slots === 0;
  }

  /** The nodes as topology members. */
  members(): TopologyMember[] {
    return this.slots.map((s) => {
      const r = s.report;
      const role = r?.role ?? 'master';
      return {
        kind: 'backend',
        name: s.name,
        pid: s.child?.pid ?? null,
        port: s.port,
        role,
        state: s.state,
        restarts: s.restarts,
        ...(s.startedAt !== undefined && s.state !== 'down' ? { startedAt: s.startedAt } : {}),
        ...(r !== undefined ? { slots: r.slots, memoryBytes: r.memoryBytes } : {}),
        ...(r?.role === 'replica' ? { ...(r.masterPort !== undefined ? { masterPort: r.masterPort } : {}), ...(r.link !== undefined ? { link: r.link } : {}) } : {}),
      };
    });
  }

  /** Stops every node (SIGTERM, SIGKILL after 5 s) and waits until they exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
