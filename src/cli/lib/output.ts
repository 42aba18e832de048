/** Printing results: `-o json` (default for resources), `yaml`, `table`. */
import type { CliContext } from '../context.js';
import { toYaml } from './yaml.js';

/** Output formats. */
export const OUTPUT_FORMATS = ['json', 'yaml', 'table'] as const;
/** One output format. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A table column: header and how to get the cell. */
export interface Column {
  readonly header: string;
  readonly get: (row: Record<string, unknown>) => unknown;
}

/** Resource columns of azure-cli's generic table (top-level scalars except id/type). */
export const RESOURCE_COLUMNS: readonly Column[] = [
  { header: 'Name', get: (r) => r['name'] },
  { header: 'ResourceGroup', get: (r) => r['resourceGroup'] },
  { header: 'ProvisioningState', get: (r) => (r['properties'] as Record<string, unknown> | undefined)?.['provisioningState'] },
];

/** Renders rows as an aligned text table. */
export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.get(r) ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/** Prints `value` in `format` to stdout. */
export function printValue(ctx: CliContext, value: unknown, format: OutputFormat, columns: readonly Column[] = RESOURCE_COLUMNS): void {
  if (format === 'yaml') ctx.stdout.write(toYaml(value));
  else if (format === 'table') {
    const rows = (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
    ctx.stdout.write(renderTable(rows, columns));
  } else ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Shows a spinner on stderr while `work` runs (terminals only; plain line otherwise). */
export async function withSpinner<T>(ctx: CliContext, text: string, work: () => Promise<T>): Promise<T> {
  if (!ctx.stderr.isTTY) return work();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const timer = setInterval(() => ctx.stderr.write(`\r${ctx.chalk.cyan(frames[i++ % frames.length] ?? '')} ${text}`), 80);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    ctx.stderr.write(`\r\u001b[2K`);
  }
}
