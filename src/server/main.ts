/**
 * Entry of the broker process (bin/ops-broker.js): `ops-broker --instance-dir DIR`. Runs until
 * SIGINT/SIGTERM or an admin `shutdown`; exit code 0 after a clean stop, the error's code otherwise.
 */
import { resolve } from 'node:path';
import { pathsOfDir } from '../instance/layout.js';
import { OpsError } from '../shared/errors.js';
import { startInstance } from './start.js';

const USAGE = 'usage: ops-broker --instance-dir DIR [--repair]   (normally started by `ops create` or `ops broker start|run`)';

/** Reads `--instance-dir DIR` and `--repair` (start on a damaged write-ahead log with what survived) from argv. */
export function parseBrokerArgs(argv: readonly string[]): { instanceDir: string; repair: boolean } {
  const i = argv.indexOf('--instance-dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (dir === undefined || dir === '') throw new OpsError('CLI_USAGE', { message: USAGE });
  return { instanceDir: resolve(dir), repair: argv.includes('--repair') };
}

/** Runs the broker process; resolves with its exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    const { instanceDir, repair } = parseBrokerArgs(argv);
    const running = await startInstance(pathsOfDir(instanceDir), undefined, { repair });
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
