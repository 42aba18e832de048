/** `ops broker start|stop|run`: the broker process of an instance. */
import { readDeploymentLock } from '../../../instance/deployment-lock.js';
import { assertAdminSocketFits, type InstancePaths } from '../../../instance/layout.js';
import type { BrokerStatusFile } from '../../../instance/status-file.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { describeFinding, describeLoss, type StoreRepairReport } from '../../../shared/store-repair.js';
import { findInstance, brokerRunState } from '../../lib/instance.js';
import { printValue, withSpinner, type Column, type OutputFormat } from '../../lib/output.js';
import { interruptible, runForeground, startDetached, startTimeoutMs, stopBroker, type BrokerFlags } from '../../lib/spawn-broker.js';
import { parseBackendAddress } from '../../../config/backend-address.js';
import { OpsError } from '../../../shared/errors.js';
import { readTopologyPlan, topologyPaths } from '../../../instance/topology-file.js';
import { runTopologyForeground, startTopologyDetached, stopTopology, sweepMembers, topologyStartTimeoutMs } from '../../lib/spawn-topology.js';

/** Inputs of the process commands. */
export interface ProcessInput {
  readonly instance: string;
  readonly output?: OutputFormat;
  /** `--repair`: start on a damaged write-ahead log with what survived and report the loss. */
  readonly repair?: boolean;
  /** `--backend URL`: run as a cluster frontend on this backend for this run (the instance's backend.json is not changed). */
  readonly backend?: string;
}

/** The broker process's flags of a start: `--backend` parsed here, so a bad address fails before anything starts. */
function processFlags(input: ProcessInput): BrokerFlags {
  if (input.repair === true && input.backend !== undefined) {
    throw new OpsError('CLI_USAGE', { message: '--repair is for the write-ahead log of a standalone store; a cluster frontend (--backend) has none.' });
  }
  return { ...(input.repair === true ? { repair: true } : {}), ...(input.backend !== undefined ? { backend: parseBackendAddress(input.backend) } : {}) };
}

/** Whether the instance is a local topology (`ops create --backend local`); `--repair`/`--backend` do not apply to one. */
async function isLocalTopology(paths: InstancePaths, input: ProcessInput): Promise<boolean> {
  if ((await readTopologyPlan(topologyPaths(paths).plan)) === undefined) return false;
  if (input.repair === true || input.backend !== undefined) {
    throw new OpsError('CLI_USAGE', { message: `instance '${paths.name}' is a local topology (created with --backend local): --repair and --backend do not apply to it.` });
  }
  return true;
}

/** `mqtt[s]://host:port`, or `ws[s]://host:port/mqtt` for a WebSockets port. */
export function portUrl(p: { host: string; port: number; protocol?: string; tls?: boolean }): string {
  const s = p.tls === true ? 's' : '';
  return p.protocol === 'WebSockets' ? `ws${s}://${p.host}:${p.port}/mqtt` : `mqtt${s}://${p.host}:${p.port}`;
}

/** `-o table` of a started broker (`broker start`, `create`): one row, where it listens. */
export const STARTED_COLUMNS: readonly Column[] = [
  { header: 'Instance', get: (r) => r['instance'] },
  { header: 'Pid', get: (r) => r['pid'] },
  { header: 'Listening', get: (r) => ((r['ports'] as BrokerStatusFile['ports'] | undefined) ?? []).map((p) => portUrl(p)).join(' ') },
  { header: 'Metrics', get: (r) => (typeof r['metricsPort'] === 'number' ? `http://127.0.0.1:${r['metricsPort']}/metrics` : `off${typeof r['metricsError'] === 'string' ? ` (${r['metricsError']})` : ''}`) },
];

/** Prints where a started broker listens. */
export function printStarted(ctx: CliContext, paths: InstancePaths, status: BrokerStatusFile): void {
  for (const p of status.ports) ctx.stdout.write(`${MSG.listening(portUrl(p), p.listener)}\n`);
  ctx.stdout.write(`  admin socket: ${status.adminSocket}\n`);
  if (status.metricsPort !== null) ctx.stdout.write(`  metrics: http://127.0.0.1:${status.metricsPort}/metrics\n`);
  else if (status.metricsError !== undefined) ctx.stdout.write(`${ctx.chalk.yellow('!')} ${MSG.metricsOff(status.metricsError)}\n`);
  ctx.stdout.write(`  log: ${paths.log}\n`);
  if (status.storeRepair !== undefined) printRepair(ctx, status.storeRepair);
}

/** Prints what a start with `--repair` found damaged and lost. */
function printRepair(ctx: CliContext, report: StoreRepairReport): void {
  if (!report.repaired) {
    ctx.stdout.write(`  store: nothing damaged, nothing lost\n`);
    return;
  }
  ctx.stdout.write(`${ctx.chalk.yellow('!')} ${MSG.storeRepaired(describeLoss(report), report.acknowledgedBatch, report.survivingBatch)}\n`);
  for (const finding of report.findings) ctx.stdout.write(`  damaged: ${describeFinding(finding)}\n`);
}

/** Runs `ops broker start`: starts the broker detached (no-op when it runs). */
export async function runStart(input: ProcessInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  assertAdminSocketFits(paths);
  const flags = processFlags(input);
  const state = await brokerRunState(paths);
  if (state.running && state.status) {
    if (input.output) printValue(ctx, { instance: paths.name, ...state.status }, input.output, STARTED_COLUMNS);
    else ctx.stdout.write(`${MSG.alreadyRunning(paths.name, state.status.pid)}\n`);
    return;
  }
  await readDeploymentLock(paths.lock);
  const local = await isLocalTopology(paths, input);
  if (local) await sweepMembers(paths); // Redis nodes a killed supervisor left would hold the ports
  const status = await withSpinner(ctx, MSG.starting(paths.name), () =>
    interruptible((signal) => (local ? startTopologyDetached(paths, topologyStartTimeoutMs(ctx.env), signal) : startDetached(paths, startTimeoutMs(ctx.env), flags, signal))),
  );
  if (input.output) printValue(ctx, { instance: paths.name, ...status }, input.output, STARTED_COLUMNS);
  else {
    ctx.stdout.write(`${ctx.chalk.green('✔')} ${MSG.started(paths.name, status.pid)}\n`);
    printStarted(ctx, paths, status);
  }
}

/** Runs `ops broker stop` (no-op when it is not running). */
export async function runStop(input: ProcessInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const state = await brokerRunState(paths);
  const local = await isLocalTopology(paths, input);
  if (!state.running || state.pid === undefined) {
    if (local) await sweepMembers(paths); // members a killed supervisor left behind
    ctx.stdout.write(`${MSG.notRunning(paths.name)}\n`);
    return;
  }
  const pid = state.pid;
  await withSpinner(ctx, MSG.stopping(paths.name), () => (local ? stopTopology(paths, pid) : stopBroker(paths, pid)));
  ctx.stdout.write(`${MSG.stopped(paths.name)}\n`);
}

/** Runs `ops broker run`: the broker in the foreground; resolves with its exit code. */
export async function runRun(input: ProcessInput, ctx: CliContext): Promise<number> {
  const paths = await findInstance(ctx, input.instance);
  assertAdminSocketFits(paths);
  await readDeploymentLock(paths.lock);
  if (await isLocalTopology(paths, input)) return runTopologyForeground(paths);
  return runForeground(paths, processFlags(input));
}
