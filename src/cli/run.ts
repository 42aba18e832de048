/**
 * Entry of the `ops` CLI. Holds the one `catch` of the CLI: a coded error is printed with what to
 * do next and becomes the exit code; anything else is an internal error (exit 1).
 */
import { CommanderError } from 'commander';
import { OpsError } from '../shared/errors.js';
import { processContext, type CliContext } from './context.js';
import { HINTS } from './messages.js';
import { buildProgram, type RunResult } from './program.js';

/** Prints an error and returns its exit code. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  const error = err instanceof OpsError ? err : new OpsError('CLI_INTERNAL', { reason: err instanceof Error ? err.message : String(err) });
  ctx.stderr.write(`${ctx.chalk.red('error:')} ${error.message}\n`);
  const hint = HINTS[error.code];
  if (hint) ctx.stderr.write(`${ctx.chalk.dim('hint:')} ${hint}\n`);
  if (error.code === 'CLI_INTERNAL' && err instanceof Error && ctx.env['OPS_DEBUG']) ctx.stderr.write(`${err.stack ?? ''}\n`);
  ctx.stderr.write(`${ctx.chalk.dim(`(${error.code}, exit code ${error.exitCode})`)}\n`);
  return error.exitCode;
}

/** Runs the CLI with `argv` (the arguments after `ops`); resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2), ctx: CliContext = processContext(argv)): Promise<number> {
  const result: RunResult = { exitCode: 0 };
  try {
    await buildProgram(ctx, result).parseAsync([...argv], { from: 'user' });
    return result.exitCode;
  } catch (err) {
    return reportError(ctx, err);
  }
}
