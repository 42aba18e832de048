/** Whether the Redis programs a local topology runs are installed (found on PATH). */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OpsError } from '../../shared/errors.js';

/** The programs `--backend local` needs (the supervisor forms the cluster itself: no redis-cli). */
export const REDIS_PROGRAMS = ['redis-server'] as const;

/** Whether `program` is an executable file in one of `PATH`'s folders. */
export function onPath(program: string, path: string | undefined): boolean {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, program);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      // not there, or not executable
    }
  }
  return false;
}

/** Throws `INST_REDIS_MISSING` (exit 2, one line saying how to install it) when a Redis program is missing. */
export function assertRedisInstalled(env: Readonly<Record<string, string | undefined>>): void {
  for (const program of REDIS_PROGRAMS) if (!onPath(program, env['PATH'])) throw new OpsError('INST_REDIS_MISSING', { program });
}
