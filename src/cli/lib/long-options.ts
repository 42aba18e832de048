/**
 * argparse's long-option matching for commander: an unambiguous prefix names its option (`--authn`
 * for `--authn-ref`, as in az's own examples), and per-command aliases (`--fr` for
 * `--broker-frontend-replicas`) are rewritten to their option, before commander parses `argv`.
 */
import type { Command, Option } from 'commander';
import { OpsError } from '../../shared/errors.js';

const ALIASES = new WeakMap<Command, ReadonlyMap<string, string>>();

/** Registers long aliases of `cmd`'s options (`--fr` → `--broker-frontend-replicas`). */
export function registerAliases(cmd: Command, aliases: Readonly<Record<string, string>>): Command {
  ALIASES.set(cmd, new Map([...(ALIASES.get(cmd) ?? []), ...Object.entries(aliases)]));
  return cmd;
}

/** The long names `cmd` has registered aliases for, with their targets. */
export function aliasesOf(cmd: Command): ReadonlyMap<string, string> {
  return ALIASES.get(cmd) ?? new Map();
}

/** Options commander recognises at `cmd`: its own and its ancestors' (program options work anywhere). */
function optionsInScope(chain: readonly Command[]): Option[] {
  return chain.flatMap((c) => c.options);
}

function resolveLong(name: string, chain: readonly Command[]): { name: string; option?: Option } {
  const options = optionsInScope(chain);
  const target = aliasesOf(chain[chain.length - 1] as Command).get(name) ?? name;
  const exact = options.find((o) => o.long === target);
  if (exact || target === '--help' || target === '--version') return exact ? { name: target, option: exact } : { name: target };
  // Hidden options (aliases such as --in) match only exactly, so they never make a prefix ambiguous.
  const longs = [...new Set([...options.filter((o) => !o.hidden).map((o) => o.long ?? ''), '--help'])];
  const candidates = longs.filter((l) => l.startsWith(target) && l !== '');
  if (candidates.length > 1) throw new OpsError('CLI_USAGE', { message: `ambiguous option: ${name} could match ${candidates.join(', ')}` });
  const only = candidates[0];
  if (only === undefined) return { name }; // unknown: commander reports it
  const option = options.find((o) => o.long === only);
  return option ? { name: only, option } : { name: only };
}

function subcommand(cmd: Command, token: string): Command | undefined {
  return cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
}

/**
 * `argv` (the arguments after `ops`) with every long option written out in full: aliases replaced,
 * unambiguous prefixes completed against the options of the (sub)command they follow. An ambiguous
 * prefix is a usage error listing the candidates, as argparse's. Values of options, and everything
 * after `--`, are left as they are.
 */
export function expandLongOptions(program: Command, argv: readonly string[]): string[] {
  const out: string[] = [];
  const chain: Command[] = [program];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      out.push(...argv.slice(i));
      break;
    }
    let option: Option | undefined;
    let inlineValue = false;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const given = eq < 0 ? token : token.slice(0, eq);
      const resolved = resolveLong(given, chain);
      option = resolved.option;
      inlineValue = eq >= 0;
      out.push(eq < 0 ? resolved.name : `${resolved.name}${token.slice(eq)}`);
    } else if (token.startsWith('-') && token.length === 2) {
      option = optionsInScope(chain).find((o) => o.short === token);
      out.push(token);
    } else {
      const sub = subcommand(chain[chain.length - 1] as Command, token);
      if (sub) chain.push(sub);
      out.push(token);
    }
    // A required value is taken as it is, even when it starts with `--`.
    if (option?.required && !option.variadic && !inlineValue && i + 1 < argv.length) out.push(argv[++i] ?? '');
  }
  return out;
}
