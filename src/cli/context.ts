/** What commands get from the outside world (injectable for tests). */
import { Chalk, type ChalkInstance } from 'chalk';
import { opsHome } from '../instance/layout.js';
import type { CompiledQuery } from './lib/query.js';

/** A writable text sink. */
export interface Sink {
  write(text: string): void;
  /** Writes raw bytes (values of `ops state get`); sinks without it get the bytes as UTF-8 text. */
  writeBytes?(bytes: Uint8Array): void;
  readonly isTTY: boolean;
  /**
   * Waits until the sink takes more text (back-pressure for long outputs): true, or false once it
   * is closed (the reader of a pipe went away). Sinks without it never push back.
   */
  drain?(): Promise<boolean>;
}

/** What the global flags (`--query`, `--only-show-errors`, `--debug`) set for one run; filled before the action runs. */
export interface RunSettings {
  /** `--query`: applied to every printed result before formatting. */
  query?: CompiledQuery;
  /** `--only-show-errors`: warnings on stderr are dropped. */
  onlyShowErrors: boolean;
  /** `--debug` (or OPS_DEBUG): more diagnostics on stderr. */
  debug: boolean;
}

/** Environment of a CLI run. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The raw arguments after `ops` (needed for repeatable multi-value flags). */
  readonly argv: readonly string[];
  readonly stdout: Sink;
  readonly stderr: Sink;
  /** True when both stdin and stdout are terminals: prompts and wizards may run. */
  readonly interactive: boolean;
  /** Colours for stdout/stderr (level 0 when not a terminal, NO_COLOR, or --no-color). */
  readonly chalk: ChalkInstance;
  /** `$OPS_HOME` or ~/.ops. */
  readonly home: string;
  /** The run's global settings (absent: no query, warnings shown, no debug). */
  readonly run?: RunSettings;
}

/** Resolves true once `stream` needs no drain, false when it is (or becomes) closed. */
function drained(stream: NodeJS.WriteStream): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve(false);
  if (!stream.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (open: boolean) => () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      resolve(open);
    };
    const onDrain = done(true);
    const onClose = done(false);
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', onClose);
  });
}

/** Builds the context of the current process. */
export function processContext(argv: readonly string[]): CliContext {
  const env = process.env;
  const noColor = (env['NO_COLOR'] ?? '') !== '' || argv.includes('--no-color');
  const color = !noColor && process.stdout.isTTY === true && env['TERM'] !== 'dumb';
  for (const stream of [process.stdout, process.stderr]) {
    // A closed pipe (`ops ... | head`) is not an error worth a stack trace.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  const sink = (stream: NodeJS.WriteStream): Sink => ({
    write: (text) => void stream.write(text),
    writeBytes: (bytes) => void stream.write(bytes),
    isTTY: stream.isTTY === true,
    drain: () => drained(stream),
  });
  return {
    env,
    argv,
    stdout: sink(process.stdout),
    stderr: sink(process.stderr),
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    chalk: new Chalk({ level: color ? 1 : 0 }),
    home: opsHome(env),
  };
}
