/**
 * Entry of the `ops` CLI. Holds the one `catch` of the CLI: a coded error is printed with what to
 * do next and becomes the exit code; anything else is an internal error (exit 1).
 */
import { CommanderError } from 'commander';
import { ERROR_CODES } from '../shared/error-codes.js';
import { OpsError } from '../shared/errors.js';
import { processContext, type CliContext } from './context.js';
import { HINTS } from './messages.js';
import { buildProgram, type RunResult } from './program.js';

/** Ctrl-C: at an @inquirer prompt (its ExitPromptError), or while the CLI waited ({@link OpsError} CLI_CANCELLED). */
function isCancellation(err: unknown): boolean {
  return (err instanceof OpsError && err.code === 'CLI_CANCELLED') || (err instanceof Error && err.name === 'ExitPromptError');
}

/** Prints an error and returns its exit code. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (isCancellation(err)) {
    // Ctrl-C at a prompt or while starting: nothing is left behind, so it is not reported as an error.
    ctx.stderr.write(`\n${ERROR_CODES.CLI_CANCELLED.message}\n`);
    return ERROR_CODES.CLI_CANCELLED.exitCode;
  }
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
