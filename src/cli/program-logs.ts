/** `ops broker logs`: flags only, mapped onto {@link runLogs}. */
import { Option, type Command } from 'commander';
import { runLogs } from './actions/broker/logs.js';
import type { CliContext } from './context.js';
import { examples, instanceOf, withInstance, type InstanceOptions } from './option-builders.js';

interface LogsOptions extends InstanceOptions {
  follow?: boolean;
  level?: string;
  since?: string;
  tail?: string;
  output?: string;
}

/** An AbortSignal that SIGINT or SIGTERM aborts (a follow then ends with exit 0), and its removal. */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return { signal: controller.signal, dispose: () => void (process.off('SIGINT', abort), process.off('SIGTERM', abort)) };
}

/** Adds `ops broker logs` under `broker`. */
export function addLogsCommand(broker: Command, ctx: CliContext): void {
  const logs = withInstance(broker.command('logs'))
    .description("Print the broker's log (broker.log) as readable lines: HH:MM:SS.mmm LEVEL message key=value. Works whether the broker runs or not.")
    .option('-f, --follow', 'keep printing lines as they are written, until Ctrl-C or SIGTERM (exit 0)')
    .option('--level <level>', 'only lines at or above trace|debug|info|warn|error|fatal')
    .option('--since <when>', 'only lines since a duration ago (30s, 10m, 2h, 1d) or a date/time (ISO 8601)')
    .option('-n, --tail <n>', 'only the last N lines (read from the end of the file)')
    .addOption(new Option('-o, --output <format>', 'json: the raw JSON lines (plain lines as {"raw": ...})').choices(['json', 'text']));
  examples(logs, ['ops broker logs -n 50', 'ops broker logs -f --level warn', 'ops broker logs --since 10m -o json']).action(async (opts: LogsOptions) => {
    const stop = opts.follow === true ? stopSignal() : undefined;
    try {
      await runLogs(
        {
          instance: instanceOf(opts),
          follow: opts.follow === true,
          ...(opts.level !== undefined ? { level: opts.level } : {}),
          ...(opts.since !== undefined ? { since: opts.since } : {}),
          ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
          ...(opts.output !== undefined ? { output: opts.output } : {}),
          ...(stop !== undefined ? { signal: stop.signal } : {}),
        },
        ctx,
      );
    } finally {
      stop?.dispose();
    }
  });
}
