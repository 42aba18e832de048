/**
 * Entry of the broker process (bin/ops-broker.js): `ops-broker --instance-dir DIR [--repair]
 * [--backend redis://h1:p1,h2:p2]`. Runs until
 * SIGINT/SIGTERM or an admin `shutdown`; exit code 0 after a clean stop, the error's code otherwise.
 */
import { resolve } from 'node:path';
import { parseBackendAddress, type BackendAddress } from '../config/backend-address.js';
import { pathsOfDir } from '../instance/layout.js';
import { OpsError } from '../shared/errors.js';
import { startInstance } from './start.js';

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
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    const { instanceDir, repair, backend } = parseBrokerArgs(argv);
    const running = await startInstance(pathsOfDir(instanceDir), undefined, { repair, ...(backend !== undefined ? { backend } : {}) });
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
