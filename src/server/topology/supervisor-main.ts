/**
 * Entry of the supervisor process (bin/ops-broker-supervisor.js): `ops-broker-supervisor
 * --instance-dir DIR`, started by `ops create --backend local` and `ops broker start|run` for a
 * local topology. Runs until SIGINT/SIGTERM or an admin `shutdown`; exit code 0 after a clean stop,
 * the error's code otherwise (the last stderr line says why: `ops-broker: CODE: message`).
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import { pathsOfDir } from '../../instance/layout.js';
import { isBrokerProcess, readPidFile } from '../../instance/status-file.js';
import { readTopologyPlan, topologyPaths } from '../../instance/topology-file.js';
import { OpsError } from '../../shared/errors.js';
import { Supervisor } from './supervisor.js';

const USAGE = 'usage: ops-broker-supervisor --instance-dir DIR   (normally started by `ops create --backend local` or `ops broker start|run`)';

/** Milliseconds the start may take (OPS_TOPOLOGY_START_TIMEOUT_MS, default 60000). */
function startTimeoutMs(): number {
  const value = Number(process.env['OPS_TOPOLOGY_START_TIMEOUT_MS']);
  return Number.isFinite(value) && value > 0 ? value : 60_000;
}

/** Runs the supervisor; resolves with its exit code. */
export async function supervisorMain(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let supervisor: Supervisor | undefined;
  try {
    const i = argv.indexOf('--instance-dir');
    const dir = i >= 0 ? argv[i + 1] : undefined;
    if (dir === undefined || dir === '') throw new OpsError('CLI_USAGE', { message: USAGE });
    const paths = pathsOfDir(resolve(dir));
    const pid = await readPidFile(paths.pid);
    if (pid !== undefined && pid !== process.pid && isBrokerProcess(pid)) throw new OpsError('INST_RUNNING', { name: paths.name, pid });
    const plan = await readTopologyPlan(topologyPaths(paths).plan);
    if (plan === undefined) throw new OpsError('INST_CORRUPT', { path: topologyPaths(paths).plan, reason: 'not a local topology (no topology.json)' });
    const log = pino({ base: { instance: paths.name, pid: process.pid, supervisor: true } });
    const running = new Supervisor(paths, plan, log);
    supervisor = running;
    const onSignal = (signal: NodeJS.Signals): void => void running.stop(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await running.start(startTimeoutMs());
    await running.stopped;
    return 0;
  } catch (err) {
    const error = err instanceof OpsError ? err : undefined;
    supervisor?.failed(err);
    await supervisor?.stop('start failed');
    process.stderr.write(`ops-broker: ${error ? `${error.code}: ${error.message}` : String(err)}\n`);
    return error?.exitCode ?? 1;
  }
}
