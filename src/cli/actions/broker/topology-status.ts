/**
 * `ops broker status` of a local topology: the supervisor's last report (topology-status.json),
 * with every member's pid checked here (a member the supervisor has not yet seen die reads `down`);
 * after a clean stop (no report left), the planned members, all down; after the supervisor was
 * killed, its last report (Redis nodes it left behind keep their pids until `stop`/`start` sweeps
 * them). Read from files rather than asked of the supervisor, so it answers when it is stuck or gone.
 */
import { callAdmin } from '../../../admin/client.js';
import type { StatsResult } from '../../../admin/wire.js';
import type { InstancePaths } from '../../../instance/layout.js';
import { isProcessAlive } from '../../../instance/status-file.js';
import { frontendNames, readTopologyStatus, topologyPaths, type TopologyMember, type TopologyPlan } from '../../../instance/topology-file.js';
import type { CliContext } from '../../context.js';
import type { RunState } from '../../lib/instance.js';
import { printValue, type Column, type OutputFormat } from '../../lib/output.js';
import { portUrl } from './start.js';

/** Columns of `-o table`: one row per member. */
const MEMBER_COLUMNS: readonly Column[] = [
  { header: 'Kind', get: (r) => r['kind'] },
  { header: 'Name', get: (r) => r['name'] },
  { header: 'Pid', get: (r) => r['pid'] },
  { header: 'Port', get: (r) => r['port'] },
  { header: 'Role', get: (r) => r['role'] },
  { header: 'State', get: (r) => r['state'] },
  { header: 'Restarts', get: (r) => r['restarts'] },
  { header: 'Uptime', get: (r) => r['uptimeSeconds'] },
  { header: 'Connections', get: (r) => r['connections'] },
];

/** The planned members, all down (the supervisor is not running). */
function plannedMembers(plan: TopologyPlan, port: number): TopologyMember[] {
  const backend = plan.backend.nodes.map((n, i): TopologyMember => ({ kind: 'backend', name: n.name, pid: null, port: n.port, role: i < plan.backend.partitions ? 'master' : 'replica', state: 'down', restarts: 0 }));
  const frontends = frontendNames(plan).map((name): TopologyMember => ({ kind: 'frontend', name, pid: null, port, role: 'frontend', state: 'down', restarts: 0 }));
  return [...backend, ...frontends];
}

/** A member with its uptime and, for a running frontend, its connected clients (asked of its own admin socket; left out when it does not answer within 2 s). */
async function withLiveFigures(m: TopologyMember): Promise<TopologyMember & { uptimeSeconds?: number; connections?: number }> {
  if (m.state !== 'up') return m;
  const started = m.startedAt === undefined ? NaN : Date.parse(m.startedAt);
  const uptime = Number.isFinite(started) ? { uptimeSeconds: Math.max(0, Math.round((Date.now() - started) / 1000)) } : {};
  if (m.kind !== 'frontend' || m.adminSocket === undefined) return { ...m, ...uptime };
  const stats = (await callAdmin(m.adminSocket, 'stats', undefined, { timeoutMs: 2000 }).catch(() => undefined)) as StatsResult | undefined;
  const connected = stats?.clients.connected;
  return { ...m, ...uptime, ...(typeof connected === 'number' ? { connections: connected } : {}) };
}

/** Prints the topology's status in `format` (human text when undefined). */
export async function printTopologyStatus(ctx: CliContext, paths: InstancePaths, plan: TopologyPlan, state: RunState, format: OutputFormat | undefined): Promise<void> {
  // Read also when the supervisor is not running: members a killed supervisor left behind show up with their pids.
  const report = await readTopologyStatus(topologyPaths(paths).status);
  const ports = state.status?.ports ?? [];
  const mqttPort = ports.find((p) => p.protocol !== 'WebSockets' && p.tls !== true)?.port ?? ports[0]?.port ?? 0;
  const checked = report?.members.map((m) => (m.pid !== null && !isProcessAlive(m.pid) ? { ...m, state: 'down' as const } : m)) ?? plannedMembers(plan, mqttPort);
  const members = await Promise.all(checked.map(withLiveFigures));
  const result = {
    instance: paths.name,
    running: state.running,
    ...(state.pid !== undefined ? { pid: state.pid } : {}),
    dir: paths.dir,
    topology: { state: state.running ? (report?.state ?? 'starting') : report?.state === 'failed' ? 'failed' : 'stopped', frontends: `${plan.frontend.replicas} x ${plan.frontend.workers}`, backend: `${plan.backend.partitions} x ${plan.backend.redundancyFactor}`, persistence: plan.persistence },
    ports,
    members,
  };
  if (format === 'table') return printValue(ctx, members, format, MEMBER_COLUMNS);
  if (format !== undefined) return printValue(ctx, result, format);
  const c = ctx.chalk;
  const up = members.filter((m) => m.state === 'up').length;
  const head = state.running ? c.green(`running (supervisor pid ${state.pid ?? '?'})`) : c.yellow('stopped');
  ctx.stdout.write(`${paths.name}: ${head}, local topology ${result.topology.frontends} frontends, ${result.topology.backend} Redis nodes: ${up} of ${members.length} members up\n`);
  for (const p of ports) ctx.stdout.write(`  listener ${p.listener}: ${portUrl(p)} (shared by the frontends, connections handed out in turn)\n`);
  for (const m of members) {
    const extra = m.kind === 'backend' ? `${m.slots !== undefined ? `, ${m.slots} slots` : ''}${m.link !== undefined ? `, link ${m.link} to ${m.masterPort ?? '?'}` : ''}${m.memoryBytes !== undefined ? `, ${m.memoryBytes} bytes` : ''}` : `${m.connections !== undefined ? `, ${m.connections} connected` : ''}${typeof m.metricsPort === 'number' ? `, metrics ${m.metricsPort}` : ''}`;
    const uptime = m.uptimeSeconds !== undefined ? `, up ${m.uptimeSeconds}s` : '';
    ctx.stdout.write(`  ${m.name.padEnd(14)} ${m.role.padEnd(8)} ${m.state.padEnd(8)} pid ${String(m.pid ?? '-').padEnd(8)} port ${m.port}, restarts ${m.restarts}${uptime}${extra}\n`);
  }
}
