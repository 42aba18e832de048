/** `ops broker log-level set LEVEL`: change the log level live (kept across restarts). */
import type { RuntimeBrokerSettings } from '../../../config/split.js';
import { joinBrokerProperties } from '../../../config/split.js';
import type { LogLevel } from '../../../config/types.js';
import { assertValid } from '../../../config/validate.js';
import { OpsError } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { MSG } from '../../messages.js';
import { admin, findInstance, runState, saveState, storedSettings } from '../../lib/instance.js';

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
  if ((await runState(paths)).running) {
    await admin(paths, 'log.level.set', { level });
  } else {
    const { deployment, state } = await storedSettings(paths);
    const broker = state.broker as RuntimeBrokerSettings;
    const diagnostics = { ...broker.diagnostics, logs: { ...broker.diagnostics?.logs, level: level as LogLevel } };
    assertValid('broker', { ...joinBrokerProperties(deployment, broker), diagnostics }, 'the requested log level');
    await saveState(paths, { ...state, broker: { ...broker, diagnostics } });
    ctx.stderr.write(`${MSG.offlineApplied}\n`);
  }
  ctx.stdout.write(`Log level of instance '${paths.name}' set to ${level}.\n`);
}
