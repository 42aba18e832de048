/** Flag helpers: integer parsing, and argparse-style repeatable multi-value groups. */
import { InvalidArgumentError } from 'commander';

/** commander argParser for an integer flag. */
export function intArg(value: string): number {
  if (!/^-?[0-9]+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
  return Number.parseInt(value, 10);
}

/** commander argParser for a TCP port (0 = pick a free port). */
export function portArg(value: string): number {
  const port = intArg(value);
  if (port < 0 || port > 65535) throw new InvalidArgumentError(`'${value}' is not a port (0-65535).`);
  return port;
}

function looksLikeOption(token: string): boolean {
  return token.startsWith('-') && token.length > 1 && !/^-[0-9]/.test(token);
}

/**
 * The values of each occurrence of `flag` in `argv`, one group per occurrence, as argparse's
 * `nargs="+", action="append"` gives them: `--k a b --k c` → `[["a","b"],["c"]]`.
 */
export function flagGroups(argv: readonly string[], flag: string): string[][] {
  const groups: string[][] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') break;
    if (token === flag) {
      const group: string[] = [];
      while (i + 1 < argv.length && !looksLikeOption(argv[i + 1] ?? '')) group.push(argv[++i] ?? '');
      groups.push(group);
    } else if (token.startsWith(`${flag}=`)) groups.push([token.slice(flag.length + 1)]);
  }
  return groups;
}

/** {@link flagGroups}, or undefined when `flag` was not given (for optional arguments). */
export function givenFlagGroups(argv: readonly string[], flag: string): string[][] | undefined {
  const groups = flagGroups(argv, flag);
  return groups.length > 0 ? groups : undefined;
}
