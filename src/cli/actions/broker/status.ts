/** `ops broker status` and `ops broker stats`: live state and figures of the broker. */
import type { StatsResult, StatusResult } from '../../../admin/wire.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { admin, findInstance, brokerRunState } from '../../lib/instance.js';
import { printValue, type OutputFormat } from '../../lib/output.js';
import { portUrl } from './start.js';
import { readTopologyPlan, topologyPaths } from '../../../instance/topology-file.js';
import { printTopologyStatus } from './topology-status.js';
import { printMemberStats } from './member-stats.js';

/** Inputs of status and stats. */
export interface StatusInput {
  readonly instance: string;
  /** json/yaml/table; human text when unset. */
  readonly output?: OutputFormat;
  /** `stats --members`: per member of a local topology (frontends of the shared backend otherwise). */
  readonly members?: boolean;
}

/** Runs `ops broker status`. */
export async function runStatus(input: StatusInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const state = await brokerRunState(paths);
  const plan = await readTopologyPlan(topologyPaths(paths).plan);
  if (plan !== undefined) return printTopologyStatus(ctx, paths, plan, state, input.output);
  const live = state.running ? ((await admin(paths, 'status').catch(() => undefined)) as StatusResult | undefined) : undefined;
  const result = { ...(live ?? (state.pid ? { pid: state.pid } : {})), instance: paths.name, running: state.running, dir: paths.dir };
  if (input.output) {
    printValue(ctx, result, input.output, [
      { header: 'Instance', get: (r) => r['instance'] },
      { header: 'Running', get: (r) => r['running'] },
      { header: 'Pid', get: (r) => r['pid'] },
      { header: 'Ports', get: (r) => ((r['ports'] as StatusResult['ports'] | undefined) ?? []).map((p) => p.port).join(',') },
    ]);
    return;
  }
  const c = ctx.chalk;
  if (!live) {
    ctx.stdout.write(`${paths.name}: ${c.yellow(state.running ? `running (pid ${state.pid ?? '?'}), admin socket not answering` : 'stopped')}\n`);
    return;
  }
  ctx.stdout.write(`${paths.name}: ${c.green('running')} (pid ${live.pid}, up ${live.uptimeSeconds}s, log level ${live.logLevel})\n`);
  for (const p of live.ports) ctx.stdout.write(`  listener ${p.listener}: ${portUrl(p)}\n`);
  for (const s of live.skippedPorts) ctx.stdout.write(`  listener ${s.listener}: port ${s.port} not served (${s.reason})\n`);
  if (live.metricsPort !== null) ctx.stdout.write(`  metrics: http://127.0.0.1:${live.metricsPort}/metrics\n`);
  else ctx.stdout.write(`  ${live.metricsError === undefined ? 'metrics: off' : c.yellow(MSG.metricsOff(live.metricsError))}\n`);
  ctx.stdout.write(`  persistence policy version: ${live.policyVersion}\n`);
}

/** `on (AES-256-GCM, max N bytes)`, `on (encryption Disabled, ...)` or `off (memory only)`. */
function persistenceText(p: StatsResult['persistence'] | undefined): string {
  if (!p?.enabled) return 'off (memory only)';
  const size = p.maxSizeBytes === null ? '' : `, max ${p.maxSizeBytes} bytes`;
  return `on (${p.encryption === 'Enabled' ? 'AES-256-GCM' : 'encryption Disabled'}${size})`;
}

/** `N of M bytes`, with a FULL warning when messages that need the store are being refused. */
function storeText(s: StatsResult['store'] | undefined): string {
  if (s === null || s === undefined) return 'memory';
  const of = s.limitBytes === null ? `${s.usedBytes} bytes` : `${s.usedBytes} of ${s.limitBytes} bytes`;
  return s.full ? `${of} — FULL: messages that need the store get 0x97 (${s.refusedWrites} refused)` : of;
}

/** Runs `ops broker stats`. */
export async function runStats(input: StatusInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const state = await brokerRunState(paths);
  if (!state.running) throw new OpsError('INST_NOT_RUNNING', { name: paths.name });
  const stats = (await admin(paths, 'stats')) as StatsResult;
  if (input.members === true) {
    if ((await readTopologyPlan(topologyPaths(paths).plan)) !== undefined) return printMemberStats(ctx, paths, stats.cluster?.totals, input.output);
    if (stats.cluster === undefined) throw new OpsError('CLI_USAGE', { message: `--members: instance '${paths.name}' is one embedded broker; it has no members (ops create --backend local makes a topology).` });
    if (input.output !== undefined) return printValue(ctx, { instance: paths.name, totals: stats.cluster.totals ?? null, members: stats.cluster.members ?? [] }, input.output);
  }
  if (input.output) {
    printValue(ctx, stats, input.output, [
      { header: 'Clients', get: (r) => (r['clients'] as StatsResult['clients']).connected },
      { header: 'Sessions', get: (r) => (r['clients'] as StatsResult['clients']).sessions },
      { header: 'Subscriptions', get: (r) => (r['user'] as StatsResult['user']).subscriptions },
      { header: 'SysSubs', get: (r) => (r['system'] as StatsResult['system']).subscriptions },
      { header: 'MsgIn', get: (r) => (r['messages'] as StatsResult['messages']).received },
      { header: 'MsgOut', get: (r) => (r['messages'] as StatsResult['messages']).sent },
      { header: 'Queued', get: (r) => (r['messages'] as StatsResult['messages']).queued },
      { header: 'Retained', get: (r) => (r['user'] as StatsResult['user']).retained },
      { header: 'SysRetained', get: (r) => (r['system'] as StatsResult['system']).retained },
      { header: 'DiskBytes', get: (r) => (r['disk'] as StatsResult['disk']).usedBytes },
    ]);
    return;
  }
  const rows: Array<[string, string | number]> = [
    ['clients connected', stats.clients.connected],
    ['sessions', stats.clients.sessions],
    ['  disconnected', stats.clients.disconnectedSessions],
    ['connections (total)', stats.clients.totalConnections],
    ['connections rejected', stats.clients.rejectedConnections],
    ['  by address limits', stats.clients.limitedConnections ?? 0],
    ['  CONNECT too large', stats.clients.oversizedConnects ?? 0],
    ['authentication failures', stats.clients.authenticationFailures ?? 0],
    ['subscriptions', stats.user.subscriptions],
    ['  broker-internal', `${stats.system.subscriptions} (services such as the state store; not counted above)`],
    ['  refused by limit', stats.limits.subscriptionsRefused],
    ['partial packet bytes', stats.limits.partialPacketBytes],
    ['  closed: too slow', stats.limits.partialPacketTimeouts],
    ['  closed: over bound', stats.limits.partialPacketsRefused],
    ['messages in', stats.messages.received],
    ['messages out', stats.messages.sent],
    ['messages dropped', stats.messages.dropped],
    ['  at a session queue bound', stats.messages.queueFullDrops ?? 0],
    ['messages undeliverable', stats.messages.undeliverable ?? 0],
    ['internal errors', stats.internalErrors ?? 0],
    ['messages queued', stats.messages.queued],
    ['messages in flight', stats.messages.inflight],
    ['retained messages', stats.user.retained],
    ['  $SYS (broker)', `${stats.system.retained} (not counted above)`],
    ['state store keys', stats.stateStore.keys ?? 'n/a'],
    ['disk used (bytes)', stats.disk.usedBytes],
    ['persistence', persistenceText(stats.persistence)],
    ['store', storeText(stats.store)],
    ['disk buffer', stats.diskBuffer ? `${stats.diskBuffer.usedBytes} of ${stats.diskBuffer.maxBytes} bytes` : 'off'],
    ['publishers throttled', stats.clients.throttledPublishers],
    ['bytes in / out', `${stats.bytes.received} / ${stats.bytes.sent}`],
    ['uptime (s)', stats.uptimeSeconds],
    ...(stats.cluster !== undefined
      ? [
          [
            'cluster frontend',
            `${stats.cluster.frontendId} on redis://${stats.cluster.backend.join(',')}, config revision ${stats.cluster.configRevision}${stats.cluster.configRefused > 0 ? ` (${stats.cluster.configRefused} refused)` : ''}${stats.cluster.stateStoreLeader ? ' (state store leader)' : ''}`,
          ] satisfies [string, string],
          ['backend degraded', degradedText(stats.cluster.degradedPartitions ?? [])] satisfies [string, string],
        ]
      : []),
  ];
  for (const [k, v] of rows) ctx.stdout.write(`${k.padEnd(22)} ${v}\n`);
  const cluster = stats.cluster;
  if (cluster?.totals !== undefined && cluster.members !== undefined) {
    const t = cluster.totals;
    ctx.stdout.write(`${'cluster totals'.padEnd(22)} ${t.frontends} frontends live, ${t.connected} connected, ${t.sessions} sessions, ${t.messagesReceived} in / ${t.messagesSent} out\n`);
    for (const m of cluster.members) {
      const me = m.frontendId === cluster.frontendId ? ' (this one)' : '';
      ctx.stdout.write(`${`  ${m.frontendId}`.padEnd(22)} ${m.live ? 'live' : 'gone'}${me}: ${m.connected} connected, ${m.sessions} sessions, ${m.messagesReceived} in / ${m.messagesSent} out, ${m.queued} queued\n`);
    }
  }
}

/** The degraded backend partitions in words: `none`, or each master with its replicas in sync. */
function degradedText(partitions: NonNullable<StatsResult['cluster']>['degradedPartitions']): string {
  if (partitions.length === 0) return 'none';
  return partitions.map((p) => `${p.node} (${p.replicasInSync} of ${p.wanted} replicas in sync since ${p.since})`).join(', ');
}
