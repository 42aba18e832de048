import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** Values substituted into an error code's `{name}` placeholders. */
export type ErrorParams = Readonly<Record<string, string | number>>;

/** Fills `{name}` placeholders of a template; unknown names stay as they are. */
export function formatTemplate(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** An error with a stable code from the registry, its exit code, and structured details. */
export class OpsError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly details: ErrorParams;

  constructor(code: ErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    super(formatTemplate(ERROR_CODES[code].message, params), options);
    this.name = 'OpsError';
    this.code = code;
    this.exitCode = ERROR_CODES[code].exitCode;
    this.details = params;
  }
}

/** The message of an error, or the text of any other thrown value. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
