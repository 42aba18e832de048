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
