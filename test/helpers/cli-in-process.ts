/** Unit-test helper: runs the `ops` CLI in process (no child), with captured output and no colour. */
import { Chalk } from 'chalk';
import type { CliContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/run.js';

/** What one in-process `ops` run gave. */
export interface InProcessRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * A runner of `ops ARGV` through `main` with an empty environment, non-TTY streams and `home` as
 * OPS_HOME (tests pass a folder that is never created when their commands fail before using it).
 */
export function inProcessOps(home: string): (...argv: string[]) => Promise<InProcessRun> {
  return async (...argv) => {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = {
      env: {},
      argv,
      stdout: { write: (t) => void out.push(t), isTTY: false },
      stderr: { write: (t) => void err.push(t), isTTY: false },
      interactive: false,
      chalk: new Chalk({ level: 0 }),
      home,
    };
    const code = await main(argv, ctx);
    return { code, out: out.join(''), err: err.join('') };
  };
}
