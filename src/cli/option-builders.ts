/** Option builders shared by the commands (instance, output, yes, Azure scope, global flags). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_INSTANCE } from '../instance/layout.js';
import { OpsError } from '../shared/errors.js';
import type { CliContext, RunSettings } from './context.js';
import { OUTPUT_FORMATS, type OutputFormat } from './lib/output.js';
import { compileQuery } from './lib/query.js';

/** Options every command gets. */
export interface InstanceOptions {
  instance: string;
  in?: string;
}

/** Adds `-i/--instance` (and the hidden `--in` alias the AIO help uses). */
export function withInstance(cmd: Command): Command {
  return cmd
    .option('-i, --instance <name>', 'instance name (a folder under $OPS_HOME)', DEFAULT_INSTANCE)
    .addOption(new Option('--in <name>', 'alias of --instance').hideHelp());
}

/** The instance named by the options. */
export function instanceOf(opts: InstanceOptions): string {
  return opts.in ?? opts.instance;
}

/** Commands whose results go through printValue (so `--query` applies to them). */
const QUERYABLE = new WeakSet<Command>();

/** Adds `-o/--output`; with fallback `text` the command prints human text unless `-o` (or `--query`) is given. */
export function withOutput(cmd: Command, fallback: OutputFormat | 'text' = 'json'): Command {
  const option = new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]);
  QUERYABLE.add(cmd);
  return cmd.addOption(fallback === 'text' ? option : option.default(fallback));
}

/** azure-cli's scope flags: accepted so pasted `az iot ops` commands run, with no local meaning. */
const AZURE_SCOPE = [
  { flags: '-g, --resource-group <name>', key: 'resourceGroup', long: '--resource-group' },
  { flags: '--cluster <name>', key: 'cluster', long: '--cluster' },
  { flags: '--subscription <id>', key: 'subscription', long: '--subscription' },
  { flags: '--sr-resource-id <id>', key: 'srResourceId', long: '--sr-resource-id' },
  { flags: '-b, --broker <name>', key: 'broker', long: '--broker' },
] as const;

/** The only broker of an instance, as in AIO. */
const DEFAULT_BROKER = 'default';

/**
 * Adds the Azure scope flags `-g/--resource-group`, `--cluster`, `--subscription`,
 * `--sr-resource-id` and `-b/--broker` (whose value must be `default`).
 */
export function withAzureScope(cmd: Command): Command {
  const has = (long: string) => cmd.options.some((o) => o.long === long);
  for (const scope of AZURE_SCOPE) {
    if (has(scope.long)) continue;
    const help = scope.key === 'broker' ? `broker name: only '${DEFAULT_BROKER}' (az compatibility)` : 'Azure scope, accepted for az compatibility (no local meaning)';
    const option = new Option(scope.flags, help);
    // Only -g and -b are worth a line of help; the others are accepted silently (see `ops --help`).
    cmd.addOption(scope.key === 'resourceGroup' || scope.key === 'broker' ? option : option.hideHelp());
  }
  return cmd;
}

/** The Azure scope flags given to `cmd`, checked: `-b` must name the default broker. */
export function givenAzureScope(cmd: Command): string[] {
  const opts = cmd.opts<Record<string, unknown>>();
  const given = AZURE_SCOPE.filter((s) => cmd.options.some((o) => o.long === s.long) && opts[s.key] !== undefined);
  const broker = opts['broker'];
  if (given.some((s) => s.key === 'broker') && broker !== DEFAULT_BROKER) {
    throw new OpsError('CLI_USAGE', { message: `-b/--broker: an instance has one broker, '${DEFAULT_BROKER}' (got '${String(broker)}').` });
  }
  return given.map((s) => s.long);
}

/** Options whose value is a secret: `--debug` shows `***` in their place. */
const SECRET_OPTIONS = new Set(['--password']);

/** `argv` for a `--debug` line, with the values of secret options masked. */
export function redactedArgv(argv: readonly string[]): string[] {
  return argv.map((token, i) => {
    const eq = token.indexOf('=');
    if (token.startsWith('--') && eq > 0 && SECRET_OPTIONS.has(token.slice(0, eq))) return `${token.slice(0, eq)}=***`;
    return SECRET_OPTIONS.has(argv[i - 1] ?? '') ? '***' : token;
  });
}

/** Adds azure-cli's global flags to the program: `--query`, `--only-show-errors`, `--debug`. */
export function withGlobalOptions(program: Command): Command {
  return program
    .option('--query <jmespath>', 'JMESPath query applied to the result (https://jmespath.org), as az does')
    .option('--only-show-errors', 'only show errors on stderr, suppressing warnings')
    .option('--debug', 'more diagnostics on stderr (stack traces of errors; OPS_DEBUG=1 does the same)');
}

/**
 * Reads the global flags into `settings` before `action` runs: compiles `--query` (a usage error
 * if it is bad, or if `action` prints no result it could apply to) and makes it select JSON output
 * when no `-o` was given, as az's default output is JSON.
 */
export function applyGlobalOptions(program: Command, action: Command, settings: RunSettings, env: CliContext['env']): void {
  const opts = program.opts<{ query?: string; onlyShowErrors?: boolean; debug?: boolean }>();
  settings.onlyShowErrors = opts.onlyShowErrors === true;
  settings.debug = opts.debug === true || (env['OPS_DEBUG'] ?? '') !== '';
  if (opts.query === undefined) return;
  if (!QUERYABLE.has(action)) throw new OpsError('CLI_USAGE', { message: `--query: '${action.name()}' prints no result to query.` });
  settings.query = compileQuery(opts.query);
  if (action.getOptionValue('output') === undefined) action.setOptionValue('output', 'json');
}

/** azure-cli three-state flag: bare means true, or `true|false|yes|no|1|0`. */
export function boolArg(value: string | boolean | undefined): boolean {
  if (value === undefined || value === true) return true;
  if (value === false) return false;
  const v = value.toLowerCase();
  if (['true', 'yes', '1', 'y', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'n', 'off'].includes(v)) return false;
  throw new InvalidArgumentError(`'${value}' is not a boolean (true|false).`);
}

/** Adds `-y/--yes [bool]`. */
export function withYes(cmd: Command): Command {
  return cmd.option('-y, --yes [bool]', 'do not ask for confirmation', boolArg, false);
}

/** Appends an examples section to a command's help. */
export function examples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
