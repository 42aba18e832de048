/**
 * `ops broker stats --members` of a local topology: one entry per member. Frontends with their own
 * figures (asked of each frontend's admin socket; `stats: null` when it does not answer within 2 s),
 * Redis nodes with what the supervisor last saw (role, slots, replication link, memory); plus the
 * cluster totals the default `stats` prints.
 */
import { callAdmin } from '../../../admin/client.js';
import type { ClusterMemberTotals, StatsResult } from '../../../admin/wire.js';
import type { InstancePaths } from '../../../instance/layout.js';
import { isProcessAlive } from '../../../instance/status-file.js';
import { readTopologyStatus, topologyPaths, type TopologyMember } from '../../../instance/topology-file.js';
import type { ClusterMemberStats } from '../../../admin/wire.js';
import type { CliContext } from '../../context.js';
import { printValue, type Column, type OutputFormat } from '../../lib/output.js';

/** One frontend's own figures (its `stats` cluster member figures, with its uptime). */
export type FrontendFigures = Omit<ClusterMemberStats, 'frontendId' | 'live' | 'at'> & {
  readonly frontendId: string | null;
  readonly uptimeSeconds: number;
};

/** One member in `stats --members`. */
export type MemberStats = Pick<TopologyMember, 'kind' | 'name' | 'pid' | 'port' | 'role' | 'state' | 'restarts' | 'slots' | 'masterPort' | 'link' | 'memoryBytes'> & {
  /** A frontend's figures (null: it did not answer). */
  readonly stats?: FrontendFigures | null;
};

const COLUMNS: readonly Column[] = [
  { header: 'Kind', get: (r) => r['kind'] },
  { header: 'Name', get: (r) => r['name'] },
  { header: 'Role', get: (r) => r['role'] },
  { header: 'State', get: (r) => r['state'] },
  { header: 'Restarts', get: (r) => r['restarts'] },
  { header: 'Clients', get: (r) => (r['stats'] as FrontendFigures | null | undefined)?.connected },
  { header: 'MsgIn', get: (r) => (r['stats'] as FrontendFigures | null | undefined)?.messagesReceived },
  { header: 'MsgOut', get: (r) => (r['stats'] as FrontendFigures | null | undefined)?.messagesSent },
  { header: 'Slots', get: (r) => r['slots'] },
  { header: 'Memory', get: (r) => r['memoryBytes'] },
];

function figuresOf(s: StatsResult): FrontendFigures {
  return {
    frontendId: s.cluster?.frontendId ?? null,
    connected: s.clients.connected,
    sessions: s.clients.sessions,
    subscriptions: s.user.subscriptions,
    messagesReceived: s.messages.received,
    messagesSent: s.messages.sent,
    messagesDropped: s.messages.dropped,
    queued: s.messages.queued,
    uptimeSeconds: s.uptimeSeconds,
  };
}

async function memberStats(m: TopologyMember): Promise<MemberStats> {
  const state = m.pid !== null && !isProcessAlive(m.pid) ? 'down' : m.state;
  const base: MemberStats = {
    kind: m.kind,
    name: m.name,
    pid: m.pid,
    port: m.port,
    role: m.role,
    state,
    restarts: m.restarts,
    ...(m.slots !== undefined ? { slots: m.slots } : {}),
    ...(m.masterPort !== undefined ? { masterPort: m.masterPort } : {}),
    ...(m.link !== undefined ? { link: m.link } : {}),
    ...(m.memoryBytes !== undefined ? { memoryBytes: m.memoryBytes } : {}),
  };
  if (m.kind !== 'frontend') return base;
  if (state !== 'up' || m.adminSocket === undefined) return { ...base, stats: null };
  const stats = (await callAdmin(m.adminSocket, 'stats', undefined, { timeoutMs: 2000 }).catch(() => undefined)) as StatsResult | undefined;
  return { ...base, stats: stats === undefined ? null : figuresOf(stats) };
}

/** Prints per-member stats of the topology at `paths`; `totals` are the cluster totals (from the topology's admin socket). */
export async function printMemberStats(ctx: CliContext, paths: InstancePaths, totals: ClusterMemberTotals | undefined, format: OutputFormat | undefined): Promise<void> {
  const report = await readTopologyStatus(topologyPaths(paths).status);
  const members = await Promise.all((report?.members ?? []).map(memberStats));
  if (format === 'table') return printValue(ctx, members, format, COLUMNS);
  if (format !== undefined) return printValue(ctx, { instance: paths.name, ...(totals !== undefined ? { totals } : {}), members }, format);
  if (totals !== undefined) ctx.stdout.write(`cluster totals: ${totals.frontends} frontends live, ${totals.connected} connected, ${totals.sessions} sessions, ${totals.messagesReceived} in / ${totals.messagesSent} out\n`);
  for (const m of members) {
    const s = m.stats;
    const figures =
      m.kind === 'frontend'
        ? s === null || s === undefined
          ? 'no answer'
          : `${s.connected} connected, ${s.sessions} sessions, ${s.subscriptions} subscriptions, ${s.messagesReceived} in / ${s.messagesSent} out, ${s.queued} queued, up ${s.uptimeSeconds}s`
        : `${m.slots !== undefined ? `${m.slots} slots` : ''}${m.link !== undefined ? `link ${m.link} to ${m.masterPort ?? '?'}` : ''}${m.memoryBytes !== undefined ? `, ${m.memoryBytes} bytes` : ''}`;
    ctx.stdout.write(`  ${m.name.padEnd(14)} ${m.role.padEnd(8)} ${m.state.padEnd(6)} restarts ${m.restarts}: ${figures}\n`);
  }
}
