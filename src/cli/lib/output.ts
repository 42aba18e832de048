/** Printing results: `-o json` (default for resources), `jsonc`, `yaml`, `yamlc`, `table`, `tsv`, `none`; `--query` first. */
import type { CliContext } from '../context.js';
import { toColouredJson, toColouredYaml } from './colour-output.js';
import { applyQuery } from './query.js';
import { toTsv } from './tsv.js';
import { toYaml } from './yaml.js';

/** Output formats (azure-cli's `-o` choices). */
export const OUTPUT_FORMATS = ['json', 'jsonc', 'yaml', 'yamlc', 'table', 'tsv', 'none'] as const;
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

/** The instance a resource belongs to, from its id (`.../instances/NAME/brokers/...`). */
export function instanceOfResourceId(id: unknown): string | undefined {
  return typeof id === 'string' ? /\/instances\/([^/]+)(?:\/|$)/.exec(id)?.[1] : undefined;
}

/** Resource columns with the instance first, for lists that span instances (`broker list --all`). */
export const INSTANCE_RESOURCE_COLUMNS: readonly Column[] = [{ header: 'Instance', get: (r) => instanceOfResourceId(r['id']) }, ...RESOURCE_COLUMNS];

/** Columns of a settings table: one row per setting. */
export const SETTING_COLUMNS: readonly Column[] = [
  { header: 'Setting', get: (r) => r['setting'] },
  { header: 'Value', get: (r) => r['value'] },
];

/** One row per scalar leaf of `value`, named by its dot path; arrays of scalars are joined with ', '. */
export function settingRows(value: unknown, path = ''): Array<{ setting: string; value: string }> {
  const isScalarArray = Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object');
  if (value === null || typeof value !== 'object' || isScalarArray) {
    return [{ setting: path, value: Array.isArray(value) ? value.join(', ') : String(value) }];
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return [{ setting: path, value: Array.isArray(value) ? '' : '{}' }];
  return entries.flatMap(([key, v]) => settingRows(v, path === '' ? key : `${path}.${key}`));
}

/** Prints a settings object: `-o table` as one row per setting (see {@link settingRows}), else as {@link printValue}. */
export function printSettings(ctx: CliContext, value: Record<string, unknown>, format: OutputFormat): void {
  if (format === 'table') printValue(ctx, settingRows(value), format, SETTING_COLUMNS);
  else printValue(ctx, value, format);
}

/** Renders rows as an aligned text table. */
export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.get(r) ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/**
 * azure-cli's generic table of a `--query` result: the scalar keys of the first object row (header
 * with its first letter upper-cased), or one `Result` column for scalar rows.
 */
export function genericColumns(rows: readonly unknown[]): Column[] {
  const first = rows.find((r) => r !== null && r !== undefined);
  if (first === undefined || typeof first !== 'object' || Array.isArray(first)) return [{ header: 'Result', get: (r) => r }];
  return Object.entries(first)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([key]) => ({ header: key.charAt(0).toUpperCase() + key.slice(1), get: (r) => r[key] }));
}

/** Prints `value` in `format` to stdout, after the run's `--query` if one was given. */
export function printValue(ctx: CliContext, value: unknown, format: OutputFormat, columns: readonly Column[] = RESOURCE_COLUMNS): void {
  const query = ctx.run?.query;
  const result = query ? applyQuery(query, value) : value;
  const rows = (Array.isArray(result) ? result : [result]) as Record<string, unknown>[];
  switch (format) {
    case 'none':
      return;
    case 'yaml':
      return ctx.stdout.write(toYaml(result));
    case 'yamlc':
      return ctx.stdout.write(toColouredYaml(ctx.chalk, result));
    case 'jsonc':
      return ctx.stdout.write(toColouredJson(ctx.chalk, result));
    case 'tsv':
      return ctx.stdout.write(toTsv(result, { sortKeys: query === undefined }));
    case 'table':
      return ctx.stdout.write(renderTable(rows, query ? genericColumns(rows) : columns));
    case 'json':
      return ctx.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`);
  }
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
