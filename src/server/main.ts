/**
 * Entry of the broker process (bin/ops-broker.js): `ops-broker --instance-dir DIR [--repair]
 * [--backend redis://h1:p1,h2:p2]`. Runs until
 * SIGINT/SIGTERM or an admin `shutdown`; exit code 0 after a clean stop, the error's code otherwise.
 */
import { resolve } from 'node:path';
import { parseBackendAddress, type BackendAddress } from '../config/backend-address.js';
import { pathsOfDir } from '../instance/layout.js';
import { OpsError } from '../shared/errors.js';
import { startInstance, type RunningBroker } from './start.js';

const USAGE =
  'usage: ops-broker --instance-dir DIR [--repair] [--backend redis://HOST:PORT[,HOST:PORT...]]   (normally started by `ops create` or `ops broker start|run`)';

/** What the broker process is started with. */
export interface BrokerArgs {
  readonly instanceDir: string;
  readonly repair: boolean;
  /** `--backend`: run as a cluster frontend on this backend (overrides the instance's backend.json). */
  readonly backend?: BackendAddress;
}

/**
 * Reads `--instance-dir DIR`, `--repair` (start on a damaged write-ahead log with what survived) and
 * `--backend URL` from argv; `CFG_BACKEND_INVALID` for a bad backend address.
 */
export function parseBrokerArgs(argv: readonly string[]): BrokerArgs {
  const i = argv.indexOf('--instance-dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (dir === undefined || dir === '') throw new OpsError('CLI_USAGE', { message: USAGE });
  const b = argv.indexOf('--backend');
  if (b === -1) return { instanceDir: resolve(dir), repair: argv.includes('--repair') };
  const url = argv[b + 1];
  if (url === undefined || url.startsWith('--')) throw new OpsError('CLI_USAGE', { message: USAGE });
  return { instanceDir: resolve(dir), repair: argv.includes('--repair'), backend: parseBackendAddress(url) };
}

/** Runs the broker process; resolves with its exit code. */
export function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  return serveUntilStopped(() => {
    const { instanceDir, repair, backend } = parseBrokerArgs(argv);
    return startInstance(pathsOfDir(instanceDir), undefined, { repair, ...(backend !== undefined ? { backend } : {}) });
  });
}

/**
 * Starts an instance with `start` and serves until SIGINT/SIGTERM stops it; resolves with the exit
 * code (0 after a clean stop; a start that fails prints `ops-broker: CODE: message` and gives its
 * exit code). The broker process and a topology's spare frontend both run this way.
 */
export async function serveUntilStopped(start: () => Promise<RunningBroker>): Promise<number> {
  try {
    const running = await start();
    const onSignal = (signal: NodeJS.Signals): void => void running.stop(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await running.stopped;
    return 0;
  } catch (err) {
    const error = err instanceof OpsError ? err : undefined;
    process.stderr.write(`ops-broker: ${error ? `${error.code}: ${error.message}` : String(err)}\n`);
    return error?.exitCode ?? 1;
  }
}
