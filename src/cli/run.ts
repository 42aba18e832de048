/**
 * Entry of the `ops` CLI. Holds the one `catch` of the CLI: a coded error is printed with what to
 * do next and becomes the exit code; anything else is an internal error (exit 1).
 */
import { CommanderError } from 'commander';
import { ERROR_CODES } from '../shared/error-codes.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import { processContext, type CliContext, type RunSettings, type Sink } from './context.js';
import { expandLongOptions } from './lib/long-options.js';
import { HINTS } from './messages.js';
import { buildProgram, type RunResult } from './program.js';

/** Ctrl-C: at an @inquirer prompt (its ExitPromptError), or while the CLI waited ({@link OpsError} CLI_CANCELLED). */
function isCancellation(err: unknown): boolean {
  return (err instanceof OpsError && err.code === 'CLI_CANCELLED') || (err instanceof Error && err.name === 'ExitPromptError');
}

/** Commander exits that are not errors: help or version shown (its text is already printed). */
const COMMANDER_DISPLAYS = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/**
 * A parser error (unknown option, missing argument or required option, bad choice or value) as a
 * CLI_USAGE error, so it is printed like every other error; undefined for help and version.
 */
function usageErrorOf(err: CommanderError): OpsError | undefined {
  if (COMMANDER_DISPLAYS.has(err.code)) return undefined;
  return new OpsError('CLI_USAGE', { message: err.message.replace(/^error: /, '') });
}

/** Prints an error and returns its exit code. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) {
    const usage = usageErrorOf(err);
    if (usage === undefined) return err.exitCode === 0 ? 0 : 2;
    err = usage;
  }
  if (isCancellation(err)) {
    // Ctrl-C at a prompt or while starting: nothing is left behind, so it is not reported as an error.
    ctx.stderr.write(`\n${ERROR_CODES.CLI_CANCELLED.message}\n`);
    return ERROR_CODES.CLI_CANCELLED.exitCode;
  }
  const error = err instanceof OpsError ? err : new OpsError('CLI_INTERNAL', { reason: reasonOf(err) });
  ctx.stderr.write(`${ctx.chalk.red('error:')} ${error.message}\n`);
  const hint = HINTS[error.code];
  if (hint) ctx.stderr.write(`${ctx.chalk.dim('hint:')} ${hint}\n`);
  const debug = ctx.run?.debug === true || (ctx.env['OPS_DEBUG'] ?? '') !== '';
  if (debug && err instanceof Error) ctx.stderr.write(`${err.stack ?? ''}\n`);
  ctx.stderr.write(`${ctx.chalk.dim(`(${error.code}, exit code ${error.exitCode})`)}\n`);
  return error.exitCode;
}

/** `sink` without its `warning:` lines while `settings.onlyShowErrors` is set (`--only-show-errors`). */
function warningFilter(sink: Sink, settings: RunSettings): Sink {
  const isWarning = (text: string) => /^(?:\u001b\[[0-9;]*m)*warning:/.test(text);
  return {
    write: (text) => {
      if (!(settings.onlyShowErrors && isWarning(text))) sink.write(text);
    },
    ...(sink.writeBytes ? { writeBytes: sink.writeBytes.bind(sink) } : {}),
    isTTY: sink.isTTY,
  };
}

/** Runs the CLI with `argv` (the arguments after `ops`); resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2), ctx: CliContext = processContext(argv)): Promise<number> {
  const result: RunResult = { exitCode: 0 };
  const settings: RunSettings = { onlyShowErrors: false, debug: false };
  let runCtx: CliContext = { ...ctx, stderr: warningFilter(ctx.stderr, settings), run: settings };
  try {
    // Long options are written out in full first (prefixes, az aliases); ctx.argv is what commands
    // that read repeated flags themselves see, so it is the expanded form too.
    const expanded = expandLongOptions(buildProgram(runCtx, result), argv);
    runCtx = { ...runCtx, argv: expanded };
    await buildProgram(runCtx, result, settings).parseAsync(expanded, { from: 'user' });
    return result.exitCode;
  } catch (err) {
    return reportError(runCtx, err);
  }
}
