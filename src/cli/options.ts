/** Option builders shared by the commands (instance, output, yes). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_INSTANCE } from '../instance/layout.js';
import { OUTPUT_FORMATS, type OutputFormat } from './lib/output.js';

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

/** Adds `-o/--output`; with fallback `text` the command prints human text unless `-o` is given. */
export function withOutput(cmd: Command, fallback: OutputFormat | 'text' = 'json'): Command {
  const option = new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]);
  return cmd.addOption(fallback === 'text' ? option : option.default(fallback));
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

/** `T` with the keys whose values may be undefined made optional (and never undefined). */
export type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Drops undefined-valued keys, so optional inputs stay absent under exactOptionalPropertyTypes. */
export function definedOnly<T extends object>(obj: T): Defined<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Defined<T>;
}
