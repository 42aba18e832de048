/**
 * `-o tsv`, following azure-cli (knack's TsvOutput): one line per item of a list (a single value is a
 * list of one); an object's values in key order, a list's items, tab-separated; a nested object is
 * an empty cell and a nested list its length, so every row keeps the same columns. Booleans print as
 * az prints them (`True`/`False`); null is an empty cell.
 */

/** Options of {@link toTsv}. */
export interface TsvOptions {
  /**
   * Sort object keys (az does for results; a `--query` multiselect keeps the order it names, as
   * azure-cli builds those with an ordered dict).
   */
  readonly sortKeys: boolean;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return String(value.length);
  if (typeof value === 'object') return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

function row(value: unknown, options: TsvOptions): string {
  if (Array.isArray(value)) return value.map(cell).join('\t');
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (options.sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.map(([, v]) => cell(v)).join('\t');
  }
  return cell(value);
}

/** The tab-separated text of `value`, newline-terminated rows (empty for an empty list). */
export function toTsv(value: unknown, options: TsvOptions): string {
  const rows = Array.isArray(value) ? value : [value];
  return rows.map((r) => `${row(r, options)}\n`).join('');
}
