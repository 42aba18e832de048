/** `ops broker log-level set LEVEL`: change the log level live (kept across restarts). */
import { logLevelRequest } from '../../../config/changes/broker-settings.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { findInstance } from '../../lib/instance.js';
import { changeRuntime } from '../../lib/apply-runtime-change.js';

/** Levels accepted by `log-level set`. */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Inputs of log-level set. */
export interface LogLevelInput {
  readonly instance: string;
  readonly level: string;
}

/** Runs `ops broker log-level set`. */
export async function runLogLevelSet(input: LogLevelInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const level = input.level.toLowerCase();
  if (!LOG_LEVELS.includes(level)) {
    throw new OpsError('CLI_USAGE', { message: `Invalid log level '${input.level}': use one of ${LOG_LEVELS.join(', ')}.` });
  }
  await changeRuntime(ctx, paths, logLevelRequest(level));
  ctx.stdout.write(`Log level of instance '${paths.name}' set to ${level}.\n`);
}
