import type { Logger } from '../../src/shared/log.js';

/** A warn line a {@link recordingLogger} kept. */
export interface RecordedWarning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that records warn lines (the other levels are ignored). */
export function recordingLogger(): Logger & { warnings: RecordedWarning[] } {
  const warnings: RecordedWarning[] = [];
  const ignore = (): void => undefined;
  return {
    warnings,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: ((fields: Record<string, unknown>, message: string) => warnings.push({ fields, message })) as Logger['warn'],
  };
}

/** A line a {@link levelLogger} kept. */
export interface RecordedLine extends RecordedWarning {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * A logger that records every line at or above `level`, and answers `isLevelEnabled` as pino does
 * (so lines built only for an enabled level can be told apart); `waitFor` resolves with the first
 * line (kept or to come) that `match` accepts.
 */
export function levelLogger(level: 'debug' | 'info' = 'info'): Logger & {
  lines: RecordedLine[];
  waitFor(match: (line: RecordedLine) => boolean): Promise<RecordedLine>;
} {
  const order = ['debug', 'info', 'warn', 'error'];
  const lines: RecordedLine[] = [];
  const waiters: { match: (line: RecordedLine) => boolean; resolve: (line: RecordedLine) => void }[] = [];
  const enabled = (l: string): boolean => order.indexOf(l) >= order.indexOf(level);
  const record =
    (l: RecordedLine['level']) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      if (!enabled(l)) return;
      const line = { level: l, fields: { ...fields }, message };
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.match(line)) w.resolve(line);
        else waiters.push(w);
      }
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    isLevelEnabled: enabled,
    waitFor: (match) => {
      const found = lines.find(match);
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
